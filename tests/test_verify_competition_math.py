"""The math verifier (mta_probe/verify/competition_math.py): math-verify equivalence, lenient fallback."""

from __future__ import annotations

import pytest
from problems import problem

from mta_probe.verify import Verdict, verify_one


@pytest.mark.parametrize(("gold", "completion", "correct"), [
    # equivalent forms (math-verify, gold first)
    ("\\frac{1}{2}", "<answer>0.5</answer>", True),
    ("0.5", "\\boxed{\\frac12}", True),
    ("(3, \\frac{\\pi}{2})", "\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}", True),
    ("\\frac{14}{3}", "<think>\nlong\nwork\n</think>\n<answer>\n$\\dfrac{14}{3}$\n</answer>", True),
    ("5", "so \\boxed{x = 5}", True),
    # the text fallback; the last-number fallback is only in "math-lenient"
    ("72", "so she earns 72 dollars", False),
    ("\\text{Evelyn}", "The answer is Evelyn.", True),
    # wrong answers
    ("10", "<answer>11</answer>", False),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}", False),
    ("72", "<answer>\n72 is wrong, 73\n</answer>", False),
])
def test_math(gold: str, completion: str, correct: bool) -> None:
    assert verify_one("math", completion, problem(gold)).correct is correct


def test_lenient_math_takes_the_last_number() -> None:
    assert verify_one("math-lenient", "so she earns 72 dollars", problem("72")).correct
    assert not verify_one("math-lenient", "so she earns 73 dollars", problem("72")).correct


def test_math_no_answer_reason() -> None:
    verdict = verify_one("math", "I do not know", problem("3"))
    assert verdict == Verdict(False, None, "no answer found")
