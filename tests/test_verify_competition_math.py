"""The math verifier (mta_probe/verify/competition_math.py): MATH's grading semantics on top of
math-verify, checked on hand-picked cases and against PRM800K's own `grade_answer`."""

from __future__ import annotations

import pytest
from benchdata import benchmark_dir
from mathforms import answer_forms, completions, grader_clone, official_grader, wrong_answers
from problems import problem

from mta_probe.tasks import TaskOptions, load_task
from mta_probe.verify import Verdict, verify_one
from mta_probe.verify.math_normalize import math_form


@pytest.mark.parametrize(("gold", "completion", "correct"), [
    # equivalent forms (math-verify, gold first)
    ("\\frac{1}{2}", "<answer>0.5</answer>", True),
    ("0.5", "\\boxed{\\frac12}", True),
    ("(3, \\frac{\\pi}{2})", "\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}", True),
    ("\\frac{14}{3}", "<think>\nlong\nwork\n</think>\n<answer>\n$\\dfrac{14}{3}$\n</answer>", True),
    ("5", "so \\boxed{x = 5}", True),
    ("\\text{Evelyn}", "The answer is Evelyn.", True),
    # MATH's normalization: dollars, units, text, degrees, separators, leading zeros
    ("\\$36", "\\boxed{36}", True),
    ("36", "\\boxed{\\$36}", True),
    ("\\$32,\\!348", "\\boxed{32,348}", True),
    ("\\$18.90", "\\boxed{18.9}", True),
    ("5.4 \\text{ cents}", "\\boxed{5.4}", True),
    ("864 \\mbox{ inches}^2", "\\boxed{864 \\text{ inches}^2}", True),
    ("90^\\circ", "\\boxed{90 degrees}", True),
    ("\\text{(C)}", "\\boxed{C}", True),
    ("10,\\!080", "\\boxed{10{,}080}", True),
    ("25", "\\boxed{025}", True),
    ("52_8", "\\boxed{52_{8}}", True),
    # mixed numbers are whole plus fraction, never a product
    ("137 \\frac{1}{2}", "\\boxed{137.5}", True),
    ("137 \\frac{1}{2}", "\\boxed{137 1/2}", True),
    ("137 \\frac{1}{2}", "\\boxed{68.5}", False),
    ("1\\frac{4}{5}", "\\boxed{\\frac{9}{5}}", True),
    # the last-number fallback is only in "math-lenient"
    ("72", "so she earns 72 dollars", False),
    # wrong answers, including the marks math-verify alone would drop
    ("10", "<answer>11</answer>", False),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}", False),
    ("72", "<answer>\n72 is wrong, 73\n</answer>", False),
    ("52_8", "\\boxed{52_9}", False),
    ("864 \\mbox{ inches}^2", "\\boxed{864 \\text{ inches}^3}", False),
    ("2", "\\boxed{2 \\text{ million}}", False),
    ("20", "\\boxed{0.2}", False),
])
def test_math(gold: str, completion: str, correct: bool) -> None:
    assert verify_one("math", completion, problem(gold)).correct is correct


def test_math_form_rewrites() -> None:
    assert math_form("\\$32,\\!348") == "32348"
    assert math_form("137 1/2") == "137+\\frac{1}{2}"
    assert math_form("-1 1/2") == "-(1+\\frac{1}{2})"
    assert math_form("\\left( 3, \\frac{\\pi}{2} \\right).") == "( 3, \\frac{\\pi}{2} )"
    assert math_form("y = 2x + 3") == "2x + 3"
    assert math_form("\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}") == "\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}"


def test_lenient_math_takes_the_last_number() -> None:
    assert verify_one("math-lenient", "so she earns 72 dollars", problem("72")).correct
    assert not verify_one("math-lenient", "so she earns 73 dollars", problem("72")).correct


def test_math_no_answer_reason() -> None:
    verdict = verify_one("math", "I do not know", problem("3"))
    assert verdict == Verdict(False, None, "no answer found")


def test_agrees_with_prm800k_grade_answer() -> None:
    """Every answer form PRM800K's grade_answer accepts for a sample of the real golds (every
    10th of MATH-500, all of AIME 2024 and AMC 2023), mta accepts; no wrong answer it rejects
    does mta accept. bench/math_grader.py runs all 570 golds (docs/verifiers.md)."""
    grade = official_grader(grader_clone())
    data = benchmark_dir("math500").parent
    golds = [p.gold for p in load_task("math500", options=TaskOptions(data_dir=data)).problems[::10]]
    golds += [p.gold for name in ("aime24", "amc23")
              for p in load_task(name, options=TaskOptions(data_dir=data)).problems]
    accepted, missed, false_accepts, wrong = 0, [], [], 0
    for gold in golds:
        for form in answer_forms(gold):
            if grade(form, gold):
                accepted += 1
                if not verify_one("math", completions(form)["boxed"], problem(gold)).correct:
                    missed.append((gold, form))
        for form in wrong_answers(gold):
            if not grade(form, gold):
                wrong += 1
                if verify_one("math", completions(form)["boxed"], problem(gold)).correct:
                    false_accepts.append((gold, form))
    assert accepted > 800 and wrong > 150
    assert not missed and not false_accepts
