"""verify_bounded: killable verification from any thread, one lent worker per thread."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem
from mta_probe.verify import Verdict, Verifier, verify_bounded
from mta_probe.verify.bounded import PoolLender


# Top-level so that the workers can unpickle it by reference.
def pid_after_nap(completion: str, problem: Problem) -> Verdict:
    """Naps `completion` seconds, then answers with its process id."""
    time.sleep(float(completion))
    return Verdict(True, str(os.getpid()))


TABLE = {"nap": Verifier(pid_after_nap)}
ITEM = Problem(id="p", prompt="p", statement="s", gold="x")


def test_each_thread_verifies_in_its_own_worker_and_past_the_limit_waits() -> None:
    lender = PoolLender(limit=2, table=TABLE)
    barrier = threading.Barrier(3)

    def one(seconds: str) -> tuple[str, float]:
        barrier.wait()
        start = time.monotonic()
        (verdict,) = lender.verify("nap", [(seconds, ITEM)], timeout=30.0)
        return str(verdict.answer), time.monotonic() - start

    try:
        lender.verify("nap", [("0", ITEM)], timeout=30.0)  # one worker started before the race
        with ThreadPoolExecutor(3) as threads:
            results = list(threads.map(one, ["1.5", "1.5", "0"]))
    finally:
        lender.close()
    pids = {pid for pid, _ in results}
    assert len(pids) == 2  # two workers for three threads: the limit holds
    assert str(os.getpid()) not in pids  # never in this process
    # the third thread waited for a lent worker (1.5 s), it did not start a third one
    assert max(seconds for _, seconds in results) >= 1.4


def test_a_hung_item_costs_its_timeout_and_the_next_call_is_served() -> None:
    lender = PoolLender(limit=1, table=TABLE)
    try:
        start = time.monotonic()
        hung, quick = lender.verify("nap", [("60", ITEM), ("0", ITEM)], timeout=0.5)
        elapsed = time.monotonic() - start
        (again,) = lender.verify("nap", [("0", ITEM)], timeout=0.5)
    finally:
        lender.close()
    assert (hung.correct, hung.reason) == (False, "timeout after 0.5s")
    assert quick.correct and again.correct and quick.answer == again.answer  # the replacement
    assert elapsed < 0.5 + 5.0


def test_bad_calls_are_refused() -> None:
    with pytest.raises(BadInputError, match="positive"):
        verify_bounded("exact", [("x", ITEM)], 0.0)
    with pytest.raises(BadInputError, match="unknown verifier"):
        verify_bounded("nope", [("x", ITEM)], 1.0)
    assert verify_bounded("exact", [], 1.0) == []
