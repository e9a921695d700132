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
  score (verl then skips its reward loop; the scoring is mta_train/verl_rewards.py). EM reads the rollout's own log-probs
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

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mta_probe.errors import BackendError
from mta_train.parquet import problem_from_extra_info
from mta_train.reward import VERIFY_TIMEOUT, Group
from mta_train.technique import DEFAULT_VARIANT
from mta_train.techniques import get_technique
from mta_train.verl_rewards import GroupScoringMixin, reward_dict, validation_reward

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


def _coin_stream(seed: int) -> random.Random:
    if seed not in _COIN_STREAMS:
        _COIN_STREAMS[seed] = random.Random(f"{seed}:{os.getpid()}")
    return _COIN_STREAMS[seed]


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
