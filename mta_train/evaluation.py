"""How a model is scored before, during and after training: one protocol for all four.

"before", "after" (gains.json), the local trainer's in-training validation and verl's
validation all sample and score the same way, so the same trained model gets the same "after"
wherever it is measured. Two protocols (`EVAL_PROTOCOLS`):

- "paper" (default), the paper's validation (scripts/RQ*/*.sh, src/main_dapo.py): the training
  prompt (the think/answer instruction of mta_train/data.py), temperature 1.0, top_p 0.7
  (`val_kwargs.top_p=${val_top_p}`, 0.7 in every script), and correctness of the text of the
  FIRST `<answer>...</answer>` (`_extract_answer` in src/syn_logic_reward.py; no tag: wrong),
  format not required (`compute_score_wo_think_format`). Correctness is the task's verifier on
  that text (math-verify for math, where the paper compared strings: defect-free on purpose).
  Code tasks have no answer tag: their fenced block is scored, as in training.
- "probe": mta's pass@k probe protocol: the task's own prompt (math asks for `\\boxed{}`), the
  rollout top_p (1.0), and the verifier's own extraction (first `<answer>`, else the last
  `\\boxed{}`, else "answer is ..."), as `mta probe passk` scores.

The metric is avg@k: k samples per problem, accuracy averaged over samples and problems. The
paper's k per benchmark (`PAPER_EVAL_K`): 8 on AIME 2024 and SynLogic (Section 3) and on the
code tasks (Appendix G: "we report avg@8, following the same protocol as SynLogic and AIME24"),
1 elsewhere (`val_kwargs.n=1` in every script).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mta_probe.errors import BadInputError
from mta_probe.sampling import Completion, SamplingSettings, draw, problem_seed
from mta_probe.tasks import Problem, load_task
from mta_probe.verify import Verdict, get_verifier
from mta_probe.verify import ANSWER_TAG
from mta_train.data import training_prompt
from mta_train.settings import TrainSettings


@dataclass(frozen=True)
class EvalProtocol:
    """One way of scoring a model (module docstring).

    Attributes:
        name: the key of EVAL_PROTOCOLS.
        prompt: "training" (the think/answer training prompt) or "task" (the task's own prompt).
        answer: "first-answer-tag" (only the first `<answer>` block counts) or "verifier" (the
            verifier's own extraction with its fallbacks).
        temperature: sampling temperature.
        top_p: nucleus; None takes the rollout's (DapoSettings.top_p).
        source: what it follows.
    """

    name: str
    prompt: Literal["training", "task"]
    answer: Literal["first-answer-tag", "verifier"]
    temperature: float
    top_p: float | None
    source: str


EVAL_PROTOCOLS: dict[str, EvalProtocol] = {
    "paper": EvalProtocol(
        "paper", prompt="training", answer="first-answer-tag", temperature=1.0, top_p=0.7,
        source="model-task-align-rl scripts/RQ*/*.sh (val_kwargs.temperature=1.0, "
               "val_kwargs.top_p=0.7, do_sample=True, n=1); src/syn_logic_reward.py:65-95"),
    "probe": EvalProtocol(
        "probe", prompt="task", answer="verifier", temperature=1.0, top_p=None,
        source="mta probe passk (docs/passk.md)"),
}

# Section 3: avg@8 on AIME 2024 and SynLogic; Appendix G: avg@8 on the code tasks; else n=1.
PAPER_EVAL_K: dict[str, int] = {"aime24": 8, "synlogic": 8, "humaneval": 8, "livecodebench": 8}


def get_protocol(name: str) -> EvalProtocol:
    """The protocol called `name`.

    Raises:
        BadInputError: unknown name (the message lists the known ones).
    """
    if name not in EVAL_PROTOCOLS:
        raise BadInputError(f"unknown evaluation protocol {name!r}; known: {', '.join(EVAL_PROTOCOLS)}")
    return EVAL_PROTOCOLS[name]


def eval_k(task: str, settings: TrainSettings) -> int:
    """Samples per problem on `task`: `settings.eval_k`, else the paper's k for the benchmark."""
    return settings.eval_k or PAPER_EVAL_K.get(task, 1)


def eval_sampling(settings: TrainSettings) -> SamplingSettings:
    """Temperature, top_p and response length of every evaluation of the run."""
    protocol = get_protocol(settings.eval_protocol)
    dapo = settings.dapo
    return SamplingSettings(temperature=protocol.temperature,
                            top_p=protocol.top_p if protocol.top_p is not None else dapo.top_p,
                            max_tokens=settings.eval_max_tokens or dapo.max_response_length)


def eval_prompt(problem: Problem, verifier: str, protocol: EvalProtocol,
                style: str = "paper") -> str:
    """The prompt a problem is evaluated with (`style`: the run's training prompt style)."""
    if protocol.prompt == "training":
        return training_prompt(problem, verifier, style)
    return problem.prompt


def scored_text(text: str, verifier: str, protocol: EvalProtocol) -> str:
    """What the verifier reads of a completion: under "first-answer-tag", the first answer
    block alone (nothing when there is none); code keeps its text (its answer is its block)."""
    if protocol.answer == "verifier" or get_verifier(verifier).family == "code":
        return text
    first = ANSWER_TAG.search(text)
    return f"<answer>{first.group(1)}</answer>" if first else ""


@dataclass(frozen=True)
class EvalSet:
    """One evaluation task: its problems, verifier and k. `task` is the task as the run names
    it (the key of gains.json, of `val/<task>` and verl's validation data_source); `available`
    is how many problems the task has before `eval_count` (0: not counted)."""

    task: str
    verifier: str
    problems: tuple[Problem, ...]
    k: int
    available: int = 0


def eval_sets(settings: TrainSettings) -> list[EvalSet]:
    """The run's evaluation tasks, loaded (first `eval_count` problems of each)."""
    sets = []
    for task in settings.evaluation:
        loaded = load_task(task, options=settings.task_options)
        if not loaded.problems:
            raise BadInputError(f"evaluation task {loaded.name} has no problems")
        sets.append(EvalSet(task, loaded.verifier, tuple(loaded.problems[:settings.eval_count]),
                            eval_k(loaded.name, settings), len(loaded.problems)))
    return sets


@dataclass(frozen=True)
class Scored:
    """One problem's evaluation samples and verdicts."""

    problem: Problem
    seed: int
    completions: list[Completion]
    verdicts: list[Verdict]


def score_set(sampler: Any, pool: Any, eval_set: EvalSet, settings: TrainSettings,
              problems: Sequence[Problem] | None = None,
              on_done: Callable[[int], None] | None = None) -> list[Scored]:
    """Sample k completions per problem and verify them under the run's protocol.

    Each problem's samples are seeded by the run seed and its id alone (as `mta probe passk`),
    so the same weights give the same samples whoever asks and however problems are batched.

    Args:
        sampler: an mta_probe Sampler (the trainer's live one, or one opened on a saved model).
        pool: an mta_probe VerifierPool.
        eval_set: the task, its problems and k.
        settings: protocol, sampling, seed.
        problems: a subset of the set's problems to score (default: all).
        on_done: receives the number of problems scored so far, after each sampler call.
    """
    protocol = get_protocol(settings.eval_protocol)
    sampling = eval_sampling(settings)
    todo = list(problems if problems is not None else eval_set.problems)
    seeds = [problem_seed(settings.dapo.seed, p.id) for p in todo]
    prompts = [eval_prompt(p, eval_set.verifier, protocol, settings.train_prompt) for p in todo]
    scored: dict[int, Scored] = {}
    for index, completions in draw(sampler, prompts, eval_set.k, sampling, seeds):
        problem = todo[index]
        items = [(scored_text(c.text, eval_set.verifier, protocol), problem) for c in completions]
        scored[index] = Scored(problem, seeds[index], list(completions), pool.verify(eval_set.verifier, items))
        if on_done is not None:
            on_done(len(scored))
    return [scored[index] for index in range(len(todo))]


def avg_at_k(scored: Sequence[Scored]) -> float:
    """Mean accuracy over every sample of every problem."""
    verdicts = [v for s in scored for v in s.verdicts]
    return sum(v.correct for v in verdicts) / len(verdicts) if verdicts else 0.0


def validate(sampler: Any, sets: Sequence[EvalSet], settings: TrainSettings) -> dict[str, float]:
    """avg@k of the sampler's current weights on every evaluation set (in-training validation).

    Returns:
        task -> avg@k, logged as `val/<task>` in metrics.jsonl.
    """
    from mta_probe.verify import VerifierPool

    with VerifierPool(workers=settings.verify_workers) as pool:
        return {s.task: avg_at_k(score_set(sampler, pool, s, settings)) for s in sets}
