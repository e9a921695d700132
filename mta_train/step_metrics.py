"""One line of metrics.jsonl: what a local training step did, under verl's names where verl has one.

Two populations are measured. "Generated" is every response the step sampled, including the
groups dynamic sampling dropped: what the policy does (reward, accuracy, format, length, the
vote statistics). "Trained" is the batch the update used (after filtering and the paper's
fallback, repeated groups counted as often as they were repeated): `entropy` is computed over
it, aggregated with the loss's `loss_agg_mode`, which is how verl's `actor/entropy` is computed
(verl/trainer/ppo/v1/trainer_base.py, from the log-prob pass before the update);
`rollout_entropy` is the token mean over every generated response.

The update's statistics (`loss`, `ppo_kl`, the clip fractions, `grad_norm`) are means over
the step's mini-batches, as verl averages its `actor/*` metrics; within a mini-batch the clip
fractions are shares of its response tokens (mta_train/dapo.py `policy_loss` defines them:
`pg_clipfrac` = `pg_clipfrac_high` + `pg_clipfrac_low`, and verl's dual-clip
`pg_clipfrac_lower`). The first mini-batch of a step is on-policy (ratio 1, nothing clipped), so
with m mini-batches a step's clip fractions are at most (m - 1) / m.

Vote and TTRL responses carry their group's `majority_ratio` and `label_accuracy`
(mta_train/majority.py); the step logs their mean over generated groups, and `maj@<k>` (k the
group size): the accuracy of each group's majority answer, the paper's Table 4 "Maj@16", which
for these techniques is the same number as `label_accuracy` (TTRL's name for it).
"""

from __future__ import annotations

from typing import Any, Protocol

from mta_train.dapo import aggregate, has_signal
from mta_train.reward import Reward

VOTE_KEYS = ("majority_ratio", "label_accuracy")


class Rollouts(Protocol):
    """What a step metric reads of one group (mta_train.local.RolloutGroup)."""

    rewards: list[Reward]
    sequences: list[Any]
    entropies: list[Any]

    @property
    def scores(self) -> list[float]: ...


def trained_entropy(batch: list[Rollouts], loss_agg_mode: str) -> float:
    """Mean token entropy of the trained batch, aggregated as the loss is (verl's actor/entropy)."""
    import torch

    rows = [e.float() for group in batch for e in group.entropies]
    width = max(len(r) for r in rows)
    padded = torch.stack([torch.nn.functional.pad(r, (0, width - len(r))) for r in rows])
    mask = torch.stack([torch.nn.functional.pad(torch.ones(len(r)), (0, width - len(r))) for r in rows])
    return float(aggregate(padded, mask, loss_agg_mode))


def vote_metrics(generated: list[Rollouts]) -> dict[str, float]:
    """Mean majority ratio, label accuracy and maj@k over the groups that carry a vote."""
    voted = [g.rewards[0].extra for g in generated if g.rewards and VOTE_KEYS[0] in g.rewards[0].extra]
    if not voted:
        return {}
    means = {key: sum(v[key] for v in voted) / len(voted) for key in VOTE_KEYS}
    return {**means, f"maj@{len(generated[0].rewards)}": means["label_accuracy"]}


def step_record(step: int, generated: list[Rollouts], batch: list[Rollouts], fallback: str | None,
                stats: dict[str, float], loss_agg_mode: str, seconds: float) -> dict[str, Any]:
    """One metrics.jsonl record (the module docstring says which population each value is over)."""
    rewards = [r for g in generated for r in g.rewards]
    lengths = [len(s.response_ids) for g in generated for s in g.sequences]
    token_entropy = [float(e.sum()) for g in generated for e in g.entropies]
    trained = [r.score for g in batch for r in g.rewards]
    return {
        "step": step,
        "reward_mean": sum(r.score for r in rewards) / len(rewards),
        "accuracy": sum(r.acc for r in rewards) / len(rewards),
        "format": sum(r.format for r in rewards) / len(rewards),
        "entropy": trained_entropy(batch, loss_agg_mode),
        "rollout_entropy": sum(token_entropy) / max(sum(lengths), 1),
        "response_length": sum(lengths) / len(lengths),
        "groups_kept": sum(has_signal(g.scores) for g in generated),
        "groups_total": len(generated),
        "fallback": fallback,
        "batch_reward_mean": sum(trained) / len(trained),
        **vote_metrics(generated),
        "seconds": round(seconds, 2),
        "loss": stats.get("loss", 0.0),
        "kl": stats.get("kl"),  # None without a KL penalty
        "ppo_kl": stats.get("ppo_kl"),
        "pg_clipfrac": stats.get("pg_clipfrac"),
        "pg_clipfrac_high": stats.get("pg_clipfrac_high"),
        "pg_clipfrac_low": stats.get("pg_clipfrac_low"),
        "pg_clipfrac_lower": stats.get("pg_clipfrac_lower"),
        "grad_norm": stats.get("grad_norm"),
        "lr": stats.get("lr"),
    }
