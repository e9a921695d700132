"""The paper's dynamic sampling: the decision, and the loop over a stand-in for verl's buffer."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from mta_probe.errors import BackendError
from mta_train.verl_sampling import PaperSamplingMixin, plan_batch, vote_means


def test_plan_batch_follows_the_paper() -> None:
    assert plan_batch(list("abcde"), [], 4, 1, 2).groups == tuple("abcd")
    assert plan_batch(list("ab"), list("wxyz"), 4, 1, 2).generate
    duplicated = plan_batch(list("ab"), list("wxyz"), 4, 2, 2)
    assert (duplicated.groups, duplicated.fallback) == (("a", "b", "a", "b"), "duplicated")
    unfiltered = plan_batch([], list("wxyz"), 4, 2, 2)
    assert (unfiltered.groups, unfiltered.fallback) == (tuple("wxyz"), "unfiltered")
    assert plan_batch([], list("wxyz"), 4, 9, 0).generate  # 0: no limit, as verl
    # every group of the last batch failed and none was kept: never an empty batch
    assert plan_batch([], [], 4, 2, 2).generate


def test_vote_means_are_over_responses_that_carry_them() -> None:
    infos = [{"acc": 1.0, "majority_ratio": 0.75, "label_accuracy": 1.0}] * 4 + [
        {"acc": 0.0, "majority_ratio": 0.25, "label_accuracy": 0.0}] * 4 + [{"acc": 1.0}]
    assert vote_means(infos) == {"mta/majority_ratio": 0.5, "mta/label_accuracy": 0.5}
    assert vote_means([{"acc": 1.0}]) == {}


class _ReplayWorld:
    """Stands in for verl's ReplayBuffer over TransferQueue: a dispatched generation batch
    finishes at once; `flat` groups have equal rewards."""

    def __init__(self, **kwargs: Any) -> None:
        self.init_kwargs = kwargs
        self.poll_interval = 0.0
        self.pending_keys: dict = {"train": set()}
        self.running_keys: dict = {"train": set()}
        self.finished_keys: dict = {"train": set()}
        self.partitions: dict = {"train": {}}
        self.prompt_global_steps: dict = {"train": {}}
        self.refills: list[int] = []
        self.refill_fn = self._refill
        self.base_result: tuple[Any, dict] = ("verl's own sample", {})

    def script(self, batches: list[dict[str, bool]]) -> None:
        self.batches = list(batches)
        self._add(self.batches.pop(0))

    def _add(self, batch: dict[str, bool]) -> None:
        self.finished_keys["train"] |= set(batch)
        self.prompt_global_steps["train"].update({uid: 1 for uid in batch})
        self.flat = getattr(self, "flat", set()) | {u for u, signal in batch.items() if not signal}

    def _refill(self, count: int) -> int:
        self.refills.append(count)
        self._add(self.batches.pop(0))
        return count

    def _sync_metadata_from_transfer_queue(self) -> None:
        return

    def _dapo_filtered_keys(self, partition_id: str):
        return self.flat & self.finished_keys[partition_id], Counter()

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        return self.base_result


class _Sampler(PaperSamplingMixin, _ReplayWorld):
    def _mta_materialize(self, partition_id, plan, finished, kept, gen_batches):
        return plan, {"kept": kept, "total": len(finished), "gen_batches": gen_batches}


def _sampler(max_gen: int = 2) -> _Sampler:
    return _Sampler(sampler_kwargs={"filter_groups": True, "metric": "reward",
                                    "max_num_gen_batches": max_gen, "train_batch_size": 4},
                    trainer_mode="sync", refill_fn=None)


def test_sampler_passes_verl_what_its_replay_buffer_needs() -> None:
    sampler = _sampler()
    assert sampler.init_kwargs["filter_groups_metric"] == "reward"
    assert (sampler.init_kwargs["train_batch_size"], sampler.init_kwargs["gen_batch_size"]) == (4, 1)
    assert sampler.sample(1, "val", 4) == ("verl's own sample", {})


def test_sampler_without_dynamic_sampling_is_verl_own_plus_metrics() -> None:
    sampler = _Sampler(sampler_kwargs={"filter_groups": False, "train_batch_size": 2},
                       trainer_mode="sync", refill_fn=None)
    assert sampler.init_kwargs["filter_groups_metric"] is None
    batch = type("Meta", (), {"keys": ["u1_0_0", "u1_1_0", "u2_0_0", "u2_1_0"]})()
    sampler.base_result = (batch, {"training/x": 1})
    sampler._mta_quality = lambda partition_id, keys: {"mta/accuracy": len(keys) / 8}
    out, metrics = sampler.sample(1, "train", 2)
    assert out is batch
    assert metrics == {"training/x": 1, "mta/groups_kept": 2, "mta/groups_total": 2,
                       "mta/accuracy": 0.5}


def test_sampler_duplicates_kept_groups_after_the_last_batch() -> None:
    sampler = _sampler()
    sampler.script([{"a": False, "b": True, "c": False, "d": False},
                    {"e": False, "f": False, "g": False, "h": False}])
    plan, info = sampler.sample(1, "train", 4)
    assert sampler.refills == [4]  # one more generation batch, then the fallback
    assert (plan.groups, plan.fallback) == (("b", "b", "b", "b"), "duplicated")
    assert info == {"kept": 1, "total": 8, "gen_batches": 2}


def test_sampler_trains_the_last_batch_when_nothing_is_kept() -> None:
    sampler = _sampler()
    sampler.script([{"a": False, "b": False, "c": False, "d": False},
                    {"e": False, "f": False, "g": False, "h": False}])
    plan, _ = sampler.sample(1, "train", 4)
    assert (plan.groups, plan.fallback) == (tuple("efgh"), "unfiltered")


def test_a_step_whose_groups_all_fail_draws_again_then_stops() -> None:
    sampler = _sampler()
    sampler.script([{}, {"e": True, "f": True, "g": True, "h": True}])  # batch 1: all failed
    plan, info = sampler.sample(1, "train", 4)
    assert (plan.groups, plan.fallback, sampler.refills) == (tuple("efgh"), None, [4])
    stuck = _sampler()
    stuck.script([{}, {}, {}, {}])
    with pytest.raises(BackendError, match="every group of 3 generation batches"):
        stuck.sample(1, "train", 4)


def test_sampler_collects_kept_groups_across_batches() -> None:
    sampler = _sampler()
    sampler.script([{"a": True, "b": False, "c": True, "d": False},
                    {"e": True, "f": True, "g": False, "h": True}])
    plan, info = sampler.sample(1, "train", 4)
    assert (plan.groups, plan.fallback) == (("a", "c", "e", "f"), None)
    assert info["gen_batches"] == 2
