"""Code: HumanEval's check function, and LiveCodeBench's tests run by its harness's rules, in the sandbox."""

from __future__ import annotations

import functools
import json
import re
import secrets
from pathlib import Path

from mta_probe.problem import Problem
from mta_probe.verify import testrunner
from mta_probe.verify.answers import ANSWER_TAG, CODE_LANGUAGES, FENCED_BLOCK, defines, extract_code
from mta_probe.verify.sandbox import SandboxResult, run_program
from mta_probe.verify.verdict import NO_ANSWER, Verdict

CODE_TIMEOUT = 3.0  # seconds per program run; HumanEval's checks take milliseconds
# Seconds per LiveCodeBench test: its runner's --timeout default (lcb_runner/runner/parser.py).
LCB_TEST_TIMEOUT = 6.0


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
    """LiveCodeBench: every test of meta["tests"] passes, all run in one sandboxed process.

    The program is the last fenced block of the completion (LiveCodeBench's extraction), inside
    the first `<answer>` block when there is one. `mta_probe.verify.testrunner` runs its tests
    in order with a per-test timeout (meta["timeout"], default LCB_TEST_TIMEOUT) and stops at
    the first failure; the whole run gets LiveCodeBench's global budget on top,
    (timeout + 1) x tests + 5 seconds, for loops the per-test alarm cannot interrupt.
    """
    tagged = ANSWER_TAG.search(completion)
    code = last_code_block(tagged.group(1) if tagged else completion)
    if code is None or not code.strip():
        return Verdict(False, None, NO_ANSWER)
    tests = problem.meta["tests"]
    timeout = float(problem.meta.get("timeout", LCB_TEST_TIMEOUT))
    nonce = secrets.token_hex(16)
    spec = {"code": code, "fn_name": problem.meta.get("fn_name"), "tests": tests,
            "timeout": timeout, "nonce": nonce}
    result = run_program(_runner_source(), timeout=(timeout + 1) * len(tests) + 5,
                         stdin=json.dumps(spec))
    return _verdict(result, nonce, code, timeout)


def _verdict(result: SandboxResult, nonce: str, code: str, timeout: float) -> Verdict:
    """Read the test runner's last report line (see mta_probe.verify.testrunner)."""
    reports = [json.loads(line[len(nonce) + 1:]) for line in result.stdout_tail.splitlines()
               if line.startswith(nonce + " ")]
    last = reports[-1] if reports else {}
    if "passed" in last and result.ok:
        return Verdict(True, code)
    if "failed" in last:
        where = "" if last["failed"] is None else f"test {last['failed']}: "
        return Verdict(False, code, f"{where}{last['reason']}")
    if "test" in last:  # killed while running this test: its CPU limit, or the global budget
        reason = result.reason or "no result"
        if reason.startswith("timeout"):
            reason = f"timeout after {timeout}s"
        return Verdict(False, code, f"test {last['test']}: {reason}")
    return Verdict(False, code, f"loading the program: {result.reason or 'no result'}")


@functools.lru_cache(maxsize=1)
def _runner_source() -> str:
    return Path(testrunner.__file__).read_text(encoding="utf-8")


def last_code_block(text: str) -> str | None:
    """LiveCodeBench's extraction: the last fenced block (python or untagged); a final block left
    open (the completion hit its token limit) counts too."""
    blocks = [code for language, code in FENCED_BLOCK.findall(text)
              if language.lower() in CODE_LANGUAGES]
    if text.count("```") % 2 == 1:
        language, _, code = text[text.rfind("```") + 3:].partition("\n")
        if language.strip().lower() in CODE_LANGUAGES:
            blocks.append(code)
    return blocks[-1] if blocks else None
