"""What verl's processes import to train mta's techniques: rewards, NSR/PSR, the paper's sampling.

verl 0.9.1 imports this module in every process that imports verl when
`VERL_USE_EXTERNAL_MODULES=mta_train.verl_plugin` is set (verl/__init__.py; the launcher also
puts it in Ray's runtime env). The `verl.plugins` entry-point group is honoured too, but verl
swallows its import errors at debug level, so mta does not use it. Each technique reaches
verl's workers through one of verl's own extension points (the config keys are written by
mta_train/verl_config.py); the technique logic stays in mta_train/techniques/, this module only
adapts verl's data to `Group` / `Reward`:

- per-sample rewards (ground-truth, random, format, one-shot, nsr, psr): `compute_score`, the
  `reward.custom_reward_function` that verl's reward loop calls once per response;
- group-level rewards (vote, ttrl, incorrect) and entropy minimization (em): verl's reward loop
  scores each response alone, on a random worker, so these cannot be a reward function. The
  `MtaAgentLoopManager` (`rollout.agent.agent_loop_manager_class`) runs agent-loop workers that
  hold each response until its whole group (`rollout.n` responses of one prompt, which verl
  generates in one worker) has arrived, score the group with the technique, and hand verl the
  score (verl then skips its reward loop). EM reads the rollout's own log-probs
  (`rollout.calculate_log_probs`), the sampling policy's, as the local trainer does, so its
  reward exists before dynamic sampling needs it;
- NSR / PSR: one advantage estimator per technique with a mask (`Technique.keeps`), named as
  the technique and registered with `core_algos.register_adv_est` (verl's GRPO advantage
  times the mask);
- dynamic sampling with the paper's fallback: `MtaReplayBuffer`
  (`trainer.v1.sampler.custom_sampler`), verl's v1 ReplayBuffer with
  mta_train/verl_sampling.py's `PaperSamplingMixin`;
- prompts of a model whose chat flag is off: `MtaRawTextAgentLoop`
  (`rollout.agent.default_agent_loop`, registered by `rollout.agent.agent_loop_config_path`),
  verl's single-turn agent loop with the prompt tokenized as raw text, as mta's evaluations
  sample that model, instead of through the chat template.

The classes built on verl's TransferQueue trainer are created on first access (module
`__getattr__`), so this module imports without the `transfer_queue` package.
"""

from __future__ import annotations

import asyncio
import os
import random
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mta_probe.errors import BackendError
from mta_train.evaluation import get_protocol, scored_text
from mta_train.parquet import problem_from_extra_info
from mta_train.reward import VERIFY_TIMEOUT, Group, Reward, format_ok, is_correct
from mta_train.technique import DEFAULT_VARIANT, Variant
from mta_train.techniques import get_technique

# --- NSR / PSR -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskedGrpo:
    """verl's GRPO advantage times a technique's mask (`Technique.keeps`: NSR keeps score < 1,
    PSR score > 0; mta_train.dapo.masked_advantages applies the same mask on lists).

    An advantage estimator as verl calls one: `(token_level_rewards, response_mask, index,
    config)`, returning (advantages, returns) with masked rows zeroed but kept in the batch.
    Two are equal when their masks are, which keeps `register_estimators` idempotent (verl
    refuses a name registered to an unequal estimator).
    """

    keeps: Callable[[float], bool]

    def __call__(self, token_level_rewards: Any, response_mask: Any, index: Any,
                 config: Any = None, **_: Any) -> tuple[Any, Any]:
        import torch
        from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

        normalize = _get(config, "norm_adv_by_std_in_grpo", True)
        advantages, returns = compute_grpo_outcome_advantage(
            token_level_rewards=token_level_rewards, response_mask=response_mask, index=index,
            norm_adv_by_std_in_grpo=normalize)
        scores = token_level_rewards.sum(dim=-1).tolist()
        keep = torch.tensor([self.keeps(score) for score in scores], device=advantages.device)
        mask = keep.to(advantages.dtype).unsqueeze(-1)
        return advantages * mask, returns * mask


def register_estimators() -> None:
    """Register one estimator per technique that masks advantages (named as the technique,
    `Technique.estimator`) in verl's advantage-estimator registry. Idempotent."""
    from verl.trainer.ppo import core_algos

    from mta_train.techniques import TECHNIQUES

    for technique in TECHNIQUES.values():
        if technique.keeps is not None:
            core_algos.register_adv_est(technique.estimator)(MaskedGrpo(technique.keeps))


# --- per-sample rewards --------------------------------------------------------------------

_COIN_STREAMS: dict[int, random.Random] = {}


def compute_score(data_source: str, solution_str: str, ground_truth: Any,
                  extra_info: dict[str, Any] | None = None, technique: str = "ground-truth",
                  seed: int = 0, require_format: bool = True, variant: str = DEFAULT_VARIANT,
                  eval_protocol: str = "paper", verify_timeout: float = VERIFY_TIMEOUT,
                  **_: Any) -> dict[str, float]:
    """verl's custom reward function: one response, scored by the technique's own reward.

    `technique`, `variant`, `seed`, `require_format`, `eval_protocol` (TrainSettings fields) and
    `verify_timeout` arrive through `reward.custom_reward_function.reward_kwargs`.
    verl calls it in executor threads; every verification runs in a killable worker process
    (mta_train/reward.py), so an answer that never finishes verifying scores 0 after
    `verify_timeout` seconds instead of holding the reward worker forever.
    Validation rows (`extra_info.split == "val"`) score correctness only, under the run's
    evaluation protocol (the paper's: the first `<answer>` alone), as gains.json does.
    The random technique's coin is seeded per worker process (run seed and pid):
    verl sends responses to reward workers at random, so per-step reproducibility is not
    possible on this path.

    Returns:
        {"score", "acc", "format"}; verl trains on "score" and logs the others.

    Raises:
        BackendError: a group-level technique configured without mta's agent-loop manager.
    """
    problem, verifier = problem_from_extra_info(extra_info or {})
    if (extra_info or {}).get("split") == "val":
        return reward_dict(validation_reward(solution_str, problem, verifier, eval_protocol,
                                             verify_timeout))
    chosen = get_technique(technique)
    if chosen.group_level or chosen.needs_logprobs:
        raise BackendError(f"{technique} scores whole groups: set "
                           "actor_rollout_ref.rollout.agent.agent_loop_manager_class="
                           "mta_train.verl_plugin.MtaAgentLoopManager")
    group = Group(problem=problem, verifier=verifier, texts=(solution_str,),
                  seed=_coin_stream(seed).getrandbits(63), require_format=bool(require_format),
                  verify_timeout=float(verify_timeout))
    return reward_dict(chosen.variant(variant).reward(group)[0])


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


def _coin_stream(seed: int) -> random.Random:
    if seed not in _COIN_STREAMS:
        _COIN_STREAMS[seed] = random.Random(f"{seed}:{os.getpid()}")
    return _COIN_STREAMS[seed]


# --- group-level rewards -------------------------------------------------------------------


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


# --- raw-text prompts (models whose chat flag is off) -------------------------------------


def raw_prompt_ids(tokenizer: Any, messages: list[dict[str, Any]]) -> list[int]:
    """A row's prompt as mta's samplers send it to a model with chat off: the user message's
    text, tokenized with the tokenizer's own special tokens (a BOS where it adds one), no chat
    template (mta_probe/sampling/hf.py and vllm_engine.py `encode`)."""
    (message,) = [m for m in messages if m.get("role") == "user"]  # mta's rows hold one
    return list(tokenizer(str(message["content"])).input_ids)


async def _raw_text_initial_tokens(self: Any, messages: list[dict[str, Any]], tools: Any = None,
                                   images: Any = None, videos: Any = None, audios: Any = None,
                                   mm_inputs_out: Any = None) -> list[int]:
    if tools or images or videos or audios:
        raise BackendError("mta's raw-text agent loop takes text prompts only")
    ids = await self.loop.run_in_executor(None, raw_prompt_ids, self.tokenizer, messages)
    return self._cap_text_prompt_length(ids)  # verl's left truncation, as for templated prompts


# --- classes built on verl's agent loop and TransferQueue trainer (created on first access) --


def _build_worker() -> type:
    import ray
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopWorkerTQ

    base = AgentLoopWorkerTQ.__ray_actor_class__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)
        self._mta_setup()

    cls = type("MtaAgentLoopWorker", (GroupScoringMixin, base),
               {"__init__": __init__, "__module__": __name__})
    return ray.remote(cls)


def _build_manager() -> type:
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        AgentLoopManagerTQ.__init__(self, *args, **kwargs)
        self.agent_loop_workers_class = __getattr__("MtaAgentLoopWorker")

    return type("MtaAgentLoopManager", (AgentLoopManagerTQ,),
                {"__init__": __init__, "__module__": __name__})


def _build_raw_text_loop() -> type:
    from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

    return type("MtaRawTextAgentLoop", (SingleTurnAgentLoop,),
                {"ct_build_initial_tokens": _raw_text_initial_tokens, "__module__": __name__})


def _build_replay_buffer() -> type:
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    from mta_train.verl_sampling import PaperSamplingMixin

    return type("MtaReplayBuffer", (PaperSamplingMixin, ReplayBuffer), {"__module__": __name__})


_LAZY: dict[str, Callable[[], type]] = {"MtaAgentLoopWorker": _build_worker,
                                        "MtaAgentLoopManager": _build_manager,
                                        "MtaReplayBuffer": _build_replay_buffer,
                                        "MtaRawTextAgentLoop": _build_raw_text_loop}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        globals()[name] = _LAZY[name]()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _get(config: Any, key: str, default: Any) -> Any:
    if config is None:
        return default
    if hasattr(config, "get"):
        return config.get(key, default)
    return getattr(config, key, default)


register_estimators()
