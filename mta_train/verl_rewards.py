"""How verl's workers score responses for mta: a validation row's correctness, and whole groups
of one prompt (vote, TTRL, incorrect, EM) held in verl's agent loop until every response of the
group has arrived. mta_train/verl_plugin.py builds the worker classes that mix these in and is
what verl imports; the rewards themselves are mta_train/techniques/.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mta_train.evaluation import get_protocol, scored_text
from mta_train.parquet import problem_from_extra_info
from mta_train.reward import VERIFY_TIMEOUT, Group, Reward, format_ok, is_correct
from mta_train.technique import DEFAULT_VARIANT, Variant
from mta_train.techniques import get_technique


def validation_reward(text: str, problem: Any, verifier: str, protocol: str = "paper",
                      timeout: float = VERIFY_TIMEOUT) -> Reward:
    """Correctness under the evaluation protocol is the score (the format is logged, not
    required), as gains.json scores (mta_train/evaluation.py)."""
    read = scored_text(text, verifier, get_protocol(protocol))
    acc = float(bool(read) and is_correct(read, problem, verifier, timeout))
    return Reward(score=acc, acc=acc, format=float(format_ok(text, problem, verifier)))


def reward_dict(reward: Reward) -> dict[str, float]:
    """A Reward as verl's reward dict (score first; acc, format and the technique's group
    statistics land in reward_extra_info)."""
    return {"score": float(reward.score), "acc": float(reward.acc), "format": float(reward.format),
            **{key: float(value) for key, value in reward.extra.items()}}



@dataclass(frozen=True)
class Rollout:
    """One response as the group scorer sees it.

    Attributes:
        text: the decoded response.
        mean_logprob: mean token log-prob under the sampling policy (None when not returned).
        extra_info: the row's extra_info (problem, verifier, index).
        step: verl's global step (seeds the random parts of a reward).
    """

    text: str
    mean_logprob: float | None
    extra_info: dict[str, Any]
    step: int


def score_group(variant: Variant, rollouts: list[Rollout], seed: int,
                require_format: bool = True, verify_timeout: float = VERIFY_TIMEOUT) -> list[Reward]:
    """Score the responses of one prompt together, as the local trainer does."""
    problem, verifier = problem_from_extra_info(rollouts[0].extra_info)
    logprobs = None
    if all(r.mean_logprob is not None for r in rollouts):
        logprobs = tuple(float(r.mean_logprob) for r in rollouts)  # type: ignore[arg-type]
    group_seed = zlib.crc32(f"{seed}:{rollouts[0].step}:{rollouts[0].extra_info['index']}".encode())
    group = Group(problem=problem, verifier=verifier, texts=tuple(r.text for r in rollouts),
                  seed=group_seed, mean_logprobs=logprobs, require_format=require_format,
                  verify_timeout=verify_timeout)
    return variant.reward(group)


@dataclass
class _Waiting:
    size: int
    future: asyncio.Future
    items: dict[int, Any] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)


class GroupGate:
    """Holds each response of a prompt until its whole group has arrived, then scores it once.

    A response whose generation failed is `abandon`ed, so its siblings are not kept waiting:
    the group is scored on the responses that exist.
    """

    def __init__(self, score: Callable[[list[Any]], Awaitable[list[Reward]]]) -> None:
        self._score = score
        self._waiting: dict[str, _Waiting] = {}

    async def submit(self, key: str, size: int, slot: int, item: Any) -> Reward:
        """Add response `slot` (0..size-1) of group `key`; returns its reward once scored."""
        waiting = self._entry(key, size)
        waiting.items[slot] = item
        future = waiting.future
        await self._maybe_score(key)
        rewards = await future
        return rewards[slot]

    def abandon(self, key: str, size: int, slot: int) -> None:
        """Response `slot` of group `key` will never arrive."""
        waiting = self._entry(key, size)
        if slot not in waiting.items:
            waiting.dropped.add(slot)
            asyncio.ensure_future(self._maybe_score(key))

    def _entry(self, key: str, size: int) -> _Waiting:
        if key not in self._waiting:
            self._waiting[key] = _Waiting(size=size, future=asyncio.get_running_loop().create_future())
        return self._waiting[key]

    async def _maybe_score(self, key: str) -> None:
        waiting = self._waiting.get(key)
        if waiting is None or len(waiting.items) + len(waiting.dropped) < waiting.size:
            return
        del self._waiting[key]
        slots = sorted(waiting.items)
        try:
            rewards = await self._score([waiting.items[s] for s in slots]) if slots else []
        except Exception as exc:  # noqa: BLE001 - every sibling must fail with this error
            waiting.future.set_exception(exc)
            return
        waiting.future.set_result(dict(zip(slots, rewards, strict=True)))


def mean_logprob(output: Any) -> float | None:
    """Mean log-prob of the generated tokens of a verl AgentLoopOutput (None if not returned)."""
    logprobs = output.response_logprobs
    if not logprobs:
        return None
    mask = output.response_mask or [1] * len(logprobs)
    kept = [lp for lp, m in zip(logprobs, mask, strict=False) if m]
    return sum(kept) / len(kept) if kept else None


class GroupScoringMixin:
    """Agent-loop worker behaviour (mixed into verl's AgentLoopWorkerTQ, see module docstring).

    It sets `reward_score` and `extra_fields["reward_extra_info"]` on each output before
    verl's own post-processing, whose `_compute_score` leaves outputs that already have a
    score alone. Needs the worker's `config` and `tokenizer`.
    """

    config: Any
    tokenizer: Any

    def _mta_setup(self) -> None:
        kwargs = self.config.reward.custom_reward_function.get("reward_kwargs", None) or {}
        technique = get_technique(str(kwargs.get("technique", "ground-truth")))
        self._mta_variant = technique.variant(str(kwargs.get("variant", DEFAULT_VARIANT)))
        self._mta_seed = int(kwargs.get("seed", 0))
        self._mta_require_format = bool(kwargs.get("require_format", True))
        self._mta_protocol = str(kwargs.get("eval_protocol", "paper"))
        self._mta_timeout = float(kwargs.get("verify_timeout", VERIFY_TIMEOUT))
        self._mta_gate = GroupGate(self._mta_score)

    async def _mta_score(self, rollouts: list[Rollout]) -> list[Reward]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, score_group, self._mta_variant, rollouts,
                                          self._mta_seed, self._mta_require_format,
                                          self._mta_timeout)

    async def _run_agent_loop(self, sampling_params: dict[str, Any], trajectory: dict[str, Any],
                              **kwargs: Any) -> Any:
        try:
            return await super()._run_agent_loop(sampling_params, trajectory, **kwargs)  # type: ignore[misc]
        except BaseException:
            if not trajectory["validate"]:
                self._mta_gate.abandon(kwargs["uid"], self.config.actor_rollout_ref.rollout.n,
                                       int(kwargs["session_id"]))
            raise

    async def _agent_loop_postprocess(self, output: Any, validate: bool, **kwargs: Any) -> Any:
        outputs = output if isinstance(output, list) else [output]
        if outputs and outputs[-1].reward_score is None:
            final = outputs[-1]
            text = self.tokenizer.decode(final.response_ids, skip_special_tokens=True)
            extra_info = dict(kwargs.get("extra_info") or {})
            if validate:  # off the event loop: a verification may take its whole timeout
                problem, verifier = problem_from_extra_info(extra_info)
                reward = await asyncio.get_running_loop().run_in_executor(
                    None, validation_reward, text, problem, verifier, self._mta_protocol,
                    self._mta_timeout)
            else:
                rollout = Rollout(text=text, mean_logprob=mean_logprob(final),
                                  extra_info=extra_info, step=int(kwargs.get("global_steps", 0)))
                reward = await self._mta_gate.submit(
                    kwargs["uid"], self.config.actor_rollout_ref.rollout.n,
                    int(kwargs["session_id"]), rollout)
            final.reward_score = reward.score
            final.extra_fields["reward_extra_info"] = reward_dict(reward)
        return await super()._agent_loop_postprocess(output, validate, **kwargs)  # type: ignore[misc]
