"""One evaluation protocol for before, after, validation and gains.json (mta_train/evaluation.py)."""

from __future__ import annotations

import pytest

from mta_probe.errors import BadInputError
from mta_probe.sampling import Sampler
from mta_probe.tasks import Problem
from mta_probe.verify import VerifierPool
from mta_train.evaluation import (
    EVAL_PROTOCOLS,
    EvalSet,
    eval_k,
    eval_prompt,
    eval_sampling,
    score_set,
    scored_text,
)
from mta_train.settings import DapoSettings, TrainSettings

HALF = Problem(id="half", prompt="Put the answer in \\boxed{}: what is 1/2?", statement="What is 1/2?",
               gold="1/2")
PAPER, PROBE = EVAL_PROTOCOLS["paper"], EVAL_PROTOCOLS["probe"]


@pytest.mark.parametrize(("text", "paper", "probe"), [
    ("<think>x</think><answer>0.5</answer>", True, True),
    # only the FIRST answer block counts (the paper's _extract_answer), not the last
    ("<answer>3</answer> no, <answer>0.5</answer>", False, False),
    ("<answer>0.5</answer> no, <answer>3</answer>", True, True),
    # no answer block: wrong under the paper's protocol, whatever the box says
    ("so \\boxed{\\frac{1}{2}}", False, True),
    ("the answer is 0.5", False, True),
    ("nothing", False, False),
])
def test_the_paper_reads_the_first_answer_block_only(text: str, paper: bool, probe: bool) -> None:
    from mta_probe.verify import verify_one

    assert verify_one("math", scored_text(text, "math", PAPER), HALF).correct is paper
    assert verify_one("math", scored_text(text, "math", PROBE), HALF).correct is probe
    assert scored_text("```python\ndef f(): pass\n```", "code", PAPER).startswith("```python")


def test_validation_on_verl_scores_as_the_local_evaluation() -> None:
    """verl's validation rows go through the plugin's reward function: the same verdicts."""
    from mta_train.verl_rewards import validation_reward

    for text in ("<answer>3</answer><answer>0.5</answer>", "\\boxed{1/2}", "<answer>1/2</answer>"):
        for name, protocol in EVAL_PROTOCOLS.items():
            from mta_probe.verify import verify_one

            local = verify_one("math", scored_text(text, "math", protocol), HALF).correct
            assert validation_reward(text, HALF, "math", name).acc == float(local)


def test_prompt_sampling_and_k_follow_the_protocol() -> None:
    assert "<answer>" in eval_prompt(HALF, "math", PAPER) and "\\boxed" not in eval_prompt(HALF, "math", PAPER)
    assert eval_prompt(HALF, "math", PROBE) == HALF.prompt
    assert eval_prompt(HALF, "math", PAPER, "task") == HALF.prompt  # --train-prompt task
    with pytest.raises(BadInputError, match="training prompt"):
        TrainSettings(technique="ground-truth", train_prompt="chat")
    paper = TrainSettings(technique="ground-truth", dapo=DapoSettings(top_p=0.9), eval_max_tokens=64)
    sampling = eval_sampling(paper)
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (1.0, 0.7, 64)
    probe = TrainSettings(technique="ground-truth", dapo=DapoSettings(top_p=0.9), eval_protocol="probe")
    assert (eval_sampling(probe).top_p, eval_sampling(probe).max_tokens) == (0.9, 8192)
    # avg@8 on AIME24 and SynLogic (Section 3) and code (Appendix G), else the scripts' n=1
    assert [eval_k(t, paper) for t in ("aime24", "synlogic", "humaneval", "math500", "kor-op")] == [
        8, 8, 8, 1, 1]
    assert eval_k("math500", TrainSettings(technique="vote", eval_k=4)) == 4


class EchoSampler(Sampler):
    """Answers every prompt with k fixed completions and records what it was asked."""

    prompts_per_call = 2

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.calls = texts, []

    def sample(self, prompts, n, settings, seeds):
        from mta_probe.sampling import Completion

        self.calls.append((list(prompts), n, settings, list(seeds)))
        return [[Completion(t, 1, "stop") for t in self.texts[:n]] for _ in prompts]


def test_score_set_is_avg_at_k_with_seeds_by_problem_id() -> None:
    problems = tuple(Problem(id=f"p{i}", prompt="q", statement="What is 1/2?", gold="1/2")
                     for i in range(3))
    sampler = EchoSampler(["<answer>0.5</answer>", "\\boxed{1/2}", "<answer>2</answer>", "x"])
    settings = TrainSettings(technique="ground-truth", verify_workers=0)
    with VerifierPool(workers=0) as pool:
        scored = score_set(sampler, pool, EvalSet("t", "math", problems, 4), settings)
    assert [[v.correct for v in s.verdicts] for s in scored] == [[True, False, False, False]] * 3
    assert [len(c[0]) for c in sampler.calls] == [2, 1]  # batched as the sampler asks
    from mta_probe.sampling import problem_seed

    assert [s.seed for s in scored] == [problem_seed(0, p.id) for p in problems]
