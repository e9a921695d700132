"""Shao et al.'s fixed incorrect labels (mta_train/labels.py): majority by equivalence, only
wrong majorities kept, recorded as they are made, never remade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mta_probe.errors import BadInputError
from mta_probe.sampling import Completion, Sampler, SamplingSettings
from mta_probe.tasks import Problem
from mta_train.data import TrainingSet
from mta_train.labels import LABELS_FILE, fixed_incorrect_labels, needs_fixed_labels
from mta_train.techniques import get_technique


def tagged(answer: str) -> str:
    return f"<think>\nwork\n</think>\n<answer>{answer}</answer>"


ANSWERS = {  # what the "model" says for each problem
    "wrong-majority": ["3", "6/2", "1/2", "3"],      # 3 (and 6/2 = 3) beats the right 1/2
    "right-majority": ["0.5", "1/2", "3", "0.5"],    # the majority is right: dropped
    "silent": ["", "", "", ""],                      # nobody answers: dropped
}


class FakeSampler(Sampler):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def sample(self, prompts, n, settings, seeds):
        (prompt,) = prompts
        pid = next(p for p in ANSWERS if f"[{p}]" in prompt)
        self.asked.append(pid)
        return [[Completion(text=tagged(a), tokens=3, finish_reason="stop") for a in ANSWERS[pid][:n]]]


def problems() -> tuple[Problem, ...]:
    return tuple(Problem(id=pid, prompt=f"p [{pid}]", statement=f"What is half? [{pid}]", gold="1/2")
                 for pid in ANSWERS)


def label(tmp_path: Path, sampler: FakeSampler) -> TrainingSet:
    data = TrainingSet(task="half", verifier="math", problems=problems())
    return fixed_incorrect_labels(data, sampler, samples=4, sampling=SamplingSettings(), seed=0,
                                  run_dir=tmp_path)


def test_only_wrong_majorities_are_kept_and_labelled(tmp_path: Path) -> None:
    labelled = label(tmp_path, FakeSampler())
    assert [p.id for p in labelled.problems] == ["wrong-majority"]
    assert labelled.problems[0].meta["incorrect_label"] == "3"
    assert labelled.problems[0].gold == "1/2"  # the true label stays for logging accuracy
    votes = [json.loads(line) for line in (tmp_path / LABELS_FILE).open()]
    assert [(v["problem_id"], v["label"], v["label_correct"]) for v in votes] == [
        ("wrong-majority", "3", False), ("right-majority", "0.5", True), ("silent", None, False)]
    assert votes[0]["majority_ratio"] == 0.75


def test_labels_are_read_back_not_remade(tmp_path: Path) -> None:
    label(tmp_path, FakeSampler())
    again = FakeSampler()
    assert [p.meta["incorrect_label"] for p in label(tmp_path, again).problems] == ["3"]
    assert again.asked == []


def test_no_wrong_majority_is_one_readable_error(tmp_path: Path) -> None:
    data = TrainingSet(task="half", verifier="math",
                       problems=tuple(p for p in problems() if p.id != "wrong-majority"))
    with pytest.raises(BadInputError, match="--variant online"):
        fixed_incorrect_labels(data, FakeSampler(), samples=4, sampling=SamplingSettings(),
                               seed=0, run_dir=tmp_path)


def test_only_math_incorrect_with_a_fixed_label_variant_is_labelled() -> None:
    incorrect = get_technique("incorrect")
    assert needs_fixed_labels(incorrect.variant("paper").fixed_label, "math")
    assert needs_fixed_labels(incorrect.variant("shao").fixed_label, "math")
    assert not needs_fixed_labels(incorrect.variant("online").fixed_label, "math")
    assert not needs_fixed_labels(incorrect.variant("paper").fixed_label, "kor")
    assert not needs_fixed_labels(get_technique("vote").variant("paper").fixed_label, "math")
