"""LiveCodeBench-style scoring ("code-io") of one completion with many tests, timed.

    python bench/code_io_speed.py --tests 200 --timeout 6

Three completions of "print the sum of two integers", each against `--tests` stdin tests: a
correct program, one that is wrong on test 57 (and later ones), and one that loops forever on
test 150 (a Python loop, then a loop inside C code). Each is scored by `verify_one("code-io")`,
i.e. one sandboxed process for all tests with LiveCodeBench's per-test timeout, and the wall
time printed with the verdict. The machine's other load shows in the times.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mta_probe.tasks import Problem  # noqa: E402
from mta_probe.verify import verify_one  # noqa: E402

READ = "a, b = map(int, input().split())\n"
PROGRAMS = {
    "correct": READ + "print(a + b)",
    "wrong from test 57": READ + "print(a + b + (a >= 57))",
    "Python loop on test 150": READ + "while a == 150: pass\nprint(a + b)",
    "C loop on test 150": READ + "if a == 150: sum(range(10**13))\nprint(a + b)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=6.0, help="seconds per test")
    args = parser.parse_args()
    tests = [{"input": f"{i} {i + 1}\n", "output": f"{2 * i + 1}\n"} for i in range(args.tests)]
    problem = Problem(id="sum", prompt="p", statement="s", gold="",
                      meta={"tests": tests, "timeout": args.timeout})
    verify_one("code-io", "```python\nprint(1)\n```", problem)  # detect the sandbox's isolation once
    for name, code in PROGRAMS.items():
        start = time.monotonic()
        verdict = verify_one("code-io", f"```python\n{code}\n```", problem)
        print(f"{name}: correct={verdict.correct} reason={verdict.reason!r} "
              f"{time.monotonic() - start:.2f}s")


if __name__ == "__main__":
    main()
