"""What a progress display needs from a running probe."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeProgress:
    """What a progress display needs after each problem: counts so far and time spent."""

    samples_done: int
    samples_total: int
    tokens: int
    elapsed: float
    resumed: int
