"""mta's verl plugin through verl's own code: estimators, reward manager, agent-loop scoring."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

pytest.importorskip("verl")

import numpy as np
import torch
from omegaconf import OmegaConf
from guarded import TOWER, run_guarded
from tinymodel import build_tiny_tokenizer
from verl import DataProto
from verl.experimental.agent_loop.agent_loop import (
    AgentLoopMetrics,
    AgentLoopOutput,
    AgentLoopWorker,
)
from verl.trainer.ppo import core_algos
from verl.trainer.ppo.ray_trainer import compute_advantage
from verl.trainer.ppo.reward import load_reward_manager

import mta_train.verl_plugin as plugin
import mta_train.verl_rewards as verl_rewards
from mta_probe.errors import BackendError
from mta_probe.tasks import Problem
from mta_train.dapo import group_advantages, masked_advantages
from mta_train.parquet import problem_row
from mta_train.reward import Group, is_correct
from mta_train.techniques import TECHNIQUES, get_technique

PROBLEM = Problem(id="q1", prompt="What is 2+2?", statement="What is 2+2?", gold="4")
ROW = problem_row(PROBLEM, "exact", data_source="toy", split="train", index=0)
VAL_ROW = problem_row(PROBLEM, "exact", data_source="toy", split="val", index=0)
GOOD = "<think> two plus two </think> <answer> 4 </answer>"
WRONG = "<think> two plus two </think> <answer> 5 </answer>"
BARE = "4"
BARE_ACC = float(is_correct(BARE, PROBLEM, "exact"))

# Two groups of four; group a scores [1, 0, 0, 1], group b [0, 0, 0, 1].
SCORES = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
UIDS = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
LENGTHS = [3, 5, 2, 4, 5, 1, 3, 2]
# By hand: a has mean .5 and unbiased std sqrt(1/3), so +-0.5/sqrt(1/3) = +-0.866025;
# b has mean .25 and std .5, so -0.5 three times and 1.5. (verl adds 1e-6 to the std: a
# relative 2e-6, inside the tests' rel=1e-5.)
A = 0.5 / math.sqrt(1 / 3)
GRPO = [A, -A, -A, A, -0.5, -0.5, -0.5, 1.5]
EXPECTED = {"nsr": [0.0, -A, -A, 0.0, -0.5, -0.5, -0.5, 0.0],
            "psr": [A, 0.0, 0.0, A, 0.0, 0.0, 0.0, 1.5]}


def _outcome_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    mask = torch.zeros(8, 6)
    rewards = torch.zeros(8, 6)
    for row, (length, score) in enumerate(zip(LENGTHS, SCORES, strict=True)):
        mask[row, :length] = 1
        rewards[row, length - 1] = score
    return rewards, mask


@pytest.fixture(scope="module")
def tokenizer():
    tok = build_tiny_tokenizer()
    tok.add_tokens(["<think>", "</think>", "<answer>", "</answer>", "4", "5"])
    return tok


@pytest.mark.parametrize("rule", ["nsr", "psr"])
def test_estimators_are_grpo_times_the_mask(rule: str) -> None:
    rewards, mask = _outcome_tensors()
    fn = core_algos.get_adv_estimator_fn(rule)
    advantages, returns = fn(token_level_rewards=rewards, response_mask=mask, index=UIDS,
                             config=OmegaConf.create({"norm_adv_by_std_in_grpo": True}))
    per_row = advantages[:, 0].tolist()
    assert per_row == pytest.approx(EXPECTED[rule], rel=1e-5)
    assert torch.equal(advantages, returns)
    assert torch.all(advantages[mask == 0] == 0)  # padding stays zero
    # The same numbers as the local trainer's formulas.
    local = []
    for start in (0, 4):
        scores = SCORES[start:start + 4]
        local += masked_advantages(group_advantages(scores), scores, TECHNIQUES[rule].keeps)
    assert per_row == pytest.approx(local, rel=1e-5)
    grpo, _ = core_algos.compute_grpo_outcome_advantage(rewards, mask, UIDS)
    assert grpo[:, 0].tolist() == pytest.approx(GRPO, rel=1e-5)


def test_estimator_reached_through_verl_compute_advantage() -> None:
    rewards, mask = _outcome_tensors()
    data = DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask},
                               non_tensors={"uid": UIDS})
    out = compute_advantage(data, adv_estimator="nsr", num_repeat=4,
                            config=OmegaConf.create({"norm_adv_by_std_in_grpo": True}))
    assert out.batch["advantages"][:, 0].tolist() == pytest.approx(EXPECTED["nsr"], rel=1e-5)


def test_estimator_reached_through_verl_v1_trainer_code() -> None:
    """The exact call of verl's v1 trainer (`_compute_advantage`), keys as it stores them."""
    pytest.importorskip("transfer_queue")
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories

    rewards, mask = _outcome_tensors()
    data = DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask},
                               non_tensors={"uid": UIDS})
    keys = [f"{uid}_{i % 4}_0" for i, uid in enumerate(UIDS)]
    out = compute_advantage_for_multi_trajectories(
        data, batch_keys=keys, adv_estimator="psr", num_repeat=4,
        config=OmegaConf.create({"norm_adv_by_std_in_grpo": True}))
    assert out.batch["advantages"][:, 0].tolist() == pytest.approx(EXPECTED["psr"], rel=1e-5)


def _reward_config(technique: str, timeout: float = 10.0) -> Any:
    return OmegaConf.create({"reward": {
        "custom_reward_function": {"path": "pkg://mta_train.verl_plugin", "name": "compute_score",
                                   "reward_kwargs": {"technique": technique, "seed": 0,
                                                     "require_format": True,
                                                     "verify_timeout": timeout}},
        "reward_manager": {"source": "register", "name": "naive"}, "sandbox_fusion": None}})


def _sample(tokenizer, text: str, row: dict[str, Any]) -> DataProto:
    prompt = tokenizer.encode("what is two plus two ?", add_special_tokens=False)
    response = tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id] * 2
    valid = len(response) - 2
    attention = [1] * len(prompt) + [1] * valid + [0, 0]
    return DataProto.from_dict(
        tensors={"prompts": torch.tensor([prompt]), "responses": torch.tensor([response]),
                 "attention_mask": torch.tensor([attention])},
        non_tensors={"data_source": np.array([row["data_source"]], dtype=object),
                     "reward_model": np.array([row["reward_model"]], dtype=object),
                     "extra_info": np.array([dict(row["extra_info"])], dtype=object)})


def _score_with_verl(tokenizer, technique: str, text: str, row: dict[str, Any],
                     timeout: float = 10.0) -> dict:
    """`compute_score` as verl calls it: its reward manager's `run_single`, which runs the
    function in an executor thread (verl/experimental/reward_loop/reward_manager/naive.py)."""
    async def run() -> dict:
        manager = load_reward_manager(_reward_config(technique, timeout), tokenizer)
        return await manager.run_single(_sample(tokenizer, text, row))

    return asyncio.run(run())


def test_reward_function_through_verl_reward_manager(tokenizer) -> None:
    good = _score_with_verl(tokenizer, "ground-truth", GOOD, ROW)
    assert good["reward_score"] == 1.0
    assert good["reward_extra_info"] == {"score": 1.0, "acc": 1.0, "format": 1.0}
    wrong = _score_with_verl(tokenizer, "ground-truth", WRONG, ROW)
    assert wrong["reward_extra_info"] == {"score": 0.0, "acc": 0.0, "format": 1.0}
    bare = _score_with_verl(tokenizer, "ground-truth", BARE, ROW)
    assert bare["reward_extra_info"] == {"score": 0.0, "acc": BARE_ACC, "format": 0.0}
    fmt = _score_with_verl(tokenizer, "format", WRONG, ROW)
    assert fmt["reward_score"] == 1.0  # the format technique ignores the answer
    # Validation scores correctness only, whatever the technique.
    val = _score_with_verl(tokenizer, "format", BARE, VAL_ROW)
    assert val["reward_score"] == BARE_ACC


def test_a_verification_that_never_ends_scores_zero_within_its_timeout() -> None:
    """Issue 22: 9^{9^{9^{9}}} against gold 1 never returned when verl called the reward (in its
    executor threads math-verify cannot time itself out, and the computation holds the GIL).
    Through verl's own reward manager, the group scorer and validation scoring it now scores 0
    after `verify_timeout` (1 s here), and a correct answer still scores 1."""
    result = run_guarded(f"""
        import json, time
        from mta_probe.tasks import Problem
        from mta_train.parquet import problem_row
        from mta_train.reward import is_correct
        from tinymodel import build_tiny_tokenizer
        from test_verl_plugin import _run, _score_with_verl

        ONE = Problem(id="one", prompt="p", statement="s", gold="1")
        TRAIN = problem_row(ONE, "math", data_source="toy", split="train", index=0)
        VAL = problem_row(ONE, "math", data_source="toy", split="val", index=0)
        TOWER = "<think> two </think> <answer> {TOWER} </answer>"
        RIGHT = "<think> two </think> <answer> 1 </answer>"
        tok = build_tiny_tokenizer()
        tok.add_tokens(["<think>", "</think>", "<answer>", "</answer>", "1", "{TOWER}"])
        assert is_correct(RIGHT, ONE, "math")  # starts this process's worker
        out = {{}}
        for text in (TOWER, RIGHT):
            start = time.monotonic()
            scored = _score_with_verl(tok, "ground-truth", text, TRAIN, timeout=1.0)
            out["manager " + text] = [scored["reward_score"], time.monotonic() - start]
        start = time.monotonic()
        group = _run(tok, "vote", [TOWER, RIGHT, RIGHT], row=TRAIN, timeout=1.0)
        out["group"] = [[o.reward_score for o in group], time.monotonic() - start]
        start = time.monotonic()
        val = _run(tok, "vote", [TOWER, RIGHT], row=VAL, validate=True, timeout=1.0)
        out["validation"] = [[o.reward_score for o in val], time.monotonic() - start]
        print(json.dumps(out))
    """, deadline=180)
    tower = f"<think> two </think> <answer> {TOWER} </answer>"
    right = "<think> two </think> <answer> 1 </answer>"
    assert result[f"manager {tower}"][0] == 0.0 and result[f"manager {right}"][0] == 1.0
    assert result["group"][0] == [0.0, 1.0, 1.0]
    assert result["validation"][0] == [0.0, 1.0]
    for key in (f"manager {tower}", "group", "validation"):  # one timeout each, plus overhead
        assert result[key][1] < 1.0 + 8.0, key  # a hung call never returned; slack for a loaded machine


def test_random_reward_is_a_fair_coin() -> None:
    scores = [plugin.compute_score("toy", GOOD, "4", dict(ROW["extra_info"]), technique="random",
                                   seed=1)["score"] for _ in range(400)]
    assert set(scores) == {0.0, 1.0}
    assert 0.4 < sum(scores) / len(scores) < 0.6


def test_random_reward_pays_only_the_format_unless_shao() -> None:
    extra = dict(ROW["extra_info"])
    paper = [plugin.compute_score("toy", BARE, "4", extra, technique="random", seed=2)["score"]
             for _ in range(100)]
    shao = [plugin.compute_score("toy", BARE, "4", extra, technique="random", seed=2,
                                 variant="shao")["score"] for _ in range(100)]
    assert paper == [0.0] * 100 and 0.3 < sum(shao) / 100 < 0.7


def test_group_technique_refuses_the_per_sample_path() -> None:
    with pytest.raises(BackendError, match="agent_loop_manager_class"):
        plugin.compute_score("toy", GOOD, "4", dict(ROW["extra_info"]), technique="vote")


# --- the agent-loop path ----------------------------------------------------------------


class _NoRewardLoop:
    """verl's reward-loop handle; touching it means verl re-scored a response mta scored."""

    @property
    def compute_score(self):
        raise AssertionError("verl's reward loop ran on a response mta had scored")


class _VerlLikeWorker:
    """Stands in for verl's AgentLoopWorkerTQ: one agent loop per session, then verl's own
    `_compute_score` in post-processing (the real method, not a copy)."""

    def __init__(self, config: Any, tokenizer: Any, outputs: list[AgentLoopOutput],
                 failing: tuple[int, ...] = ()) -> None:
        self.config, self.tokenizer, self.outputs, self.failing = config, tokenizer, outputs, failing
        self.reward_loop_worker_handles = [_NoRewardLoop()]
        self._mta_setup()

    async def _run_agent_loop(self, sampling_params: dict, trajectory: dict, **kwargs: Any):
        await asyncio.sleep(0.001 * (len(self.outputs) - kwargs["session_id"]))  # out of order
        if kwargs["session_id"] in self.failing:
            raise RuntimeError("generation failed")
        output = self.outputs[kwargs["session_id"]]
        return await self._agent_loop_postprocess(output, trajectory["validate"], **kwargs)

    async def _agent_loop_postprocess(self, output: AgentLoopOutput, validate: bool, **kwargs: Any):
        await AgentLoopWorker._compute_score(self, [output], kwargs=kwargs)
        return output


class _Worker(verl_rewards.GroupScoringMixin, _VerlLikeWorker):
    pass


def _outputs(tokenizer, texts: list[str], logprobs: list[list[float]] | None = None):
    outputs = []
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text, add_special_tokens=False)
        outputs.append(AgentLoopOutput(
            prompt_ids=[3, 4], response_ids=ids, response_mask=[1] * len(ids),
            response_logprobs=logprobs[i] if logprobs else None, metrics=AgentLoopMetrics()))
    return outputs


def _run(tokenizer, technique: str, texts: list[str], *, validate: bool = False,
         failing: tuple[int, ...] = (), logprobs=None, variant: str = "paper",
         row: dict[str, Any] = ROW, timeout: float = 10.0) -> list[Any]:
    config = OmegaConf.create({
        "reward": {"custom_reward_function": {"reward_kwargs": {
            "technique": technique, "variant": variant, "seed": 0, "verify_timeout": timeout}}},
        "actor_rollout_ref": {"rollout": {"n": len(texts)}}})

    async def run() -> list[Any]:
        worker = _Worker(config, tokenizer, _outputs(tokenizer, texts, logprobs), failing)
        return await asyncio.gather(*(
            worker._run_agent_loop({}, {"validate": validate}, uid="u1", session_id=i,
                                   extra_info=dict(row["extra_info"]), global_steps=3,
                                   agent_name="single_turn_agent")
            for i in range(len(texts))), return_exceptions=True)

    return asyncio.run(run())


class _TextOnlyInputs:
    """The input builders verl's `_compute_score` calls before it reaches the reward loop."""

    def _compute_multi_modal_inputs(self, output: Any, input_ids: Any) -> dict:
        return {}

    def _get_mm_processor_kwargs(self, audios: Any) -> None:
        return None

    def _compute_position_ids(self, input_ids: Any, attention_mask: Any, *_: Any) -> Any:
        return torch.arange(input_ids.shape[-1]).unsqueeze(0)


def test_sentinel_catches_verl_reward_loop(tokenizer) -> None:
    """Control: an output without a score does go to verl's reward loop (and trips it)."""
    (output,) = _outputs(tokenizer, [GOOD])
    worker = _TextOnlyInputs()
    worker.reward_loop_worker_handles = [_NoRewardLoop()]
    with pytest.raises(AssertionError, match="reward loop"):
        asyncio.run(AgentLoopWorker._compute_score(worker, [output], kwargs={}))


def test_vote_scores_the_whole_group(tokenizer) -> None:
    texts = [GOOD, WRONG, GOOD, BARE]
    results = _run(tokenizer, "vote", texts)
    scores = [o.reward_score for o in results]
    assert scores == [1.0, 0.0, 1.0, 0.0]  # majority answer 4; the bare one lacks the format
    direct = get_technique("vote").reward(Group(PROBLEM, "exact", tuple(texts)))
    assert scores == [r.score for r in direct]
    infos = [o.extra_fields["reward_extra_info"] for o in results]
    assert [i["acc"] for i in infos] == [1.0, 0.0, 1.0, BARE_ACC]
    assert [i["format"] for i in infos] == [1.0, 1.0, 1.0, 0.0]
    # the vote statistics reach verl's reward_extra_info (then mta's sampler metrics)
    # two of four vote "4" (the bare "4" marks no answer, so it does not vote)
    assert {(i["majority_ratio"], i["label_accuracy"]) for i in infos} == {(0.5, 1.0)}


def test_incorrect_rewards_wrong_answers(tokenizer) -> None:
    results = _run(tokenizer, "incorrect", [GOOD, WRONG, WRONG, GOOD])
    assert [o.reward_score for o in results] == [0.0, 1.0, 1.0, 0.0]
    online = _run(tokenizer, "incorrect", [GOOD, WRONG, WRONG, GOOD], variant="online")
    assert [o.reward_score for o in online] == [0.0, 1.0, 1.0, 0.0]


def test_em_reads_the_rollout_logprobs(tokenizer) -> None:
    assert len(tokenizer.encode(GOOD, add_special_tokens=False)) == 8
    logprobs = [[-0.5, -1.5] + [-1.0] * 6, [-0.1] * 8, [-2.0, -1.0] * 4]
    results = _run(tokenizer, "em", [GOOD, WRONG, GOOD], logprobs=logprobs)
    assert [o.reward_score for o in results] == pytest.approx([-1.0, -0.1, -1.5])


def test_mean_logprob_skips_tokens_the_model_did_not_generate() -> None:
    output = AgentLoopOutput(prompt_ids=[1], response_ids=[5, 6, 7], response_mask=[1, 1, 0],
                             response_logprobs=[-1.0, -3.0, -9.0], metrics=AgentLoopMetrics())
    assert verl_rewards.mean_logprob(output) == -2.0
    output.response_logprobs = None
    assert verl_rewards.mean_logprob(output) is None


def test_validation_scores_correctness_alone(tokenizer) -> None:
    results = _run(tokenizer, "vote", [GOOD, WRONG, BARE], validate=True)
    assert [o.reward_score for o in results] == [1.0, 0.0, BARE_ACC]


def test_a_failed_session_does_not_block_its_group(tokenizer) -> None:
    results = _run(tokenizer, "vote", [GOOD, GOOD, WRONG, GOOD], failing=(3,))
    assert isinstance(results[3], RuntimeError)
    assert [o.reward_score for o in results[:3]] == [1.0, 1.0, 0.0]


def test_gate_scores_once_in_slot_order() -> None:
    calls: list[list[str]] = []

    async def score(items: list[str]):
        calls.append(items)
        return [verl_rewards.Reward(score=float(len(x)), acc=0.0, format=0.0) for x in items]

    async def run():
        gate = verl_rewards.GroupGate(score)
        return await asyncio.gather(gate.submit("g", 3, 2, "ccc"), gate.submit("g", 3, 0, "a"),
                                    gate.submit("g", 3, 1, "bb"))

    rewards = asyncio.run(run())
    assert calls == [["a", "bb", "ccc"]]
    assert [r.score for r in rewards] == [3.0, 1.0, 2.0]


def test_classes_on_verl_v1_trainer_build() -> None:
    """verl loads these by name from the config; they need the transfer_queue package."""
    pytest.importorskip("transfer_queue")
    buffer = plugin.MtaReplayBuffer(
        trainer_mode="sync", trainer_config={}, max_off_policy_threshold=8,
        max_off_policy_strategy="drop", refill_fn=lambda n: n,
        sampler_kwargs={"filter_groups": True, "metric": "reward", "max_num_gen_batches": 2,
                        "train_batch_size": 128})
    assert buffer.filter_groups_metric == "reward"
    assert (buffer.mta_max_gen_batches, buffer.train_batch_size) == (2, 128)
    manager = plugin.MtaAgentLoopManager
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ

    assert issubclass(manager, AgentLoopManagerTQ)
