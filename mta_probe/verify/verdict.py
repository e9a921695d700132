"""What a verifier hands back for one completion."""

from __future__ import annotations

from dataclasses import dataclass

NO_ANSWER = "no answer found"


@dataclass(frozen=True)
class Verdict:
    """A verifier's judgement of one completion.

    Attributes:
        correct: True only when the extracted answer matches the gold.
        answer: the extracted answer (None when nothing could be extracted).
        reason: why it is wrong when that is not simply a mismatch: "no answer found",
            "timeout after 5.0s", "crashed: MemoryError", ... None otherwise.
    """

    correct: bool
    answer: str | None
    reason: str | None = None
