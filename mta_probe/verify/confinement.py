"""What a sandboxed program's process does to itself between fork and exec.

`prepare_child` ties the child to its parent (it dies with it), enters fresh network and mount
namespaces, mounts a private view of the filesystem (a small tmpfs work dir, homes hidden but
for the Python installation, everything else read-only), sets resource limits, drops every
capability and, as root, becomes the caller's own unprivileged uid so RLIMIT_NPROC applies.
`mta_probe.verify.sandbox` runs it as Popen's preexec_fn and decides which parts apply (`Isolation`).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID_BASE = 2_000_000_000  # + the caller's pid: one uid (and gid) per caller
MAX_PROCESSES = 64  # RLIMIT_NPROC of the sandbox uid; threads count too
WORK_TMPFS_MB = 64
HIDDEN_DIRS = ("/root", "/home")  # emptied in the mount namespace
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
ENOENT = 2
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
MOUNT_FLAGS_KEPT = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


@dataclass(frozen=True)
class Isolation:
    """Which OS-level protections `run_program` applies on this machine.

    Attributes:
        network: the program runs in an empty network namespace.
        filesystem: a private mount namespace: all read-only but a private work tmpfs, homes hidden.
        capabilities: the program runs with no Linux capabilities (checked from inside).
        user: the program runs as its own unprivileged uid under RLIMIT_NPROC (needs root).
    """

    network: bool
    filesystem: bool
    capabilities: bool
    user: bool = False


@dataclass(frozen=True)
class Limits:
    """Resource limits applied in the child before exec, and how much output to keep."""

    tail_bytes: int
    cpu_seconds: int
    memory_bytes: int
    file_bytes: int
    open_files: int
    processes: int = MAX_PROCESSES


def sandbox_uid(caller: int | None = None) -> int:
    """The uid and gid of the programs that process `caller` (default: this one) runs as root."""
    return SANDBOX_UID_BASE + (os.getpid() if caller is None else caller)


def prepare_child(limits: Limits, iso: Isolation, work: str, parent: int) -> None:
    """Runs in the forked child before exec: tie to parent, isolate, limit, drop privileges."""
    libc = ctypes.CDLL(None, use_errno=True)
    _die_with(libc, parent)
    flags = (CLONE_NEWNET if iso.network else 0) | (CLONE_NEWNS if iso.filesystem else 0)
    if flags and libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    if iso.filesystem:
        _mount_private_view(libc, work, sandbox_uid(parent) if iso.user else os.getuid())
        os.chdir(work)  # the cwd set by Popen is the directory under the new mount
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if iso.capabilities:
        _drop_capabilities(libc)  # emptying the bounding set needs CAP_SETPCAP: before setuid
    if iso.user:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        os.setgroups([])
        os.setgid(sandbox_uid(parent))
        os.setuid(sandbox_uid(parent))  # also empties the permitted and effective capabilities
        _die_with(libc, parent)  # a uid change clears the parent-death signal: set it again


def _die_with(libc: ctypes.CDLL, parent: int) -> None:
    """SIGKILL this process when `parent` dies; exit now if it already has."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(137)


def _mount_private_view(libc: ctypes.CDLL, work: str, owner: int) -> None:
    """In the new mount namespace: `work` becomes a small private tmpfs holding main.py, the
    home directories empty but for the Python installation, everything else read-only."""
    _mount(libc, None, "/", MS_REC | MS_PRIVATE)  # never propagate back to the host
    program = Path(work, "main.py").read_bytes()
    handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in _python_dirs()}
    for hidden in HIDDEN_DIRS:
        if os.path.isdir(hidden):
            _mount(libc, "tmpfs", hidden, MS_NOSUID | MS_NODEV, b"tmpfs", b"mode=0755,size=1m")
    for path, handle in handles.items():
        os.makedirs(path, exist_ok=True)  # inside a hidden home the path must exist again
        _mount(libc, f"/proc/self/fd/{handle}", path, MS_BIND | MS_REC)
        os.close(handle)
    options = f"mode=0700,uid={owner},gid={owner},size={WORK_TMPFS_MB}m".encode()
    _mount(libc, "tmpfs", work, MS_NOSUID | MS_NODEV, b"tmpfs", options)
    Path(work, "main.py").write_bytes(program)
    for point, kept in _mount_points():
        if point != work:
            _mount(libc, None, point, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, missing_ok=True)


def _python_dirs() -> list[str]:
    """The directories the interpreter needs (prefixes, the executable's), outermost only."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                            sys.base_exec_prefix)}
    found |= {os.path.dirname(os.path.realpath(sys.executable)),
              os.path.dirname(os.path.abspath(sys.executable))}
    return sorted(p for p in found if not any(p.startswith(q + os.sep) for q in found))


def _mount(libc: ctypes.CDLL, source: str | None, target: str, flags: int,
           fstype: bytes | None = None, data: bytes | None = None, *,
           missing_ok: bool = False) -> None:
    """mount(2) with errors raised (a silent failure would leave a writable hole).

    `missing_ok` ignores ENOENT only: a mount point now hidden under a tmpfs is out of reach.
    """
    encoded = source.encode() if source else None
    if libc.mount(encoded, target.encode(), fstype, ctypes.c_ulong(flags), data) != 0:
        errno = ctypes.get_errno()
        if not (missing_ok and errno == ENOENT):
            raise OSError(errno, f"mount {target} failed")


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, nosuid/nodev/noexec flags to keep) for every mount, from mountinfo."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")  # octal escapes like \040
        kept = sum(MOUNT_FLAGS_KEPT.get(option, 0) for option in fields[5].split(","))
        points.append((point, kept))
    return points


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Empty the bounding and ambient sets so the exec'd program holds no capabilities."""
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for capability in range(64):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # EINVAL past the last one: ignored
