"""What a train run trains on: the problems, their training prompts and the order of batches.

The paper trains every task with the SynLogic format instruction (`<think>` then `<answer>`,
Appendix B) because the reward checks that format. Tasks whose probe prompt asks for something
else (math asks for `\\boxed{}`) get the format instruction around the bare statement instead;
code tasks keep their own prompt (their "format" is a fenced block, see reward.py).

`TRAIN_PROMPTS` names the two choices: "paper" (the above) and "task", the task's own prompt as
`mta probe passk` sends it. "task" is not the paper's setting: it is for a model that cannot
follow the think/answer instruction (the embedded 135M model), trained and evaluated (with the
"probe" evaluation protocol) on the prompt its alignment was measured with.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mta_probe.errors import BadInputError
from mta_probe.tasks import LoadedTask, Problem, load_task
from mta_probe.tasks import ANSWER_TAG_TEMPLATE
from mta_probe.verify import get_verifier
from mta_train.settings import TrainSettings
from mta_train.technique import Technique


@dataclass(frozen=True)
class TrainingSet:
    """The problems a run draws its batches from.

    Attributes:
        task: the task they come from (the first evaluation task for TTRL).
        verifier: the task's verifier.
        problems: the problems; for one-shot, only the chosen example(s).
    """

    task: str
    verifier: str
    problems: tuple[Problem, ...]


def training_prompt(problem: Problem, verifier: str, style: str = "paper") -> str:
    """The user message a rollout answers, in `style` (a TRAIN_PROMPTS key; module docstring)."""
    family = get_verifier(verifier).family
    if style == "task" or family == "code" or "<answer>" in problem.prompt:
        return problem.prompt
    if family == "math":
        return ANSWER_TAG_TEMPLATE.format(question=problem.statement)
    return ANSWER_TAG_TEMPLATE.format(question=problem.prompt)


def training_set(settings: TrainSettings, technique: Technique) -> TrainingSet:
    """Load the problems `technique` trains on (see Technique.data).

    Raises:
        BadInputError: a one-shot id that is not in the task, or an empty task.
    """
    if technique.data == "eval":
        loaded = load_task(settings.evaluation[0], limit=settings.eval_count,
                           options=settings.task_options)
    else:
        loaded = load_task(settings.task, limit=settings.train_limit, options=settings.task_options)
    if not loaded.problems:
        raise BadInputError(f"task {loaded.name} has no problems")
    problems = tuple(loaded.problems)
    if technique.data == "one-shot":
        problems = _one_shot(loaded, settings.one_shot, settings.dapo.seed)
    return TrainingSet(task=loaded.name, verifier=loaded.verifier, problems=problems)


def _one_shot(loaded: LoadedTask, ids: tuple[str, ...] | None, seed: int) -> tuple[Problem, ...]:
    if not ids:
        return (random.Random(seed).choice(loaded.problems),)
    by_id = {p.id: p for p in loaded.problems}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise BadInputError(f"one-shot example {missing[0]!r} is not a problem id of {loaded.name}")
    return tuple(by_id[i] for i in ids)


def prompt_batch(problems: tuple[Problem, ...], index: int, size: int, seed: int) -> list[Problem]:
    """The `index`-th batch of `size` problems of an endless shuffled stream.

    Each pass over the data is shuffled with (seed, pass number), so batch `index` is the same
    whenever it is asked for: a resumed run draws what the interrupted one would have. With
    fewer problems than `size` (one-shot), the problems repeat to fill the batch.
    """
    batch = []
    for position in range(index * size, (index + 1) * size):
        epoch, offset = divmod(position, len(problems))
        order = list(range(len(problems)))
        random.Random(f"{seed}:{epoch}").shuffle(order)
        batch.append(problems[order[offset]])
    return batch
