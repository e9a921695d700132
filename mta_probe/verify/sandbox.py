"""Running model-written Python in a separate, limited, killable process.

`run_program(source, timeout=...)` writes `source` to a fresh private temp dir, runs it with
`python -I` in a new session with that dir as cwd, HOME and TMPDIR and a minimal environment,
and deletes the dir afterwards. At `timeout` the process group gets SIGKILL, then every process
left in the run's network namespace or running as its uid. Limits: CPU, address space, file size,
open files, no core dumps, and (as root) RLIMIT_NPROC. The program dies with its caller.

Where the OS allows (root; detected once by `isolation()`, silently skipped if not): an empty
network namespace; a mount namespace where all is read-only but the work dir (a fresh 64 MiB
tmpfs) and the home directories are empty but for Python; no capabilities; and its own uid and
gid (SANDBOX_UID_BASE + the caller's pid), so RLIMIT_NPROC applies and root-only files and other
users' processes are out of reach. Not covered: readable-by-all files stay readable, no seccomp
or PID namespace, and as an ordinary user none of the namespaces or the uid change apply.
docs/reliability.md has the full list; tests/test_hostile.py tests it with hostile programs.
The set-up (`mta_probe.verify.confinement.prepare_child`) runs in a Popen preexec_fn (unsafe with
other threads: call it from a single-threaded process such as VerifierPool's workers).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mta_probe.verify.confinement import MAX_PROCESSES, Isolation, Limits, prepare_child, sandbox_uid

TAIL_BYTES = 4000
DIR_PREFIX = "mta-sandbox-"  # then the caller's pid, so leftovers of a killed caller can be found
REAP_WAIT = 5.0  # seconds to wait for the run's killed processes to be reaped
PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class SandboxResult:
    """What one sandboxed run produced.

    Attributes:
        ok: True when the program exited 0 within the time limit.
        returncode: the exit status (negative: killed by that signal); None if it never started.
        stdout_tail: the end of standard output (the last `tail_bytes`, default 4000).
        stderr_tail: the end of standard error (same size).
        reason: None when ok; else "timeout after 3.0s", "sandbox: MemoryError",
            "sandbox: AssertionError", "crashed: SIGSEGV", ...
    """

    ok: bool
    returncode: int | None
    stdout_tail: str
    stderr_tail: str
    reason: str | None


def run_program(
    source: str,
    *,
    timeout: float,
    memory_mb: int = 2048,
    stdin: str = "",
    file_limit_mb: int = 16,
    open_files: int = 64,
    tail_bytes: int = TAIL_BYTES,
    max_processes: int = MAX_PROCESSES,
) -> SandboxResult:
    """Run a Python program in the sandbox described in the module docstring.

    Args:
        source: the whole program text.
        timeout: wall-clock seconds before the process group is killed.
        memory_mb: address-space limit (RLIMIT_AS) in MiB.
        stdin: text fed to the program's standard input.
        file_limit_mb: largest file (including captured output) the program may write, in MiB.
        open_files: RLIMIT_NOFILE.
        tail_bytes: how much of the end of stdout and stderr to keep.
        max_processes: RLIMIT_NPROC of the sandbox uid (processes plus threads; as root only).

    Returns:
        A SandboxResult; never raises for anything the program does.
    """
    limits = Limits(
        tail_bytes=tail_bytes,
        cpu_seconds=math.ceil(timeout) + 1,
        memory_bytes=memory_mb * 2**20,
        file_bytes=file_limit_mb * 2**20,
        open_files=open_files,
        processes=max_processes,
    )
    return _run_source(source, stdin, limits, timeout, isolation())


def _run_source(source: str, stdin: str, limits: Limits, timeout: float,
                iso: Isolation) -> SandboxResult:
    """Lay out the private temp dir, run the program, delete the dir whatever happened."""
    base = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-"))
    try:
        work = base / "work"
        work.mkdir()
        (work / "main.py").write_text(source, encoding="utf-8")
        (base / "stdin").write_text(stdin, encoding="utf-8")
        if iso.user:
            base.chmod(0o711)  # the program may pass through, not list or replace its output files
            for path in (work, work / "main.py"):
                os.chown(path, sandbox_uid(), sandbox_uid())
        return _run_in(base, work, limits, timeout, iso)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_in(
    base: Path, work: Path, limits: Limits, timeout: float, iso: Isolation
) -> SandboxResult:
    """Start, wait or kill, then collect the output tails."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work),
           "LANG": "C.UTF-8"}
    with open(base / "stdin", "rb") as fin, open(base / "stdout", "wb") as fout, \
            open(base / "stderr", "wb") as ferr, _subreaper(iso.user):
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "main.py"], cwd=work, env=env, stdin=fin, stdout=fout,
                stderr=ferr, start_new_session=True, close_fds=True,
                preexec_fn=functools.partial(prepare_child, limits, iso, str(work), os.getpid()),
            )
        except (OSError, subprocess.SubprocessError) as error:
            return SandboxResult(False, None, "", "", f"sandbox: could not start: {error}")
        with _pinned_network_namespace(proc.pid, iso.network) as namespace:
            timed_out = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc.pid)
            _kill_stragglers(namespace, sandbox_uid() if iso.user else None)
            proc.wait()
        if iso.user:
            _reap(sandbox_uid())
    stdout = _tail(base / "stdout", limits.tail_bytes)
    stderr = _tail(base / "stderr", limits.tail_bytes)
    return SandboxResult(proc.returncode == 0 and not timed_out, proc.returncode, stdout, stderr,
                         _reason(proc.returncode, timed_out, timeout, stderr))


@contextlib.contextmanager
def _subreaper(on: bool) -> Iterator[None]:
    """Adopt the run's orphans (PR_SET_CHILD_SUBREAPER) while it lasts, so `_reap` can reap them."""
    libc = ctypes.CDLL(None, use_errno=True) if on else None
    if libc is not None:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        if libc is not None:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _reason(returncode: int, timed_out: bool, timeout: float, stderr: str) -> str | None:
    """Why a run failed, in the vocabulary of Verdict.reason."""
    if timed_out or returncode == -signal.SIGXCPU:
        return f"timeout after {float(timeout)}s"
    if returncode == 0:
        return None
    if returncode < 0:
        return f"crashed: {signal.Signals(-returncode).name}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"sandbox: {lines[-1].strip()[:200]}" if lines else f"sandbox: exit status {returncode}"


def remove_leftovers(pid: int) -> int:
    """Clean up after a caller process that was killed mid-run (no `finally` ran).

    Its sandboxed program is already dead (PR_SET_PDEATHSIG), but not the program's own
    children: as root, every process still running as the caller's sandbox uid is killed
    first. Then the caller's temp dirs are deleted.

    Args:
        pid: the killed process's pid.

    Returns:
        How many directories were removed.
    """
    if os.geteuid() == 0:
        _kill_stragglers(None, sandbox_uid(pid))
    leftovers = list(Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}{pid}-*"))
    for directory in leftovers:
        shutil.rmtree(directory, ignore_errors=True)
    return len(leftovers)


def _kill_group(pgid: int) -> None:
    """SIGKILL the whole session's process group; also reaps stragglers after a normal exit."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextlib.contextmanager
def _pinned_network_namespace(pid: int, wanted: bool) -> Iterator[str | None]:
    """The child's network namespace if it is not ours, held open while the block runs.

    Holding it matters: a freed namespace's inode number is reused at once by the next one
    created, possibly another caller's sandbox, which a sweep by name would then kill.
    """
    handle = None
    try:
        handle = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY) if wanted else None
    except OSError:  # already gone
        pass
    try:
        if handle is None:
            yield None
        else:
            theirs = os.readlink(f"/proc/self/fd/{handle}")
            yield theirs if theirs != os.readlink("/proc/self/ns/net") else None
    finally:
        if handle is not None:
            os.close(handle)


def _kill_stragglers(namespace: str | None, uid: int | None) -> None:
    """SIGKILL every live process in the run's network namespace or running as its uid."""
    if namespace is None and uid is None:
        return
    for _ in range(50):  # forks racing with the scan: rescan until none is left
        found = 0
        for pid, status in _statuses():
            if "\nState:\tZ" in status:
                continue
            if (uid is not None and f"\nUid:\t{uid}\t" in status) or _in_namespace(pid, namespace):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    found += 1
                except OSError:
                    continue
        if not found:
            return


def _reap(uid: int) -> None:
    """Wait for the run's killed processes to be reaped.

    Zombies count against RLIMIT_NPROC, so the next run of this uid could not even start while
    init takes its time (seconds on some machines). `_run_in` makes this process a child
    subreaper during the run, so the orphans are ours to reap, now.
    """
    me, deadline = os.getpid(), time.monotonic() + REAP_WAIT
    while time.monotonic() < deadline:
        left = [(pid, status) for pid, status in _statuses() if f"\nUid:\t{uid}\t" in status]
        if not left:
            return
        for pid, status in left:
            if f"\nPPid:\t{me}\n" in status:
                try:
                    os.waitpid(int(pid), os.WNOHANG)
                except ChildProcessError:
                    pass
        time.sleep(0.005)


def _statuses() -> Iterator[tuple[str, str]]:
    """(pid, /proc/<pid>/status text) of every process that is still there when read."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield entry.name, Path(f"/proc/{entry.name}/status").read_text()
            except OSError:
                continue


def _in_namespace(pid: str, namespace: str | None) -> bool:
    try:
        return namespace is not None and os.readlink(f"/proc/{pid}/ns/net") == namespace
    except OSError:
        return False


def _tail(path: Path, size: int) -> str:
    """The last `size` bytes of a file, decoded leniently."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - size))
        return handle.read().decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Which protections work here, tried strongest first; detected once per process.

    Returns:
        The strongest Isolation whose probe program ran, saw no capabilities, and ran as the
        sandbox uid exactly when that candidate asks for it (or, at the weakest level, ran).
    """
    root = os.geteuid() == 0
    candidates = [
        Isolation(network=True, filesystem=True, capabilities=True, user=root),
        Isolation(network=True, filesystem=False, capabilities=True, user=root),
        Isolation(network=True, filesystem=False, capabilities=True),
        Isolation(network=False, filesystem=False, capabilities=True),
    ]
    probe = "print(open('/proc/self/status').read())"
    limits = Limits(tail_bytes=TAIL_BYTES, cpu_seconds=10, memory_bytes=2**31, file_bytes=2**20,
                     open_files=64)
    for candidate in candidates:
        result = _run_source(probe, "", limits, 10.0, candidate)
        as_sandbox_uid = f"\nUid:\t{sandbox_uid()}\t" in result.stdout_tail
        if (result.ok and "CapEff:\t0000000000000000" in result.stdout_tail
                and as_sandbox_uid == candidate.user):
            return candidate
    return Isolation(network=False, filesystem=False, capabilities=False)
