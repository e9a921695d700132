"""DAPO's dynamic sampling with the paper's fallback, as a verl 0.9 replay buffer.

verl 0.9.1's v1 trainer filters groups whose rewards are all equal in its ReplayBuffer
(`algorithm.filter_groups`), but it keeps generating until enough groups are kept: it ignores
`max_num_gen_batches` and has no fallback. The paper draws at most two generation batches, then
repeats the kept groups to fill the batch, or trains on the second batch unfiltered when none
was kept (Section 3). `PaperSamplingMixin` does exactly that on top of verl's ReplayBuffer
(mta_train/verl_plugin.py builds `MtaReplayBuffer` from it, selected with
`trainer.v1.sampler.custom_sampler`), and adds per-step metrics verl does not log: accuracy and
format of the trained responses, groups kept and generated, generation batches, fallback.

A generation batch whose groups ALL failed (every rollout of every prompt errored) leaves
nothing to train on, not even the unfiltered fallback; verl must never receive an empty batch,
so the sampler draws another batch instead, and stops the run with a readable error after
`MAX_FAILED_BATCHES` such batches in a row.

Vote and TTRL responses carry their group's `majority_ratio` and `label_accuracy`; the sampler
logs their means over every finished group of the step (before filtering, as the local trainer
does), so Table 4's maj@k is in verl's metrics (`mta/label_accuracy`).

`plan_batch` is the decision alone (pure, tested); the mixin holds the TransferQueue glue.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from mta_probe.errors import BackendError
from mta_train.dapo import fill_batch

MAX_FAILED_BATCHES = 3  # generation batches in a row with no finished group before giving up
VOTE_KEYS = ("majority_ratio", "label_accuracy")


@dataclass(frozen=True)
class BatchPlan:
    """What the sampler does next.

    Attributes:
        generate: draw another generation batch first.
        groups: the group ids to train on, in order; a repeated id is a duplicated group.
        fallback: None, "duplicated" or "unfiltered" (mta_train.dapo.fill_batch).
    """

    generate: bool
    groups: tuple[str, ...] = ()
    fallback: str | None = None


def plan_batch(kept: list[str], last_batch: list[str], batch_size: int, gen_batches: int,
               max_gen_batches: int) -> BatchPlan:
    """DAPO's dynamic sampling with the paper's fallback (Section 3).

    Args:
        kept: groups whose rewards differ, oldest first, over every batch drawn this step.
        last_batch: every finished group of the latest generation batch.
        batch_size: prompts per step.
        gen_batches: generation batches drawn so far this step.
        max_gen_batches: the limit (0 or less: no limit, verl's own behaviour).
    """
    if len(kept) >= batch_size:
        return BatchPlan(generate=False, groups=tuple(kept[:batch_size]))
    if max_gen_batches <= 0 or gen_batches < max_gen_batches or not (kept or last_batch):
        return BatchPlan(generate=True)  # the last case: every group failed, nothing to train on
    groups, fallback = fill_batch(kept, last_batch, batch_size)
    return BatchPlan(generate=False, groups=tuple(groups), fallback=fallback)


FALLBACK_CODES = {None: 0, "duplicated": 1, "unfiltered": 2}


class PaperSamplingMixin:
    """ReplayBuffer behaviour (mixed into verl's v1 ReplayBuffer, see module docstring).

    verl hands a custom sampler only `sampler_kwargs`; mta_train/verl_config.py puts
    `filter_groups`, `metric`, `max_num_gen_batches` and `train_batch_size` there.
    """

    def __init__(self, *, sampler_kwargs: Any = None, **kwargs: Any) -> None:
        options = dict(sampler_kwargs or {})
        self.mta_filter = bool(options.get("filter_groups", False))
        self.mta_max_gen_batches = int(options.get("max_num_gen_batches", 0))
        batch = int(options.get("train_batch_size", 1))
        super().__init__(sampler_kwargs=sampler_kwargs,  # type: ignore[call-arg]
                         filter_groups_metric=str(options.get("metric", "reward"))
                         if self.mta_filter else None,
                         train_batch_size=batch, gen_batch_size=1 if self.mta_filter else batch,
                         **kwargs)

    def sample(self, global_steps: int, partition_id: str, batch_size: int) -> tuple[Any, dict]:
        """Validation and unfiltered training: verl's own; filtered training: the paper's."""
        if partition_id == "val":
            return super().sample(global_steps, partition_id, batch_size)  # type: ignore[misc]
        if not self.mta_filter:
            batch, metrics = super().sample(global_steps, partition_id, batch_size)  # type: ignore[misc]
            groups = len({key.split("_")[0] for key in batch.keys})
            return batch, {**metrics, "mta/groups_kept": groups, "mta/groups_total": groups,
                           **self._mta_quality(partition_id, list(batch.keys))}
        gen_batches, last_ids, failed = 1, None, 0
        while True:
            self._sync_metadata_from_transfer_queue()
            if self.pending_keys[partition_id] or self.running_keys[partition_id]:
                time.sleep(self.poll_interval)
                continue
            finished = sorted(self.finished_keys[partition_id],
                              key=lambda u: (self.prompt_global_steps[partition_id].get(u, 0), u))
            flat, _counts = self._dapo_filtered_keys(partition_id)
            kept = [u for u in finished if u not in flat]
            last = [u for u in finished if last_ids is None or u in last_ids]
            failed = 0 if last else failed + 1
            if failed >= MAX_FAILED_BATCHES:
                raise BackendError(f"every group of {failed} generation batches in a row failed; "
                                   "nothing to train on (see verl.log)")
            plan = plan_batch(kept, last, batch_size, gen_batches, self.mta_max_gen_batches)
            if not plan.generate:
                return self._mta_materialize(partition_id, plan, finished, len(kept), gen_batches)
            known = set(self.partitions[partition_id]) | set(finished)
            self.refill_fn(batch_size)
            gen_batches += 1
            self._sync_metadata_from_transfer_queue()
            last_ids = set(self.prompt_global_steps[partition_id]) - {k.split("_")[0] for k in known}

    def _mta_materialize(self, partition_id: str, plan: BatchPlan, finished: list[str],
                         kept: int, gen_batches: int) -> tuple[Any, dict]:
        from transfer_queue import KVBatchMeta

        snapshot = dict(self.partitions[partition_id])
        done = set(finished)
        votes = self._mta_votes(partition_id, [k for k in snapshot if k.split("_")[0] in done])
        chosen = list(dict.fromkeys(plan.groups))
        terminal = set(finished) | set(self.failure_keys[partition_id])
        self._clear_groups(partition_id, terminal - set(chosen))
        meta = self._materialize_batch(partition_id, chosen, snapshot)
        keys, tags = list(meta.keys), list(meta.tags)
        for uid, count in Counter(plan.groups).items():
            for _ in range(count - 1):
                copy_keys, copy_tags = self._mta_copy_group(partition_id, uid, snapshot)
                keys += copy_keys
                tags += copy_tags
        metrics = {"mta/groups_kept": kept, "mta/groups_total": len(finished),
                   "mta/gen_batches": gen_batches, "mta/fallback": FALLBACK_CODES[plan.fallback],
                   **votes, **self._mta_quality(partition_id, keys)}
        return KVBatchMeta(partition_id=partition_id, keys=keys, tags=tags), metrics

    def _mta_copy_group(self, partition_id: str, uid: str,
                        snapshot: dict[str, dict]) -> tuple[list[str], list[dict]]:
        """Store a copy of a group's trajectories under a fresh key prefix.

        The copies keep the group's `uid` field, so GRPO normalizes the original and its
        copies together, as the paper's code does when it repeats kept trajectories.
        """
        import transfer_queue as tq

        source = sorted(k for k in snapshot if k.split("_")[0] == uid)
        data = tq.kv_batch_get(keys=source, partition_id=partition_id)
        prefix = str(uuid.uuid4())
        keys = [prefix + key[len(uid):] for key in source]
        tags = [dict(snapshot[key]) for key in source]
        tq.kv_batch_put(keys=keys, partition_id=partition_id, fields=data, tags=tags)
        return keys, tags

    def _mta_quality(self, partition_id: str, keys: list[str]) -> dict[str, float]:
        """Mean accuracy and format of the trained responses (from their reward_extra_info)."""
        import transfer_queue as tq

        if not keys:
            return {}
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["extra_fields"])
        infos = [_reward_info(item) for item in list(data["extra_fields"])]
        out = {}
        for name in ("acc", "format"):
            values = [float(info[name]) for info in infos if name in info]
            if values:
                out["mta/accuracy" if name == "acc" else "mta/format"] = sum(values) / len(values)
        return out

    def _mta_votes(self, partition_id: str, keys: list[str]) -> dict[str, float]:
        """Mean majority ratio and label accuracy over every finished response (vote, TTRL)."""
        import transfer_queue as tq

        if not keys:
            return {}
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["extra_fields"])
        return vote_means([_reward_info(item) for item in list(data["extra_fields"])])


def vote_means(infos: list[dict[str, Any]]) -> dict[str, float]:
    """`mta/majority_ratio` and `mta/label_accuracy` over responses that carry them: every
    response of a group carries its group's value, so this is the mean over groups."""
    out = {}
    for name in VOTE_KEYS:
        values = [float(info[name]) for info in infos if name in info]
        if values:
            out[f"mta/{name}"] = sum(values) / len(values)
    return out


def _reward_info(item: Any) -> dict[str, Any]:
    fields = getattr(item, "data", item)
    return dict(fields.get("reward_extra_info", {}) or {}) if isinstance(fields, dict) else {}
