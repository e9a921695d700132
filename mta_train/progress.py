"""What a progress display needs from the long phases of a train run.

A train run spends its time in a few phases: labelling (Shao et al.'s fixed labels), the
evaluations before and after training, and the training steps. Each reports its count as it
goes through an `on_progress` callback, so the command line can draw one bar per phase with an
estimate of the time left; the library itself never draws anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainProgress:
    """One phase's count so far.

    Attributes:
        phase: what runs, as a display names it ("before: arith-quick", "training", "labelling").
        done: units finished (a resumed phase starts above 0).
        total: units in the phase.
        unit: what is counted ("problems", "steps").
    """

    phase: str
    done: int
    total: int
    unit: str


ProgressCallback = Callable[[TrainProgress], None]


def reporter(on_progress: ProgressCallback | None, phase: str, total: int,
             unit: str) -> Callable[[int], None]:
    """A function of the count done that reports `phase` to `on_progress` (a no-op without one)."""
    def report(done: int) -> None:
        if on_progress is not None:
            on_progress(TrainProgress(phase, done, total, unit))
    return report
