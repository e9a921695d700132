"""Shao et al.'s fixed incorrect labels, which the math "incorrect" reward trains against.

Shao et al. (Spurious Rewards, `code/scripts/majority_voting_labeling.py` and
`relabel_data_based_on_mv_labels.py`) label each training problem once, before training: the
model samples 64 rollouts at temperature 1.0 and top_p 1.0, the most common answer is the
problem's label, and only problems whose label is WRONG are kept (`filter='incorrect'`). The
reward is then correctness against that fixed label. mta does the same with the model being
trained, the training prompt, and answers counted by the task's equivalence (math-verify; Shao
et al. counted raw strings); a problem that no rollout answers is dropped (Shao et al. kept it
with the empty label, which no answer can match).

Each problem's vote is appended to `incorrect_labels.jsonl` in the run directory as it is made,
so a stopped run resumes the labelling where it stopped and a finished run is not relabelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import RecordWriter, read_records
from mta_probe.sampling import SamplingSettings, problem_seed
from mta_probe.tasks import Problem
from mta_probe.verify import get_verifier
from mta_train.data import TrainingSet, training_prompt
from mta_train.majority import majority_vote
from mta_train.progress import ProgressCallback, reporter
from mta_train.reward import Group, verdicts
from mta_train.techniques import LABEL_KEY

LABELS_FILE = "incorrect_labels.jsonl"


def needs_fixed_labels(fixed_label: bool, verifier: str) -> bool:
    """Whether a run must label its problems first: a fixed-label variant on a math task."""
    return fixed_label and get_verifier(verifier).family == "math"


def label_one(sampler: Any, problem: Problem, verifier: str, samples: int,
              sampling: SamplingSettings, seed: int, prompt_style: str = "paper") -> dict[str, Any]:
    """Sample `samples` rollouts of one problem (its training prompt in `prompt_style`) and
    record its majority answer.

    Returns:
        {problem_id, label, label_correct, majority_ratio}; label None when nobody answered.
    """
    prompt = training_prompt(problem, verifier, prompt_style)
    completions = sampler.sample([prompt], samples, sampling, [problem_seed(seed, problem.id)])[0]
    group = Group(problem=problem, verifier=verifier, texts=tuple(c.text for c in completions))
    vote = majority_vote(group, verdicts(group))
    return {"problem_id": problem.id, "label": vote.label, "label_correct": vote.label_correct,
            "majority_ratio": vote.ratio}


def read_labels(path: Path) -> dict[str, dict[str, Any]]:
    """The votes already recorded (appended by `RecordWriter`: a line cut by a crash is not read)."""
    return {str(record["problem_id"]): record for record in read_records(path)}


def fixed_incorrect_labels(data: TrainingSet, sampler: Any, *, samples: int,
                           sampling: SamplingSettings, seed: int, run_dir: Path,
                           on_status: Callable[[str], None] | None = None,
                           prompt_style: str = "paper",
                           on_progress: ProgressCallback | None = None) -> TrainingSet:
    """The training set reduced to problems with a wrong majority answer, each labelled.

    Args:
        data: the training problems (true labels in `gold`, which stay there for logging).
        sampler: an mta_probe sampler of the initial model.
        samples: rollouts per problem (Shao et al.: 64).
        sampling: temperature, top_p and max tokens of those rollouts.
        seed: the run seed (each problem's rollouts are seeded by it and the problem id).
        run_dir: where `incorrect_labels.jsonl` is kept.
        on_status: one-line progress messages.
        prompt_style: the run's training prompt style (mta_train.settings.TRAIN_PROMPTS).
        on_progress: problems labelled so far ("labelling").

    Returns:
        The kept problems with `meta["incorrect_label"]` set.
    """
    path = run_dir / LABELS_FILE
    votes = read_labels(path)
    todo = [p for p in data.problems if p.id not in votes]
    if todo and on_status:
        on_status(f"labelling {len(todo)} problems with {samples} rollouts each (Shao et al.'s "
                  "fixed incorrect labels)")
    report = reporter(on_progress, "labelling", len(data.problems), "problems")
    if todo:
        report(len(data.problems) - len(todo))
    with RecordWriter(path) as out:  # whole, fsynced lines; a full disk is one DiskFullError
        for problem in todo:
            votes[problem.id] = label_one(sampler, problem, data.verifier, samples, sampling, seed,
                                          prompt_style)
            out.append([votes[problem.id]])
            report(len(votes))
    kept = tuple(replace(p, meta={**p.meta, LABEL_KEY: votes[p.id]["label"]})
                 for p in data.problems
                 if votes[p.id]["label"] is not None and not votes[p.id]["label_correct"])
    if not kept:
        raise BadInputError(f"none of the {len(data.problems)} problems of {data.task} has a wrong "
                            f"majority answer in {samples} rollouts, so none gets an incorrect "
                            "label (see incorrect_labels.jsonl); use --variant online")
    return replace(data, problems=kept)
