"""Faults injected into a forked `mta` command (tests/zygote.py), by name, before it runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def _slow_engine() -> None:
    """Every sampling call of the hf backend first waits 0.3 s: a run long enough to interrupt."""
    from mta_probe.sampling.hf import HFSampler

    original = HFSampler.sample

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        return original(self, *args, **kwargs)

    HFSampler.sample = slow


def _slow_report() -> None:
    """Reading run directories for a report takes 5 s: a report long enough to interrupt."""
    import mta_report.reports as reports

    original = reports.load_runs

    def slow(*args, **kwargs):
        time.sleep(5)
        return original(*args, **kwargs)

    reports.load_runs = slow


FAULTS: dict[str, Callable[[], None]] = {
    "slow-engine": _slow_engine,
    "slow-report": _slow_report,
}
