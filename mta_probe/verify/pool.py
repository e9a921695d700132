"""A fixed set of long-lived verifier processes that can be killed one by one.

Verifiers can hang (math-verify on a power tower, a model's infinite loop in C) or die (a
segfault, the OOM killer). `VerifierPool` runs them in worker processes, one item per worker
at a time, so that an item past its deadline costs one SIGKILL and one replacement worker, and
every other item is still scored. The run never stalls.

Workers come from the "forkserver" start method: they are forked from a clean server process
(which has preloaded math-verify and reasoning-gym), never from the caller, so a parent that
holds torch or CUDA threads is safe, and a replacement starts in milliseconds. They talk to the
parent over one pipe each. math-verify's own SIGALRM timeout works there too (a worker runs the
verifier in its main thread), but the hard kill is the guarantee.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TYPE_CHECKING

from mta_probe.errors import BadInputError, MtaError, row_of
from mta_probe.problem import Problem
from mta_probe.verify.verdict import Verdict

if TYPE_CHECKING:  # the table imports every verifier module; the pool imports it only when asked
    from mta_probe.verify.table import Verifier

Table = dict[str, "Verifier"]
STARTUP_TIMEOUT = 120.0  # seconds for a worker to say it is ready (the first start imports sympy)
PRELOAD = ["mta_probe.verify.table", "math_verify", "reasoning_gym"]
READY = "ready"


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start, so that they inherit "ignore".

    Ctrl-C reaches every process of the terminal's process group. The workers must not react:
    the parent decides (it closes the pool on its way out); a forkserver still importing sympy
    would otherwise die with a traceback on the user's screen. Only the main thread may change
    signal dispositions; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class VerifierPool:
    """Score (completion, problem) items with a verifier, in killable worker processes.

    Use as a context manager; `verify` may be called many times, from any one thread at a time.

    Args:
        workers: number of worker processes (default: os.cpu_count()); 0 scores in-process,
            sequentially, with no timeout protection (tests, debugging).
        timeout: seconds one item may take before its worker is killed and replaced (more for
            an item whose problem sets meta["verify_timeout"]: see `budget`).
        table: verifier name -> its `Verifier` record (default mta_probe.verify.VERIFIERS);
            its functions must be picklable by reference (defined at the top of a module).
        memory_mb: soft address-space limit of each worker (a runaway parse then raises
            MemoryError instead of waking the OOM killer); None for no limit.
    """

    def __init__(self, workers: int | None = None, timeout: float = 10.0, *,
                 table: Table | None = None, memory_mb: int | None = 4096) -> None:
        if workers is None:
            workers = os.cpu_count() or 1
        if workers < 0:
            raise BadInputError(f"workers must be >= 0, got {workers}")
        if timeout <= 0:
            raise BadInputError(f"timeout must be positive, got {timeout}")
        if table is None:
            from mta_probe.verify.table import VERIFIERS

            table = VERIFIERS
        self.workers, self.timeout, self.memory_mb = workers, float(timeout), memory_mb
        self.table: Table = dict(table)
        self._context = multiprocessing.get_context("forkserver")
        self._slots: list[tuple[BaseProcess, Connection]] = []

    def __enter__(self) -> VerifierPool:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers (called by `with`; a no-op when running or when workers=0)."""
        if self._slots or self.workers == 0:
            return
        self._context.set_forkserver_preload(PRELOAD)
        with _ctrl_c_ignored():  # the forkserver and every worker inherit it
            started = [self._launch() for _ in range(self.workers)]
        self._slots = [self._await_ready(process, conn) for process, conn in started]

    def close(self) -> None:
        """Stop every worker: ask politely, then SIGKILL whatever is left."""
        for process, conn in self._slots:
            try:
                conn.send(None)
            except OSError:
                pass
        for process, conn in self._slots:
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
                process.join()
            conn.close()
        self._slots = []

    def verify(self, verifier: str, items: Sequence[tuple[str, Problem]], *,
               timeout: float | None = None) -> list[Verdict]:
        """Score every (completion, problem) item; the verdicts come back in input order.

        Args:
            verifier: a key of the pool's table.
            items: (completion, problem) pairs.
            timeout: seconds per item for this call instead of the pool's (see `budget`).

        Returns:
            One Verdict per item. An item past the timeout gets reason "timeout after Xs", one
            whose worker died gets "crashed: ...", one whose verifier raised gets
            "crashed: ExceptionType: message".

        Raises:
            BadInputError: unknown verifier name.
        """
        row = row_of(self.table, verifier, "verifier")
        if self.workers == 0:
            return [score_safely(row, text, problem) for text, problem in items]
        self.start()
        verdicts: list[Verdict | None] = [None] * len(items)
        pending = deque(range(len(items)))
        busy: dict[int, tuple[int, float, float]] = {}  # slot -> (item index, deadline, seconds)
        while pending or busy:
            self._dispatch(verifier, items, pending, busy, timeout)
            if busy:
                self._collect(verdicts, busy)
        return [verdict for verdict in verdicts if verdict is not None]

    def _dispatch(self, verifier: str, items: Sequence[tuple[str, Problem]],
                  pending: deque[int], busy: dict[int, tuple[int, float, float]],
                  timeout: float | None) -> None:
        """Hand the next pending items to idle workers."""
        for slot in range(len(self._slots)):
            if slot in busy or not pending:
                continue
            index = pending.popleft()
            text, problem = items[index]
            try:
                self._slots[slot][1].send((verifier, text, problem))
            except OSError:  # died while idle: replace it and retry the item elsewhere
                pending.appendleft(index)
                self._replace(slot)
                continue
            seconds = self.budget(problem, timeout)
            busy[slot] = (index, time.monotonic() + seconds, seconds)

    def budget(self, problem: Problem, timeout: float | None = None) -> float:
        """Seconds one item may take: `timeout` (default the pool's), or more when its problem asks
        for it in meta["verify_timeout"] (LiveCodeBench: its global budget for a problem's many
        tests)."""
        base = self.timeout if timeout is None else float(timeout)
        return max(base, float(problem.meta.get("verify_timeout", 0.0)))

    def _collect(self, verdicts: list[Verdict | None],
                 busy: dict[int, tuple[int, float, float]]) -> None:
        """Wait for the first answer or deadline; record answers, timeouts and crashes."""
        earliest = min(deadline for _, deadline, _ in busy.values())
        ready = wait([self._slots[slot][1] for slot in busy], max(0.0, earliest - time.monotonic()))
        now = time.monotonic()
        for slot, (index, deadline, seconds) in list(busy.items()):
            process, conn = self._slots[slot]
            if conn in ready:
                try:
                    verdicts[index] = conn.recv()
                except (EOFError, OSError):
                    verdicts[index] = Verdict(False, None, f"crashed: {_death(process)}")
                    self._replace(slot)
            elif now >= deadline:
                verdicts[index] = Verdict(False, None, f"timeout after {seconds}s")
                self._replace(slot)
            else:
                continue
            del busy[slot]

    def _replace(self, slot: int) -> None:
        """SIGKILL the worker in `slot` (if still alive) and put a fresh one there."""
        from mta_probe.verify.sandbox import remove_leftovers

        process, conn = self._slots[slot]
        process.kill()
        process.join()
        conn.close()
        remove_leftovers(process.pid)
        self._slots[slot] = self._await_ready(*self._launch())

    def _launch(self) -> tuple[BaseProcess, Connection]:
        """Start one worker process; it is usable once `_await_ready` returns."""
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=serve, args=(theirs, self.table, self.memory_mb),
                                        daemon=True, name="mta-verifier")
        process.start()
        theirs.close()  # else our copy keeps the pipe open and a dead worker never reads as EOF
        return process, ours

    def _await_ready(self, process: BaseProcess,
                     conn: Connection) -> tuple[BaseProcess, Connection]:
        """Block until the worker has said it is ready."""
        try:
            if conn.poll(STARTUP_TIMEOUT) and conn.recv() == READY:
                return process, conn
        except (EOFError, OSError):
            pass
        process.kill()
        process.join()
        raise MtaError(f"a verifier worker failed to start ({_death(process)}); "
                       "try workers=0 to see the error in-process")


def _death(process: BaseProcess) -> str:
    """How a worker ended, in words: 'worker killed by SIGSEGV', 'worker exited with 1'."""
    process.join(timeout=1.0)
    code = process.exitcode
    if code is None:
        return "worker stopped answering"
    if code < 0:
        return f"worker killed by {signal.Signals(-code).name}"
    return f"worker exited with {code}"


def score_safely(verifier: Verifier, text: str, problem: Problem) -> Verdict:
    """Run one verifier (`Verifier.score`); an exception becomes a 'crashed: ...' verdict.

    Args:
        verifier: the verifier's record.
        text: the completion.
        problem: the problem.

    Returns:
        The verifier's Verdict, or Verdict(False, None, "crashed: Type: message").
    """
    try:
        return verifier.score(text, problem)
    except Exception as error:  # noqa: BLE001 - any verifier bug must cost one item, not the run
        return Verdict(False, None, f"crashed: {type(error).__name__}: {str(error)[:200]}")


def serve(conn: Connection, table: Table, memory_mb: int | None) -> None:
    """A worker's main loop: receive (verifier, completion, problem), send back a Verdict.

    Args:
        conn: this worker's end of the pipe.
        table: verifier name -> its record.
        memory_mb: soft RLIMIT_AS in MiB, or None.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, hard))
    conn.send(READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        name, text, problem = message
        conn.send(score_safely(table[name], text, problem))
