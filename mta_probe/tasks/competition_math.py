"""Competition math: MATH-500, AIME 2024 and AMC 2023, read from the hub."""

from __future__ import annotations

from typing import Any

from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions
from mta_probe.tasks.problem import Problem, answer_text
from mta_probe.tasks.prompts import MATH_TEMPLATE


def math_problem(pid: str, problem: str, answer: Any, **meta: Any) -> Problem:
    """A math Problem: the boxed-answer zero-shot prompt around the published problem."""
    return Problem(id=pid, prompt=MATH_TEMPLATE.format(problem=problem), statement=problem,
                   gold=answer_text(answer), meta=dict(meta))


def math500_problem(row: dict[str, Any]) -> Problem:
    """HuggingFaceH4/MATH-500 row (problem, answer, unique_id, subject, level) to a Problem."""
    return math_problem(row["unique_id"], row["problem"], row["answer"],
                        subject=row.get("subject"), level=row.get("level"))


def aime24_problem(row: dict[str, Any]) -> Problem:
    """HuggingFaceH4/aime_2024 row (id, problem, answer, url) to a Problem."""
    return math_problem(str(row["id"]), row["problem"], row["answer"], url=row.get("url"))


def amc23_problem(row: dict[str, Any], index: int) -> Problem:
    """math-ai/amc23 row (id, question, answer, url) to a Problem; `index` replaces a missing id."""
    return math_problem(str(row.get("id", index)), row["question"], row["answer"],
                        url=row.get("url"))


def load_math500(options: TaskOptions) -> list[Problem]:
    """MATH-500 (test split, 500 problems) from the hub; `options` is unused."""
    return [math500_problem(r) for r in hub_rows("HuggingFaceH4/MATH-500", None, "test")]


def load_aime24(options: TaskOptions) -> list[Problem]:
    """AIME 2024 (its only split, train, 30 problems) from the hub; `options` is unused."""
    return [aime24_problem(r) for r in hub_rows("HuggingFaceH4/aime_2024", None, "train")]


def load_amc23(options: TaskOptions) -> list[Problem]:
    """AMC 2023 (test split, 40 problems) from the hub; `options` is unused."""
    return [amc23_problem(r, i) for i, r in enumerate(hub_rows("math-ai/amc23", None, "test"))]
