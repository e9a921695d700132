"""Verdicts under a hard, killable timeout from any thread: how training rewards verify.

verl computes rewards in executor threads (its reward loop's `run_in_executor`, mta's group
scorer), where math-verify cannot arm its SIGALRM timeout, and some answers hold the GIL for good:
math-verify on `9^{9^{9^{9}}}` against `1`, called from a thread, never returns, so no
thread-level timeout (`asyncio.wait_for`, a watchdog thread) can fire. `verify_bounded` therefore
scores in `VerifierPool` worker processes, each killed and replaced past its timeout; the verdict
is then wrong ("timeout after Xs") and training goes on. In the main thread it is the same bound,
and verifiers without their own timeout (KOR, reasoning-gym, SynLogic) get one too.

A `VerifierPool` serves one thread at a time, so a `PoolLender` keeps one-worker pools and lends
one to each calling thread: started on first need (the first start imports sympy in a forkserver,
seconds), at most `limit` of them (a caller beyond that waits for a free one), kept for the life
of the process (their workers are daemons). A forked child does not reuse its parent's pools.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence

from mta_probe.errors import BadInputError, row_of
from mta_probe.problem import Problem
from mta_probe.verify.pool import Table, VerifierPool
from mta_probe.verify.verdict import Verdict

MAX_POOLS = 32  # verl's executors run min(32, cpus + 4) threads: one worker each at most


class PoolLender:
    """One-worker `VerifierPool`s lent to the threads that verify (module docstring).

    Args:
        limit: most pools (worker processes) at once; default min(MAX_POOLS, cpu count).
        table: verifier name -> function (default mta_probe.verify.VERIFIERS).
    """

    def __init__(self, limit: int | None = None, *, table: Table | None = None) -> None:
        self.limit = limit or min(MAX_POOLS, os.cpu_count() or 1)
        self.table = table
        self._lock = threading.Lock()
        self._reset()

    def verify(self, verifier: str, items: Sequence[tuple[str, Problem]],
               timeout: float) -> list[Verdict]:
        """Score (completion, problem) items, in order, each within `timeout` seconds (or the
        problem's own meta["verify_timeout"] when longer, see `VerifierPool.budget`).

        Raises:
            BadInputError: unknown verifier, or a timeout that is not positive.
        """
        if not timeout > 0:  # also refuses nan
            raise BadInputError(f"a verification timeout must be positive, got {timeout}")
        if not items:
            return []
        table = self.table
        if table is None:  # imported here, as VerifierPool does: the verifiers' modules load on use
            from mta_probe.verify.table import VERIFIERS as table
        row_of(table, verifier, "verifier")  # an unknown name is refused before a worker starts
        pool = self._borrow()
        try:
            return pool.verify(verifier, items, timeout=timeout)
        finally:
            self._idle.put(pool)

    def close(self) -> None:
        """Stop every idle pool's worker (pools lent out now are not waited for)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        self._reset()

    def _reset(self) -> None:
        self._idle: queue.LifoQueue[VerifierPool] = queue.LifoQueue()
        self._made = 0
        self._pid = os.getpid()

    def _borrow(self) -> VerifierPool:
        with self._lock:
            if self._pid != os.getpid():  # forked: the pipes lead to the parent's workers
                self._reset()
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            make = self._made < self.limit
            self._made += int(make)
        if not make:
            return self._idle.get()
        pool = VerifierPool(workers=1, table=self.table)
        try:
            pool.start()
        except BaseException:
            with self._lock:
                self._made -= 1
            raise
        return pool


_LENDER = PoolLender()


def verify_bounded(verifier: str, items: Sequence[tuple[str, Problem]],
                   timeout: float) -> list[Verdict]:
    """Score (completion, problem) items in this process's lent worker processes, each within
    `timeout` seconds (module docstring); safe from any thread.

    Args:
        verifier: a key of mta_probe.verify.VERIFIERS.
        items: (completion, problem) pairs.
        timeout: seconds one item may take before its worker is killed; its verdict is then
            Verdict(False, None, "timeout after Xs").

    Returns:
        One Verdict per item, in input order.

    Raises:
        BadInputError: unknown verifier, or a timeout that is not positive.
    """
    return _LENDER.verify(verifier, items, timeout)
