"""The DAPO objective: group-normalized advantages, the paper's NSR/PSR masks, the clipped
token-mean policy loss, and dynamic sampling with the paper's fallback.

These are the same formulas as verl 0.9's `core_algos.compute_grpo_outcome_advantage` and
`compute_policy_loss_vanilla` (tests/test_dapo.py checks them value for value on the same
tensors); the local trainer uses them, the verl backend uses verl's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

GRPO_EPSILON = 1e-6
T = TypeVar("T")


def group_advantages(scores: Sequence[float], *, epsilon: float = GRPO_EPSILON) -> list[float]:
    """GRPO's advantage of each response of one group: (score - mean) / (std + epsilon).

    The std is the unbiased one (torch.std), as in verl; a group of one gets its raw score
    minus nothing over 1, which verl also does (mean 0, std 1).
    """
    if len(scores) == 1:
        return [float(scores[0])]
    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) ** 0.5
    return [(s - mean) / (std + epsilon) for s in scores]


def masked_advantages(advantages: Sequence[float], scores: Sequence[float],
                      keeps: Callable[[float], bool] | None) -> list[float]:
    """The paper's NSR / PSR: the GRPO advantage times a 0/1 mask (Section 6).

    A response keeps its advantage when `keeps(score)` (NSR: score < 1, PSR: score > 0; the
    technique's `keeps`); None keeps all (plain GRPO). Masked samples stay in the batch with
    advantage 0.
    """
    if keeps is None:
        return list(advantages)
    return [a if keeps(s) else 0.0 for a, s in zip(advantages, scores, strict=True)]


def has_signal(scores: Sequence[float]) -> bool:
    """Dynamic sampling keeps a group only when its rewards are not all equal."""
    return max(scores) > min(scores)


def fill_batch(kept: list[T], last_batch: list[T], batch_size: int) -> tuple[list[T], str | None]:
    """The paper's fallback once `max_num_gen_batches` batches are spent (Section 3).

    Enough kept groups: the first `batch_size`. Some: repeated in order until the batch is
    full ("duplicated"). None: the last generated batch, unfiltered ("unfiltered").
    """
    if len(kept) >= batch_size:
        return kept[:batch_size], None
    if kept:
        return [kept[i % len(kept)] for i in range(batch_size)], "duplicated"
    return list(last_batch[:batch_size]), "unfiltered"


def policy_loss(old_log_prob: torch.Tensor, log_prob: torch.Tensor, advantages: torch.Tensor,
                response_mask: torch.Tensor, *, clip_low: float, clip_high: float,
                clip_c: float, loss_agg_mode: str = "token-mean",
                num_tokens: float | None = None,
                num_rows: float | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """DAPO's clipped surrogate with dual clip, aggregated over tokens.

    Args:
        old_log_prob, log_prob: per-token log-probs under the sampling and current policy,
            shape (batch, response_length).
        advantages: per-token advantages, same shape.
        response_mask: 1 for response tokens, 0 for padding.
        clip_low, clip_high: the ratio is clipped to [1 - clip_low, 1 + clip_high].
        clip_c: dual-clip bound applied to negative advantages.
        loss_agg_mode: "token-mean" (DAPO), "seq-mean-token-sum" or "seq-mean-token-mean".
        num_tokens, num_rows: the token and sequence counts of the whole mini-batch when this
            call sees only a micro batch (token-mean divides by the first, seq-mean modes by the
            second, so micro-batch losses add up to the mini-batch's).

    Returns:
        (loss, metrics): verl's `pg_clipfrac` (tokens whose clip bound binds: the clipped
        term exceeds the unclipped one), `ppo_kl` and `pg_clipfrac_lower` (tokens with a
        negative advantage where the dual clip `clip_c` binds), as
        `core_algos.compute_policy_loss_vanilla` defines them, and the two sides of
        pg_clipfrac: `pg_clipfrac_high` (ratio above 1 + clip_high with a positive advantage)
        and `pg_clipfrac_low` (ratio below 1 - clip_low with a negative advantage). verl's
        vanilla loss has no names for the sides (its `pg_clipfrac_lower` is the dual clip):
        these are named after its `clip_ratio_high` / `clip_ratio_low`, and they add up to
        pg_clipfrac exactly.
    """
    import torch

    log_ratio = torch.clamp(log_prob - old_log_prob, min=-20.0, max=20.0)
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip_low, 1 + clip_high)
    pessimistic = torch.maximum(unclipped, clipped)
    dual = torch.min(-advantages * clip_c, pessimistic)
    per_token = torch.where(advantages < 0, dual, pessimistic)
    mask = response_mask.to(per_token.dtype)
    loss = aggregate(per_token, mask, loss_agg_mode, num_tokens, num_rows)
    with torch.no_grad():
        binds = torch.gt(clipped, unclipped).float()  # only where ratio is outside the clips
        metrics = {
            "pg_clipfrac": _masked_mean(binds, mask),
            "ppo_kl": _masked_mean(-log_ratio, mask),
            "pg_clipfrac_lower": _masked_mean(
                torch.gt(pessimistic, -advantages * clip_c).float() * (advantages < 0).float(),
                mask),
            "pg_clipfrac_high": _masked_mean(binds * (advantages > 0).float(), mask),
            "pg_clipfrac_low": _masked_mean(binds * (advantages < 0).float(), mask),
        }
    return loss, metrics


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, mode: str,
              num_tokens: float | None = None, num_rows: float | None = None) -> torch.Tensor:
    """Reduce a (batch, length) loss matrix to a scalar the way verl's `agg_loss` does."""
    if mode == "token-mean":
        denominator = num_tokens if num_tokens is not None else mask.sum()
        return (per_token * mask).sum() / denominator
    rows = (mask.sum(dim=-1) > 0).to(per_token.dtype)
    count = num_rows if num_rows is not None else rows.sum()
    if mode == "seq-mean-token-sum":
        return ((per_token * mask).sum(dim=-1) * rows).sum() / count
    if mode == "seq-mean-token-mean":
        per_row = (per_token * mask).sum(dim=-1) / (mask.sum(dim=-1) + 1e-8)
        return (per_row * rows).sum() / count
    raise ValueError(f"unknown loss_agg_mode {mode!r}")


def low_var_kl(log_prob: torch.Tensor, ref_log_prob: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || pi_ref), clamped to [-10, 10] (verl's "low_var_kl").

    The KL penalty of Table 13 (coefficient 0.001) is this term, token-mean aggregated and
    added to the loss, as verl's `use_kl_loss` does.
    """
    import torch

    log_ratio = torch.clamp(ref_log_prob - log_prob, min=-20.0, max=20.0)
    return torch.clamp(torch.exp(log_ratio) - log_ratio - 1, min=-10.0, max=10.0)


def _masked_mean(values: Any, mask: Any) -> float:
    return float((values * mask).sum() / mask.sum().clamp(min=1))
