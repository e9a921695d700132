"""A run's sample records (mta_probe/collect/records.py): the fields a record holds, which
indices a run already has, which failed generations are still owed, and the refusal of prompts
that fill the context window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mta_probe.collect import (
    FAILURES_FILE,
    SAMPLES_FILE,
    failed_generations,
    failure_records,
    refuse_beyond_context,
    sample_records,
    sampled_outcomes,
)
from mta_probe.errors import BadInputError
from mta_probe.sampling import Completion
from mta_probe.tasks import Problem
from mta_probe.verify import Verdict
from mta_probe.sampling import Sampler


def _problem(pid: str, prompt: str = "q") -> Problem:
    return Problem(id=pid, prompt=prompt, statement=prompt, gold="4")


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_sample_record_carries_the_verdict_and_the_generation() -> None:
    scored = [(3, Completion("x = 4", 5, "stop")), (7, Completion("five", 9, "length"))]
    verdicts = [Verdict(True, "4"), Verdict(False, None, "no answer found")]
    records = sample_records(_problem("p1"), scored, verdicts, seed=42)
    assert records == [
        {"problem_id": "p1", "sample_index": 3, "completion": "x = 4", "answer": "4", "correct": True,
         "tokens": 5, "finish_reason": "stop", "reason": None, "seed": 42},
        {"problem_id": "p1", "sample_index": 7, "completion": "five", "answer": None, "correct": False,
         "tokens": 9, "finish_reason": "length", "reason": "no answer found", "seed": 42}]
    failed = failure_records(_problem("p1"), [(2, Completion("", 0, "abort"))], seed=42)
    assert [(r["sample_index"], r["finish_reason"], r["seed"]) for r in failed] == [(2, "abort", 42)]


def test_the_first_record_of_an_index_counts(tmp_path: Path) -> None:
    path = tmp_path / SAMPLES_FILE
    _write(path, [{"problem_id": "a", "sample_index": 0, "correct": True},
                  {"problem_id": "a", "sample_index": 0, "correct": False},  # a duplicate from a kill
                  {"problem_id": "a", "sample_index": 2, "correct": False},
                  {"problem_id": "b", "sample_index": 1, "correct": True}])
    assert sampled_outcomes(path) == {"a": {0: True, 2: False}, "b": {1: True}}


def test_a_failure_drawn_again_since_is_no_longer_owed(tmp_path: Path) -> None:
    _write(tmp_path / FAILURES_FILE, [
        {"problem_id": "a", "sample_index": 0, "finish_reason": "abort"},   # scored later
        {"problem_id": "a", "sample_index": 1, "finish_reason": "abort"},
        {"problem_id": "b", "sample_index": 0, "finish_reason": "repetition"},
        {"problem_id": "b", "sample_index": 0, "finish_reason": "error"}])  # the latest reason counts
    owed = failed_generations(tmp_path, {"a": {0: True}})
    assert dict(owed) == {"abort": 1, "error": 1}


class _Window(Sampler):
    context_window = 8

    def encode(self, prompt: str) -> list[int]:
        return list(range(len(prompt.split())))


def test_prompts_that_fill_the_window_are_named_before_sampling() -> None:
    problems = [_problem("short", "a b"), _problem("long", " ".join("w" * 8)), _problem("longer", "w " * 20)]
    with pytest.raises(BadInputError, match=r"2 prompts fill the model's context window of 8 tokens.*"
                                            r"long \(8 tokens\), longer \(20 tokens\)"):
        refuse_beyond_context(_Window(), problems)
    refuse_beyond_context(_Window(), problems[:1])  # fits: no error
    refuse_beyond_context(Sampler(), problems)  # a sampler that cannot tell refuses nothing
