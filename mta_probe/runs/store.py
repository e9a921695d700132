"""Run directories: an identity file, append-only sample records, and atomic result files.

A probe run lives in one directory:

- `run.json`   what the run is (model, task, n, seed, settings, backend, ...), written first. A
               later run started on the same directory must match it, or it is refused: samples
               from two different settings never mix.
- `<records>.jsonl`  one JSON object per line, appended and flushed as work finishes. A run killed
               mid-write (kill -9 included) leaves at most one partial last line; `open_records`
               cuts that tail off before anything is appended, so the file only ever holds whole
               records.
- result files (`passk.json`, plots) are written to a temporary name and renamed into place, so a
               reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from mta_probe.errors import BadInputError, DiskFullError, RunMismatchError

IDENTITY_FILE = "run.json"
# A write that fails with one of these ran out of room (disk, quota, or a file-size limit): the
# run stops with one line, keeps every whole record, and resumes once space is freed.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# How safetensors words a write that ran out of room (its error carries no errno).
WRITE_FAILED = ("No space left on device", "File too large", "Disk quota exceeded")
LOCK_FILE = ".lock"

# Run directories this process holds the lock of; the OS releases a lock when its holder dies,
# kill -9 included, so a killed run never blocks its own restart.
_HELD_LOCKS: dict[Path, IO[str]] = {}


def _lock(out: Path) -> None:
    """Hold an exclusive lock on `out` until this process exits: two live runs never share it."""
    key = out.resolve()
    if key in _HELD_LOCKS:
        return
    handle = open(out / LOCK_FILE, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunMismatchError(f"{out} is in use by another running mta process") from None
    _HELD_LOCKS[key] = handle


def prepare_run_dir(out: Path, identity: dict[str, Any]) -> bool:
    """Create `out` or check that it holds the same run; returns True when resuming.

    Raises:
        RunMismatchError: `out` holds a run whose identity differs (names the first field).
        BadInputError: `out` cannot be created or written.
    """
    path = out / IDENTITY_FILE
    if path.exists():
        _lock(out)
        for leftover in out.glob(".*.tmp"):  # a kill between writing and renaming a result
            leftover.unlink(missing_ok=True)
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunMismatchError(f"{path} is unreadable ({exc}); use another --out") from None
        for key, value in identity.items():
            if existing.get(key) != value:
                raise RunMismatchError(
                    f"{out} holds a run with {key}={existing.get(key)!r}, not {value!r}; "
                    "use another --out or the same arguments")
        return True
    try:
        out.mkdir(parents=True, exist_ok=True)
        _lock(out)
        write_json_atomic(path, identity)
    except OSError as exc:
        if exc.errno in NO_ROOM:
            raise no_room(out / IDENTITY_FILE, exc) from None
        raise BadInputError(f"cannot write to {out}: {exc.strerror or exc}") from None
    return False


def no_room(path: Path, exc: OSError) -> DiskFullError:
    """The one line for a write that ran out of room."""
    return DiskFullError(f"cannot write {path}: {exc.strerror} (errno {errno.errorcode.get(exc.errno, exc.errno)}); "
                         "everything written before is kept: free space and run the same command again "
                         "to resume")


@contextlib.contextmanager
def room_for(path: Path) -> Iterator[None]:
    """Writes made inside that run out of room raise DiskFullError naming `path`.

    For writers mta does not drive byte by byte: torch.save into a file object mta opened
    raises a RuntimeError whose context is the OSError (ENOSPC, EFBIG); safetensors words the
    OS error in its message. Both are recognised; any other error passes through.
    """
    try:
        yield
    except Exception as exc:
        chain, seen = [], exc
        while seen is not None and len(chain) < 8:
            chain.append(seen)
            seen = seen.__cause__ or seen.__context__
        for error in chain:
            if isinstance(error, OSError) and error.errno in NO_ROOM:
                raise no_room(path, error) from None
        if any(words in str(error) for error in chain for words in WRITE_FAILED):
            raise DiskFullError(f"cannot write {path}: {str(exc).strip()[:200]}; everything written before is "
                                "kept: free space and run the same command again to resume") from None
        raise


def read_json(path: Path, missing: str) -> dict[str, Any]:
    """A result file written by `write_json_atomic`.

    Raises:
        BadInputError: the file is missing (the message ends with `missing`, what to do about it),
            unreadable, or holds something other than a JSON object.
    """
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{path} does not exist: {missing}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(payload, dict):
        raise BadInputError(f"{path} does not hold a JSON object")
    return payload


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON through a temporary file in the same directory and an atomic rename."""
    write_bytes_atomic(path, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that `path` holds either its old content or all of `data`, never a part."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        if exc.errno in NO_ROOM:
            raise no_room(path, exc) from None
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            raise no_room(path, exc) from None
        raise


TAIL_BLOCK = 1 << 16


def _last_lines_start(handle: IO[bytes], size: int) -> tuple[int, bytes]:
    """(offset, bytes) of the file's end, reaching back to just before its last two newlines."""
    start = size
    while start > 0:
        start = max(0, start - TAIL_BLOCK)
        handle.seek(start)
        tail = handle.read(size - start)
        if tail.count(b"\n") >= 2 or start == 0:
            return start, tail
    return 0, b""


def _cut_partial_tail(path: Path) -> None:
    """Truncate a JSONL file after its last complete, parseable line.

    Only the file's end is read (a run's samples can be gigabytes).
    """
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        offset, data = _last_lines_start(handle, size)
        end = len(data)
        if data and not data.endswith(b"\n"):
            end = data.rfind(b"\n") + 1
        # A line can end in a newline and still be cut inside a multi-byte write on some file
        # systems; parse the last whole line too and drop it if it is not a record.
        last_start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
        if end > last_start:
            try:
                json.loads(data[last_start:end])
            except (json.JSONDecodeError, UnicodeDecodeError):
                end = last_start
        if offset + end != size:
            handle.truncate(offset + end)


def cut_records(path: Path, keep: Callable[[dict[str, Any]], bool]) -> int:
    """Cut a JSONL file back to its records before the first one `keep` refuses (and before a
    partial or garbled line), in one truncate: a file of records stays a prefix of what was
    appended, whatever kills the process. A train run resumed from its last checkpoint cuts
    the records of the steps after it, which it will write again.

    Returns:
        How many records remain (0 when the file does not exist).
    """
    if not path.exists():
        return 0
    kept, offset = 0, 0
    with open(path, "rb+") as handle:
        for line in handle:
            try:
                whole = line.endswith(b"\n") and keep(json.loads(line.decode("utf-8")))
            except (ValueError, KeyError, TypeError):  # garbled, or not a record of this file
                whole = False
            if not whole:
                break
            kept, offset = kept + 1, offset + len(line)
        if offset != handle.seek(0, os.SEEK_END):
            handle.truncate(offset)
            os.fsync(handle.fileno())
    return kept


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file, stopping at a partial or garbled last line."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return
            try:
                yield json.loads(line.decode("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                return


class RecordWriter:
    """Appends records to a JSONL file, one flushed and fsynced batch at a time."""

    def __init__(self, path: Path) -> None:
        if path.exists():
            _cut_partial_tail(path)
        self.path = path
        self._handle: IO[bytes] = open(path, "ab", buffering=0)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write the records and make them durable before returning.

        Raises:
            DiskFullError: no room for the records; the file is cut back to the records it held
                before this call, so it never ends in a partial line.
        """
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
        if not data:
            return
        before = os.fstat(self._handle.fileno()).st_size
        try:
            view = memoryview(data)
            while view:  # an unbuffered write may stop short (at a file-size limit, say)
                view = view[self._handle.write(view):]
            os.fsync(self._handle.fileno())
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                raise
            self._handle = _reopen_cut(self.path, self._handle, before)
            raise no_room(self.path, exc) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reopen_cut(path: Path, handle: IO[bytes], size: int) -> IO[bytes]:
    """Cut `path` back to `size` bytes (a write that ran out of room may have left part of a line)
    and return a fresh append handle."""
    handle.close()
    os.truncate(path, size)
    return open(path, "ab", buffering=0)


def open_records(path: Path) -> tuple[list[dict[str, Any]], RecordWriter]:
    """Repair the tail of `path`, return the records it holds and a writer that appends to it."""
    writer = RecordWriter(path)
    return list(read_records(path)), writer
