"""Code: HumanEval's check function, and LiveCodeBench's input/output tests, run in the sandbox."""

from __future__ import annotations

import json
import re
import secrets

from mta_probe.tasks import Problem
from mta_probe.verify.answers import ANSWER_TAG, defines, extract_code
from mta_probe.verify.sandbox import run_program
from mta_probe.verify.verdict import NO_ANSWER, Verdict

CODE_TIMEOUT = 3.0  # seconds per program run; HumanEval's checks take milliseconds
# LiveCodeBench prepends these to every candidate program; models rely on them.
CODE_IO_HEADER = (
    "from typing import *\nfrom collections import *\nfrom itertools import *\n"
    "from functools import *\nfrom heapq import *\nfrom bisect import *\n"
    "import collections, heapq, itertools, functools, bisect, math, re, string, sys\n"
    "sys.setrecursionlimit(10**6)\n"
)
CALL_HARNESS = """
import json as _json, sys as _sys
_args = [_json.loads(_line) for _line in _sys.stdin.read().splitlines() if _line.strip()]
_cls = globals().get("Solution")
_fn = globals().get({name!r})
if _cls is not None and hasattr(_cls, {name!r}):
    _fn = getattr(_cls(), {name!r})
print(_json.dumps(_fn(*_args)))
"""


def verify_code(completion: str, problem: Problem) -> Verdict:
    """HumanEval: build the candidate program, append the tests, run `check(entry_point)`."""
    entry = problem.meta["entry_point"]
    program = humaneval_program(completion, problem.meta["code_prompt"], entry)
    timeout = float(problem.meta.get("timeout", CODE_TIMEOUT))
    # A candidate that exits with status 0 before the tests would pass on the exit status alone;
    # the tests must also have reached their end, which prints a number the candidate never sees.
    nonce = secrets.token_hex(16)
    source = f"{program}\n\n{problem.gold}\n\ncheck({entry})\nprint({nonce!r})\n"
    result = run_program(source, timeout=timeout)
    if result.ok and not result.stdout_tail.rstrip().endswith(nonce):
        return Verdict(False, program, "sandbox: exited before the tests ran")
    return Verdict(result.ok, program, result.reason)


def humaneval_program(completion: str, prompt: str, entry_point: str) -> str:
    """The candidate program a completion stands for.

    A fenced block (or a bare text) that defines the entry point is used whole, after the
    prompt's preamble (imports and helper functions before the entry point's `def`); anything
    else is taken as the body that continues the prompt.

    Args:
        completion: the model's text (only the first `<answer>` block if it has one).
        prompt: the HumanEval prompt (signature and docstring).
        entry_point: the function under test.

    Returns:
        Python source without the tests.
    """
    tagged = ANSWER_TAG.search(completion)
    text = tagged.group(1) if tagged else completion
    code = extract_code(text, entry_point)
    if code is None:
        code = text
    if defines(code, entry_point):
        return _preamble(prompt, entry_point) + code
    return prompt + code


def _preamble(prompt: str, entry_point: str) -> str:
    """Everything in the prompt before the entry point's `def` line."""
    found = re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", prompt, re.MULTILINE)
    return prompt[: found.start()] if found else ""


def verify_code_io(completion: str, problem: Problem) -> Verdict:
    """LiveCodeBench: every stdin/stdout case (or call case with meta["fn_name"]) passes."""
    tagged = ANSWER_TAG.search(completion)
    text = tagged.group(1) if tagged else completion
    code = extract_code(text)
    if code is None:
        return Verdict(False, None, NO_ANSWER)
    name = problem.meta.get("fn_name")
    source = CODE_IO_HEADER + code + (CALL_HARNESS.format(name=name) if name else "")
    timeout = float(problem.meta.get("timeout", CODE_TIMEOUT))
    for number, case in enumerate(problem.meta["tests"]):
        keep = 2 * len(case["output"].encode()) + 1024  # the whole output when it can match
        result = run_program(source, timeout=timeout, stdin=case["input"], tail_bytes=keep)
        if not result.ok:
            return Verdict(False, code, f"test {number}: {result.reason}")
        if not _same_output(result.stdout_tail, case["output"], call=bool(name)):
            return Verdict(False, code, f"test {number}: wrong output")
    return Verdict(True, code)


def _same_output(actual: str, expected: str, *, call: bool) -> bool:
    """Call cases compare JSON values; stdin cases compare right-stripped non-empty lines."""
    if call:
        try:
            return json.loads(actual) == json.loads(expected)
        except json.JSONDecodeError:
            return actual.strip() == expected.strip()
    lines = [line.rstrip() for line in actual.strip().splitlines()]
    return lines == [line.rstrip() for line in expected.strip().splitlines()]
