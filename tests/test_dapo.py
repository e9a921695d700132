"""The local backend's DAPO math equals verl's, value for value, on the same tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerances import assert_tensors_close

from mta_train.techniques import TECHNIQUES
from mta_train.dapo import (
    aggregate,
    fill_batch,
    group_advantages,
    has_signal,
    low_var_kl,
    masked_advantages,
    policy_loss,
)

core_algos = pytest.importorskip("verl.trainer.ppo.core_algos")


def _tensors(seed: int, rows: int = 6, length: int = 9):
    gen = torch.Generator().manual_seed(seed)
    old = -torch.rand(rows, length, generator=gen) * 3
    new = old + torch.randn(rows, length, generator=gen) * 0.4  # ratios well outside the clips
    adv = torch.randn(rows, 1, generator=gen).expand(rows, length).clone()
    mask = torch.ones(rows, length)
    for row in range(rows):
        mask[row, int(torch.randint(1, length + 1, (1,), generator=gen)):] = 0
    return old, new, adv * mask, mask


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean"])
def test_policy_loss_equals_verl(seed: int, mode: str) -> None:
    old, new, adv, mask = _tensors(seed)
    ours, metrics = policy_loss(old, new, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=10.0,
                                loss_agg_mode=mode)
    theirs, clipfrac, ppo_kl, clipfrac_lower = core_algos.compute_policy_loss(
        old, new, adv, mask, cliprange=0.2, cliprange_low=0.2, cliprange_high=0.28,
        clip_ratio_c=10.0, loss_agg_mode=mode)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6, abs=1e-7)
    assert metrics["pg_clipfrac"] == pytest.approx(clipfrac.item(), abs=1e-6)
    assert metrics["ppo_kl"] == pytest.approx(ppo_kl.item(), abs=1e-6)
    assert metrics["pg_clipfrac_lower"] == pytest.approx(clipfrac_lower.item(), abs=1e-6)
    assert metrics["pg_clipfrac"] > 0  # the case exercises the clip, not just the identity


def test_clip_fractions_of_a_hand_computed_case() -> None:
    """Ratios set by hand: which tokens each fraction counts, with clips 0.2 / 0.28, dual clip 10."""
    ratios = torch.tensor([[1.5, 1.1, 0.5, 1.0],    # advantage +1: 1.5 > 1.28 is clipped above
                           [0.5, 0.9, 1.5, 20.0]])  # advantage -1: 0.5 < 0.8 below; 20 > 10 dual
    old = torch.full_like(ratios, -1.0)
    new = old + ratios.log()
    adv = torch.tensor([[1.0], [-1.0]]).expand(2, 4).clone()
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # 7 tokens
    _, metrics = policy_loss(old, new, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=10.0)
    # 0.5 with a positive advantage and 1.5 with a negative one stay unclipped: the pessimistic
    # term is the unclipped one there. The masked 1.0 counts nowhere.
    assert metrics["pg_clipfrac_high"] == pytest.approx(1 / 7, rel=1e-6)
    assert metrics["pg_clipfrac_low"] == pytest.approx(1 / 7, rel=1e-6)
    assert metrics["pg_clipfrac"] == pytest.approx(2 / 7, rel=1e-6)
    assert metrics["pg_clipfrac_lower"] == pytest.approx(1 / 7, rel=1e-6)  # the ratio of 20


def _verl_vanilla_metrics(old, new, adv, mask) -> dict:
    """verl's metrics from the loss its actor calls (policy_loss.loss_mode=vanilla)."""
    from omegaconf import OmegaConf

    config = OmegaConf.create({"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.28,
                               "clip_ratio_c": 10.0, "global_batch_info": {}})
    return core_algos.get_policy_loss_fn("vanilla")(old, new, adv, mask,
                                                    loss_agg_mode="token-mean", config=config)[1]


@pytest.mark.parametrize("seed", range(5))
def test_clip_fractions_per_side_equal_verls_on_one_signed_advantages(seed: int) -> None:
    """verl names no sides; its pg_clipfrac on the same tensors with the other sign's advantages
    set to 0 (a zero advantage never clips) is each side's fraction, and they add up."""
    old, new, adv, mask = _tensors(seed)
    _, ours = policy_loss(old, new, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=10.0)
    high = _verl_vanilla_metrics(old, new, adv.clamp(min=0), mask)["actor/pg_clipfrac"]
    low = _verl_vanilla_metrics(old, new, adv.clamp(max=0), mask)["actor/pg_clipfrac"]
    both = _verl_vanilla_metrics(old, new, adv, mask)
    assert ours["pg_clipfrac_high"] == pytest.approx(high, rel=1e-6)
    assert ours["pg_clipfrac_low"] == pytest.approx(low, rel=1e-6)
    assert high + low == pytest.approx(both["actor/pg_clipfrac"], rel=1e-6)
    assert ours["pg_clipfrac_lower"] == pytest.approx(both["actor/pg_clipfrac_lower"], abs=1e-7)
    assert high > 0 and low > 0  # both sides exercised


def test_policy_loss_gradient_equals_verl() -> None:
    old, new, adv, mask = _tensors(7)
    ours_in = new.clone().requires_grad_(True)
    theirs_in = new.clone().requires_grad_(True)
    policy_loss(old, ours_in, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=10.0)[0].backward()
    core_algos.compute_policy_loss(old, theirs_in, adv, mask, cliprange=0.2, cliprange_low=0.2,
                                   cliprange_high=0.28, clip_ratio_c=10.0)[0].backward()
    assert_tensors_close(ours_in.grad, theirs_in.grad, rel=1e-6)
    assert ours_in.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean"])
def test_micro_batches_add_up_to_the_mini_batch_loss(mode: str) -> None:
    old, new, adv, mask = _tensors(3)
    whole, _ = policy_loss(old, new, adv, mask, clip_low=0.2, clip_high=0.28, clip_c=10.0,
                           loss_agg_mode=mode)
    tokens = mask.sum().item()
    parts = sum(policy_loss(old[i:i + 2], new[i:i + 2], adv[i:i + 2], mask[i:i + 2],
                            clip_low=0.2, clip_high=0.28, clip_c=10.0, loss_agg_mode=mode,
                            num_tokens=tokens, num_rows=6)[0]
                for i in range(0, 6, 2))
    assert parts.item() == pytest.approx(whole.item(), rel=1e-6)


@pytest.mark.parametrize("scores", [[1, 0, 0, 1, 1, 0, 0, 0], [0.5, 0.1, 0.9], [1, 1, 1, 1],
                                    [0, 0, 1, 0], [-1.3, -0.2, -0.7, -2.0, -0.1]])
def test_group_advantages_equal_verl_grpo(scores: list[float]) -> None:
    rewards = torch.zeros(len(scores), 4)
    rewards[:, -1] = torch.tensor(scores)
    mask = torch.ones(len(scores), 4)
    theirs, _ = core_algos.compute_grpo_outcome_advantage(rewards, mask,
                                                          np.array(["g"] * len(scores)))
    assert group_advantages(scores) == pytest.approx(theirs[:, 0].tolist(), abs=1e-5)


def test_masks_are_the_papers() -> None:
    scores = [1.0, 0.0, 1.0, 0.0]
    adv = group_advantages(scores)
    assert masked_advantages(adv, scores, None) == adv
    assert masked_advantages(adv, scores, TECHNIQUES["nsr"].keeps) == [0.0, adv[1], 0.0, adv[3]]
    assert masked_advantages(adv, scores, TECHNIQUES["psr"].keeps) == [adv[0], 0.0, adv[2], 0.0]
    assert adv[0] > 0 > adv[1]  # nsr keeps only pushes away, psr only pulls towards


def test_dynamic_sampling_and_the_fallback() -> None:
    assert has_signal([0, 1]) and not has_signal([1, 1, 1]) and not has_signal([0.0])
    assert fill_batch([1, 2, 3, 4, 5], [9], 4) == ([1, 2, 3, 4], None)
    assert fill_batch([1, 2], [9, 8, 7], 5) == ([1, 2, 1, 2, 1], "duplicated")
    assert fill_batch([], [9, 8, 7], 3) == ([9, 8, 7], "unfiltered")


def test_low_var_kl_equals_verl() -> None:
    old, new, _, _ = _tensors(11)
    theirs = core_algos.kl_penalty(new, old, "low_var_kl")
    assert_tensors_close(low_var_kl(new, old), theirs, rel=1e-6)
    assert low_var_kl(old, old).abs().max() == 0


def test_aggregate_equals_verl_agg_loss() -> None:
    _, new, _, mask = _tensors(5)
    for mode in ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean"):
        theirs = core_algos.agg_loss(new, mask, mode)
        assert aggregate(new, mask, mode).item() == pytest.approx(theirs.item(), rel=1e-6)


def test_policy_loss_equals_verl_vanilla_loss_with_an_actor_config() -> None:
    """The non-deprecated entry point that verl's actor calls (policy_loss.loss_mode=vanilla)."""
    from omegaconf import OmegaConf

    old, new, adv, mask = _tensors(13)
    config = OmegaConf.create({"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.28,
                               "clip_ratio_c": 10.0, "global_batch_info": {}})
    theirs, metrics = core_algos.get_policy_loss_fn("vanilla")(
        old, new, adv, mask, loss_agg_mode="token-mean", config=config)
    ours, ours_metrics = policy_loss(old, new, adv, mask, clip_low=0.2, clip_high=0.28,
                                     clip_c=10.0)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert ours_metrics["pg_clipfrac"] == pytest.approx(metrics["actor/pg_clipfrac"], abs=1e-6)


def test_warm_up_counts_training_steps_not_optimizer_steps(tiny_llama_dir) -> None:
    from transformers import AutoModelForCausalLM

    from mta_train.policy import Policy
    from mta_train.settings import DapoSettings

    policy = Policy(AutoModelForCausalLM.from_pretrained(tiny_llama_dir),
                    DapoSettings.small(lr=1e-3, warmup_steps=4), pad_id=1)
    assert policy.learning_rate() == 0.0  # verl's constant-with-warm-up starts at 0
    policy.steps_done = 2
    assert policy.learning_rate() == pytest.approx(5e-4)
    policy.steps_done = 9
    assert policy.learning_rate() == pytest.approx(1e-3)
    assert next(policy.model.parameters()).dtype == torch.float32  # trained in float32
