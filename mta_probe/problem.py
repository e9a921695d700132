"""What a task hands to a probe and a verifier judges: one evaluation item, and its gold answer as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One evaluation item.

    Attributes:
        id: stable identifier within its task (survives --limit and reloading).
        prompt: the zero-shot user message sent to the model (statement plus answer instruction).
        statement: the bare problem text, as published; what the contamination probe truncates.
        gold: the reference the verifier checks against (an answer, or a test program for code).
        num_choices: size of the finite answer set when there is one (multiple choice, yes/no),
            else None; gives the chance-level pass@k.
        meta: whatever else the task's verifier needs (entry point, a reasoning-gym entry, ...).
            Must be JSON-serialisable and picklable: it travels to verifier worker processes.
    """

    id: str
    prompt: str
    statement: str
    gold: str
    num_choices: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def answer_text(value: Any) -> str:
    """A gold answer as text; integral floats (27.0 in some hub copies) lose the '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
