"""The rules every verifier obeys (mta_probe/verify/rules.py): base-model continuations are cut
before scoring, and no verifier ever calls an empty answer correct."""

from __future__ import annotations

from pathlib import Path

import pytest

from mta_probe.tasks import Problem, TaskOptions, load_task
from mta_probe.tasks.competition_math import math_problem
from mta_probe.verify import VERIFIERS, Verdict, VerifierPool, verify_one
from mta_probe.verify.rules import answer_region, is_blank, judge

KOR_CLONE = Path(__file__).parent / "fixtures" / "kor"
POLAR = math_problem("test/precalculus/807.json", "Convert the point $(0,3)$ in rectangular "
                     "coordinates to polar coordinates.  Enter your answer in the form $(r,\\theta),$ "
                     "where $r > 0$ and $0 \\le \\theta < 2 \\pi.$", "\\left( 3, \\frac{\\pi}{2} \\right)")
SOLUTION = "We have $r = \\sqrt{0^2 + 3^2} = 3$ and $\\theta = \\frac{\\pi}{2}$, so the answer is " \
           "$\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$."
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@pytest.mark.parametrize("continuation", [
    "\n\nProblem:\nWhat is $2+3$?\n\nSolution: $2+3=5$, so the answer is $\\boxed{5}$.",
    "\n\nQuestion: Convert $(1,0)$ to polar coordinates.\nAnswer: $\\boxed{(1,0)}$",
    "\nQ: What is $1+1$?\nA: \\boxed{2}",
    "\n\n### Question\nFind $x$ if $x+1=2$. \\boxed{1}",
    f"\n\nCompute $\\dbinom{{8}}{{4}}$.\n\n{INSTRUCTION}\n\n$\\binom84=70$, so \\boxed{{70}}.",
])
def test_math_base_model_is_scored_on_its_first_answer(continuation: str) -> None:
    completion = SOLUTION + continuation
    assert verify_one("math", completion, POLAR).correct
    assert not VERIFIERS["math"].judge(completion, POLAR).correct  # the verifier alone reads the last box


def test_an_echoed_instruction_box_is_not_the_answer() -> None:
    echoed = f"{SOLUTION} {INSTRUCTION}"
    assert answer_region(echoed, POLAR.prompt, POLAR.statement) == SOLUTION + " "
    assert VERIFIERS["math"].judge(echoed, POLAR).correct  # extraction alone skips the empty box too
    assert verify_one("math", echoed, POLAR).correct


def test_a_restatement_at_the_start_is_not_a_continuation() -> None:
    completion = f"Problem: {POLAR.statement}\n\n{SOLUTION}"
    assert answer_region(completion, POLAR.prompt, POLAR.statement) == completion
    assert verify_one("math", completion, POLAR).correct


def test_an_indented_marker_is_not_a_continuation() -> None:
    code = "def f():\n    \"\"\"\n    Q: what does f return?\n    \"\"\"\n    return 1\n"
    assert answer_region(code, "Complete the following Python function.", "def f():") == code


def test_problem_text_is_never_a_marker() -> None:
    # the prompt's first line is the statement itself: a model quoting it mid-solution goes on
    completion = f"Restating:\n{POLAR.statement}\n{SOLUTION}"
    assert verify_one("math", completion, POLAR).correct


def test_kor_base_model_continuation() -> None:
    problem = load_task("kor-cf", options=TaskOptions(data_dir=KOR_CLONE)).problems[0]
    assert problem.gold == "[[B]]"
    completion = (" In Glimmerfall water flows uphill, so the answer is [[B]].\n\n### Question:\n"
                  "In Glimmerfall, do fish swim or fly?\nA. Swim\nB. Fly\n"
                  "Please wrap the option letter in [[ ]], e.g. [[A]].\n\n### Answer:\n[[A]]")
    assert verify_one("kor", completion, problem).correct
    preamble = problem.prompt.splitlines()[0]
    again = f"[[B]]\n\n{preamble}\n\n### Story Rule:\n... [[A]]"
    assert verify_one("kor", again, problem).correct


def test_kor_reads_no_loose_answer_when_the_continuation_has_its_strict_form() -> None:
    # KOR reads [...] only when no [[...]] is anywhere in the text: here it reads the continuation's
    # [[A]] and says wrong; mta reads no answer to this problem (and never the continuation's)
    problem = load_task("kor-cf", options=TaskOptions(data_dir=KOR_CLONE)).problems[0]
    continuation = "\n\n### Question:\nDo fish fly?\nAnswer with [[A]] or [[B]].\n\n### Answer:\n"
    loose = f"[B]{continuation}[[A]]"
    assert verify_one("kor", loose, problem) == Verdict(False, None, "no answer found")
    assert not verify_one("kor", f"[A]{continuation}[[B]]", problem).correct  # KOR: right, by luck
    assert verify_one("kor", "[B]", problem).correct  # no continuation: KOR reads [B]


def test_a_verifier_that_cuts_its_own_continuation_gets_the_whole_completion() -> None:
    def reads(completion: str, problem: Problem) -> Verdict:
        return Verdict(False, completion)

    problem = _empty_gold_problem("exact")
    completion = "[-]\n\n### Question:\nWhat next? [[x]]"
    assert judge(reads, completion, problem).answer == "[-]\n\n"
    assert judge(reads, completion, problem, whole=True).answer == completion
    assert [n for n, row in VERIFIERS.items() if row.cuts_own_continuation] == ["kor"]


def test_answer_tag_task_continuation(sum_problem: Problem) -> None:
    completion = ("<think>0 - 4 = -4</think> The answer is -4.\n\nQuestion: What is 3 + 4?\n"
                  "<think>3 + 4 = 7</think> The answer is 7.")
    assert verify_one("gym", completion, sum_problem).correct
    tagged = "<think>0-4</think> <answer>-4</answer>\n\nQuestion: 2+2?\n<answer>4</answer>"
    assert verify_one("gym", tagged, sum_problem).correct


EMPTY_COMPLETIONS = ["", "   \n", "<answer></answer>", "<think>no idea</think><answer> \n</answer>",
                     "\\boxed{}", "The answer is $\\boxed{ }$.", "[[ ]]", "[[]]", "<answer>$ $</answer>",
                     "<answer>\\, \\quad</answer>", "```python\n```"]


def _empty_gold_problem(verifier: str) -> Problem:
    """A problem whose gold is empty, with the meta each verifier needs: the case where an
    empty answer would otherwise match."""
    meta = {"gym": {"gym_entry": {"question": "", "answer": "",
                                  "metadata": {"source_dataset": "spell_backward"}}},
            "code": {"entry_point": "f", "code_prompt": "def f():\n"},
            "code-io": {"tests": [{"input": "", "output": ""}]}}
    gold = {"kor": "[[ ]]", "code": "def check(candidate):\n    pass\n"}.get(verifier, "")
    meta_key = verifier.removesuffix("-lenient")
    return Problem(id="e", prompt="p", statement="s", gold=gold, meta=meta.get(meta_key, {}))


@pytest.mark.parametrize("verifier", list(VERIFIERS))
def test_no_verifier_accepts_an_empty_answer(verifier: str) -> None:
    problem = _empty_gold_problem(verifier)
    # each code completion runs in the sandbox (~0.2 s): the three that reach it are enough
    sandboxed = verifier.startswith("code")
    for completion in ["", "<answer></answer>", "```python\n```"] if sandboxed else EMPTY_COMPLETIONS:
        assert not verify_one(verifier, completion, problem).correct, (verifier, completion)


def test_the_rule_overrules_verifiers_that_accept_empty_answers() -> None:
    # without the rule, these verifiers call an empty answer right
    assert VERIFIERS["exact"].judge("<answer></answer>", _empty_gold_problem("exact")).correct
    assert VERIFIERS["gym"].judge("<answer></answer>", _empty_gold_problem("gym")).correct
    # (code-io no longer does: LiveCodeBench's harness finds no program in an empty block)
    verdict = verify_one("exact", "<answer></answer>", _empty_gold_problem("exact"))
    assert verdict == Verdict(False, "", "empty answer")


def test_the_pool_applies_the_rules() -> None:
    problem = _empty_gold_problem("exact")
    with VerifierPool(workers=0) as pool:
        assert [v.correct for v in pool.verify("exact", [("<answer></answer>", problem),
                                                          ("<answer>x</answer>", problem)])] == [False, False]
        assert pool.verify("math", [(SOLUTION + "\n\nProblem: 1+1? \\boxed{2}", POLAR)])[0].correct


@pytest.mark.parametrize(("answer", "blank"), [
    (None, True), ("", True), (" \n\t", True), ("$ $", True), ("\\, \\; \\quad ~", True), ("{}", True),
    ("[[ ]]", True), ("<answer></answer>", True),
    ("0", False), ("[]", False), ("()", False), ("\\emptyset", False), ("{ }x", False),
])
def test_is_blank(answer: str | None, blank: bool) -> None:
    assert is_blank(answer) is blank


def test_judge_accepts_any_verifier_signature() -> None:
    def always(completion: str, problem: Problem) -> Verdict:
        return Verdict(True, completion.strip())

    problem = _empty_gold_problem("exact")
    assert judge(always, "42", problem).correct
    assert judge(always, "  ", problem) == Verdict(False, "", "empty answer")
