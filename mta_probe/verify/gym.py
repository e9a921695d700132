"""reasoning-gym: each dataset's own `score_answer`."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.problem import Problem
from mta_probe.verify.answers import extract_answer
from mta_probe.verify.verdict import NO_ANSWER, Verdict

NUMERIC = re.compile(r"\s*-?\d[\d,]*(?:\.\d+)?\s*")


def verify_gym(completion: str, problem: Problem, *, lenient: bool = False) -> Verdict:
    """reasoning-gym: the dataset's own `score_answer(answer, entry)`; correct iff score >= 1."""
    entry = problem.meta.get("gym_entry")
    if not isinstance(entry, dict) or "metadata" not in entry:
        raise BadInputError(f"problem {problem.id}: meta['gym_entry'] is not a reasoning-gym entry")
    numeric = NUMERIC.fullmatch(str(entry.get("answer", ""))) is not None
    answer = extract_answer(completion, numeric_fallback=lenient and numeric)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    name = entry["metadata"].get("source_dataset") or problem.meta.get("gym_dataset")
    score = _gym_scorer(name)(answer, entry)
    return Verdict(score >= 1.0, answer)


@functools.lru_cache(maxsize=None)
def _gym_scorer(name: str) -> Callable[[str | None, dict[str, Any]], float]:
    """One scorer per dataset per process: building a dataset object can be slow."""
    import reasoning_gym

    try:
        return reasoning_gym.get_score_answer_fn(name)
    except ValueError as error:
        raise BadInputError(f"unknown reasoning-gym dataset {name!r}") from error


def verify_gym_lenient(completion: str, problem: Problem) -> Verdict:
    """"gym", falling back to the last number when no answer is marked and the gold is a number."""
    return verify_gym(completion, problem, lenient=True)
