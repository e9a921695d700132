"""KOR-Bench: the answer in `[[...]]` against the gold."""

from __future__ import annotations

import re

from mta_probe.tasks import Problem
from mta_probe.verify.answers import extract_bracketed
from mta_probe.verify.text import normalize_answer
from mta_probe.verify.verdict import NO_ANSWER, Verdict


def verify_kor(completion: str, problem: Problem) -> Verdict:
    """KOR-Bench: the last `[[...]]` of the completion against the gold, both normalized."""
    answer = extract_bracketed(completion)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    gold = problem.gold.strip()
    if gold.startswith("[[") and gold.endswith("]]"):
        gold = gold[2:-2]
    return Verdict(_kor_form(answer) == _kor_form(gold), answer)


def _kor_form(text: str) -> str:
    """Normalized, with spaces around commas removed ([[1, 2]] equals [[1,2]])."""
    return re.sub(r"\s*,\s*", ",", normalize_answer(text))
