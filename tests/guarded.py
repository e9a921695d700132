"""Run test code in a fresh interpreter that is killed after a deadline.

Some verifications hold the GIL for good (math-verify on `9^{9^{9^{9}}}`): in the test process
itself no timeout could fire and the suite would hang. The child's last stdout line is JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
# The answer of issue 22: math-verify against gold "1" never returns off the main thread.
TOWER = "9^{9^{9^{9}}}"


def run_guarded(code: str, deadline: float) -> Any:
    """Run `code` (dedented) with this checkout and tests/ importable; return its last stdout
    line as JSON.

    Fails the test (with the child's output) when it runs past `deadline` seconds or fails.
    """
    root = TESTS.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(TESTS),
                                                        os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                              text=True, timeout=deadline, env=env, cwd=root)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"still running after {deadline:.0f}s (a verification that never returns); "
                    f"output: {_tail(expired.stdout)} {_tail(expired.stderr)}")
    if done.returncode != 0:
        pytest.fail(f"the child failed ({done.returncode}): {_tail(done.stderr)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-2000:]
