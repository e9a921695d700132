"""Real `mta` commands, started fast: a Python that has imported torch, transformers and the CLI
once forks one command per request, so a test can afford dozens of real runs on two cores.

A forked command is the real program: its own process group (so a test can signal or kill it
and its children), the CLI's own exit code, stderr captured to a file. Like the `mta` console
script, an exception that escapes the CLI prints a traceback and exits 1. A request may also
set a file-size limit (a full disk, as the write sees it) and name a fault from `faultpatches`
to inject in the child before the command runs (a CUDA out-of-memory error, a slow engine).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

PROGRAM = r"""
import json, os, resource, sys, traceback
import torch, transformers, mta_probe.passk, mta_probe.contam, mta_probe.kl, mta_probe.sampling
import mta_probe.sampling.hf, mta_train, mta_report
from mta_cli.main import app
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if request["stderr"] else null
        os.dup2(null, 0); os.dup2(null, 1); os.dup2(err, 2)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        os.environ.update(request["env"])
        if request["fsize"] is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
        code = 0
        try:
            if request["fault"]:
                import faultpatches
                faultpatches.FAULTS[request["fault"]]()
            app(request["args"], prog_name="mta")
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    print(f"started {pid}", flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"ended {os.waitstatus_to_exitcode(status)}", flush=True)
"""


@dataclass(frozen=True)
class Ended:
    """How a command ended: its exit code (negative: killed by that signal) and its stderr."""

    code: int
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


class Zygote:
    """A pre-imported Python that forks one `mta` command per request; one at a time."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        """`env`: variables the libraries read once, when imported (HF_ENDPOINT, HF_HUB_OFFLINE):
        they must be set in the zygote itself, not per command."""
        env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)])}
        self.process = subprocess.Popen([sys.executable, "-c", PROGRAM], cwd=REPO, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def start(self, args: list[str], env: dict[str, str], *, stderr: Path | None = None,
              fsize: int | None = None, fault: str | None = None) -> int:
        """Fork the command `mta ARGS`; returns its pid (also its process group)."""
        request = {"args": args, "env": env, "stderr": str(stderr) if stderr else None, "fsize": fsize,
                   "fault": fault}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline().split()[1])

    def ended(self) -> int:
        """Wait for the command started last; its exit status as `os.waitstatus_to_exitcode`."""
        return int(self.process.stdout.readline().split()[1])

    def run(self, args: list[str], env: dict[str, str], stderr: Path, **kwargs: object) -> Ended:
        """Start a command and wait for it to end."""
        self.start(args, env, stderr=stderr, **kwargs)
        code = self.ended()
        return Ended(code, stderr.read_text(errors="replace"))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def killed_when(command: list[str], ready: Callable[[], bool], env: dict[str, str], timeout: float = 240.0) -> None:
    """Start `command` (a whole Python process, not a fork) in its own process group and SIGKILL
    the group as soon as `ready()` holds; it must not have finished by itself first."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if ready():
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the command finished before it could be killed"
