"""Faults injected into a forked `mta` command (tests/zygote.py), by name, before it runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def _delay(owner: object, name: str, seconds: float) -> None:
    """Make `owner.name` wait `seconds` before each call (a method stays a method)."""
    original = getattr(owner, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return original(*args, **kwargs)

    setattr(owner, name, slow)


def _slow_engine() -> None:
    """Every sampling call of the hf backend first waits 0.3 s: a run long enough to interrupt."""
    from mta_probe.sampling.hf import HFSampler

    _delay(HFSampler, "sample", 0.3)


def _paced_engine() -> None:
    """Every sampling call of the hf backend first waits 0.05 s: on a loaded machine a test that
    polls a run's records still sees them grow, instead of finding the run already finished."""
    from mta_probe.sampling.hf import HFSampler

    _delay(HFSampler, "sample", 0.05)


def _slow_kl() -> None:
    """The KL probe's greedy decoding of each batch first waits 0.5 s."""
    import mta_probe.kl as kl

    _delay(kl, "greedy_response_ids", 0.5)


def _cuda_oom_on_third_call() -> None:
    """The hf backend samples one problem per call and the third call raises CUDA's
    out-of-memory error (two problems in)."""
    import torch

    from mta_probe.sampling.hf import HFSampler

    original, calls = HFSampler.sample, []
    HFSampler.prompts_per_call = property(lambda self: 1)  # one problem per call, as on a GPU

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB "
                                              "total capacity; 77.90 GiB already allocated)")
        return original(self, *args, **kwargs)

    HFSampler.sample = failing


def _cuda_oom_on_load() -> None:
    """Loading the model on the hf backend raises CUDA's out-of-memory error."""
    import torch

    from mta_probe.sampling.hf import HFSampler

    def failing(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 14.00 GiB")

    HFSampler.__init__ = failing


def _slow_report() -> None:
    """Reading run directories for a report takes 5 s: a report long enough to interrupt."""
    import mta_report.reports as reports

    _delay(reports, "load_runs", 5)


FAULTS: dict[str, Callable[[], None]] = {
    "slow-engine": _slow_engine,
    "paced-engine": _paced_engine,
    "slow-kl": _slow_kl,
    "cuda-oom-sampling": _cuda_oom_on_third_call,
    "cuda-oom-loading": _cuda_oom_on_load,
    "slow-report": _slow_report,
}
