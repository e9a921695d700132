"""Competition math: the extracted answer against the gold, with MATH's grading semantics.

An answer is correct when, after both sides are rewritten as MATH's graders rewrite them
(`mta_probe.verify.math_normalize.math_form`: `\\$`, units, `\\text{}`, degrees, thousands
separators, `x = `, mixed numbers, ...), either

1. the two forms are the same string (case and spacing aside): the string tests of MATH's
   `grade_answer` and of Hendrycks' `is_equiv`; or
2. math-verify finds them equivalent (`verify(gold, answer)`, gold first): the symbolic test,
   done by math-verify instead of PRM800K's sympy call because it parses LaTeX (intervals,
   matrices, sets, `\\pi`, `\\sqrt{}`) that sympy's text parser cannot.

Why not math-verify on the raw text, or-ed with MATH's grader: raw math-verify both misses right
answers (`\\$36` is no number to it) and accepts wrong ones (it reads `137 1/2` as 137 x 1/2, so
it accepts 68.5), so mta never hands it text MATH's normalization has not seen. Two things
math-verify drops and MATH keeps must agree when the answer writes them: a base subscript
(`52_9` is not `52_8`) and the power of a unit (`864 \\text{ inches}^3` is not an area).
`bench/math_grader.py` measures the agreement with PRM800K's `grade_answer` (docs/verifiers.md).
"""

from __future__ import annotations

import threading
from typing import Any

from mta_probe.problem import Problem
from mta_probe.verify.answers import extract_answer
from mta_probe.verify.math_normalize import math_form, text_key, unread_marks
from mta_probe.verify.verdict import NO_ANSWER, Verdict

MATH_VERIFY_TIMEOUT = 5  # math-verify's own SIGALRM budget, per parse and per verify


def verify_math(completion: str, problem: Problem, *, lenient: bool = False) -> Verdict:
    """MATH-normalized string equality, else math-verify equivalence of the normalized forms."""
    answer = extract_answer(completion, numeric_fallback=lenient)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    return Verdict(math_equivalent(answer, problem.gold), answer)


def math_equivalent(answer: str, gold: str) -> bool:
    """Whether `answer` states `gold`, by the two tests of the module docstring."""
    ours, theirs = math_form(answer), math_form(gold)
    written, expected = unread_marks(answer), unread_marks(gold)
    if not text_key(ours) or any(mine and mine != want for mine, want in zip(written, expected)):
        return False
    if text_key(ours) == text_key(theirs):
        return True
    from math_verify import verify  # sympy-heavy: imported on first use

    parsed_gold, parsed_answer = _math_parse(theirs), _math_parse(ours)
    seconds = MATH_VERIFY_TIMEOUT if _in_main_thread() else None
    return bool(parsed_gold and parsed_answer
                and verify(parsed_gold, parsed_answer, timeout_seconds=seconds))


def _math_parse(form: str) -> list[Any]:
    """math-verify's parse of a `math_form` (which has lost its `$`), put back in `$...$`."""
    from math_verify import parse

    seconds = MATH_VERIFY_TIMEOUT if _in_main_thread() else None
    return parse(f"${form}$", parsing_timeout=seconds) or parse(form, parsing_timeout=seconds)


def _in_main_thread() -> bool:
    """math-verify's timeouts use SIGALRM, which only the main thread may set.

    Off the main thread nothing here bounds a verification, and some hold the GIL for good
    (`9^{9^{9^{9}}}` against `1` never returns): a caller in a thread goes through
    `mta_probe.verify.verify_bounded` (or a `VerifierPool`), whose workers verify in their main
    thread, with this timeout armed, and are killed past theirs.
    """
    return threading.current_thread() is threading.main_thread()


def verify_math_lenient(completion: str, problem: Problem) -> Verdict:
    """"math", falling back to the last number when no answer is marked."""
    return verify_math(completion, problem, lenient=True)
