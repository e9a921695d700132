"""Competition math: mathematical equivalence of the extracted answer and the gold, by math-verify."""

from __future__ import annotations

import threading
from typing import Any

from mta_probe.tasks import Problem
from mta_probe.verify.answers import extract_answer
from mta_probe.verify.text import normalize_answer
from mta_probe.verify.verdict import NO_ANSWER, Verdict

MATH_VERIFY_TIMEOUT = 5  # math-verify's own SIGALRM budget, per parse and per verify


def verify_math(completion: str, problem: Problem, *, lenient: bool = False) -> Verdict:
    """Mathematical equivalence by math-verify (gold first), else normalized string equality."""
    answer = extract_answer(completion, numeric_fallback=lenient)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    from math_verify import verify  # sympy-heavy: imported on first use

    gold, predicted = _math_parse(problem.gold), _math_parse(answer)
    seconds = MATH_VERIFY_TIMEOUT if _in_main_thread() else None
    if gold and predicted and verify(gold, predicted, timeout_seconds=seconds):
        return Verdict(True, answer)
    return Verdict(normalize_answer(answer) == normalize_answer(problem.gold), answer)


def _math_parse(text: str) -> list[Any]:
    """math-verify's parse, with the text put in `$...$` when it carries no delimiters."""
    from math_verify import parse

    seconds = MATH_VERIFY_TIMEOUT if _in_main_thread() else None
    delimited = any(mark in text for mark in ("$", "\\(", "\\[", "\\boxed"))
    parsed = parse(text if delimited else f"${text}$", parsing_timeout=seconds)
    return parsed or parse(text, parsing_timeout=seconds)


def _in_main_thread() -> bool:
    """math-verify's timeouts use SIGALRM, which only the main thread may set."""
    return threading.current_thread() is threading.main_thread()


def verify_math_lenient(completion: str, problem: Problem) -> Verdict:
    """"math", falling back to the last number when no answer is marked."""
    return verify_math(completion, problem, lenient=True)
