"""Text verifiers (mta_probe/verify/text.py): exact, normalized, multiple choice."""

from __future__ import annotations

import pytest
from problems import problem

from mta_probe.verify import verify_one
from mta_probe.verify.text import normalize_answer


@pytest.mark.parametrize(("verifier", "gold", "completion", "correct"), [
    ("exact", "42", "<answer> 42 </answer>", True),
    ("exact", "Yes", "<answer>yes</answer>", False),
    ("normalized", "Yes", "<answer>yes</answer>", True),
    ("normalized", "\\text{Yes}", 'Answer: "yes."', True),
    ("normalized", "New  York", "The answer is new york", True),
    ("normalized", "New York", "The answer is York", False),
])
def test_exact_and_normalized(verifier: str, gold: str, completion: str, correct: bool) -> None:
    assert verify_one(verifier, completion, problem(gold)).correct is correct


@pytest.mark.parametrize(("text", "expected"), [
    ("\\text{(B)}", "(b)"),
    ("  'Hello   World'. ", "hello world"),
    ("$x$", "x"),
])
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected
    assert normalize_answer(expected) == expected


@pytest.mark.parametrize(("gold", "completion", "choices", "correct"), [
    ("(B)", "The answer is (B)", None, True),
    ("B", "<answer>A</answer>", None, False),
    ("B", "<answer>blue</answer>", ["red", "blue"], True),  # option text maps to its letter
    ("blue", "The answer is (B)", ["red", "blue"], True),  # so does a text gold
    ("red", "<answer>blue</answer>", ["red", "blue"], False),
    ("Yes", "<answer>yes</answer>", None, True),  # free-text gold: compared as text
])
def test_choice(gold: str, completion: str, choices: list[str] | None, correct: bool) -> None:
    meta = {"choices": choices} if choices else {}
    assert verify_one("choice", completion, problem(gold, **meta)).correct is correct
