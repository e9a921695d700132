"""The program that runs one candidate against all of its tests, inside ONE sandboxed process.

LiveCodeBench's harness (lcb_runner/evaluation/testing_util.py, `run_test`) runs every test of a
completion in one process, with a per-test alarm, and stops at the first failure. This module is
mta's own version of that loop. `mta_probe.verify.coding` ships this file's text as the program
of one `run_program` call; it therefore imports nothing but the standard library. The candidate
and its tests arrive as one JSON object on standard input:

    {"code": str, "fn_name": str | null, "tests": [{"input": str, "output": str}, ...],
     "timeout": float (seconds per test), "nonce": str}

Before each test it writes `<nonce> {"test": i}` to the real standard output, and at the end one
`<nonce> {"passed": n}` or `<nonce> {"failed": i, "reason": "..."}` (i = None: the program itself
did not load). A loop inside C code never lets the alarm's handler run; for it, each test also
gets a CPU-time limit under a second past its timeout (SIGXCPU ends the process), and the last
`{"test": i}` line tells the caller which test it was.

What LiveCodeBench's rules are, as kept here:
- stdin programs: the code is wrapped in a function (its imports hoisted, a final
  `if __name__ == "__main__":` block unwrapped) and that function is called once per test with
  the test's input as stdin and stdout captured. Output comparison: both texts stripped, split
  on "\\n", each line stripped; the line counts must agree; a line matches when equal, or when
  both split on whitespace into numbers (`decimal.Decimal`) that are equal (`0.50` = `0.5`,
  `1  2 3` = `1 2 3`). `exit()` inside the program is allowed.
- call-based programs (`fn_name` given): the method of `Solution()` when the code defines
  `class Solution`, else the top-level function; each input line is one JSON argument; the
  return value (a tuple counts as a list) must equal the JSON-decoded output.
- the same star imports LiveCodeBench prepends (string, re, math, collections, heapq, ...) and
  its recursion limit, 50000.
Where mta differs, it is in what a correct program may do, never in what counts as correct:
stdin is a real text stream (iteration, `sys.stdin.buffer`, `open(0)` work), stdout accepts
`sys.stdout.buffer` writes, names bound while the program loads (`from sys import stdin`) see
each test's streams, and the timeout is an exception `except Exception` cannot swallow.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import math
import resource
import signal
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

# LiveCodeBench's `import_string`: star imports of these, then plain imports of all but the last two.
PRELUDE_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math",
                   "random", "statistics", "itertools", "functools", "operator", "io", "sys",
                   "json", "builtins", "typing")
RECURSION_LIMIT = 50000
WRAPPED = "wrapped_function"


class TestTimeout(BaseException):
    """Raised by the per-test alarm; a BaseException so that `except Exception` cannot hide it."""


def prelude() -> str:
    """The imports every candidate program starts with."""
    stars = "".join(f"from {name} import *\n" for name in PRELUDE_MODULES)
    plain = "".join(f"import {name}\n" for name in PRELUDE_MODULES[:-2])
    return f"{stars}{plain}sys.setrecursionlimit({RECURSION_LIMIT})\n"


def as_function(code: str) -> str:
    """A stdin program as one function `wrapped_function()`, as LiveCodeBench runs it.

    A final `if __name__ == "__main__":` block is replaced by its body, top-level imports stay
    at the top, everything else becomes the function's body (so each call runs it afresh).

    Raises:
        SyntaxError: the code does not parse.
    """
    tree = ast.parse(code)
    body = list(tree.body)
    if body and isinstance(body[-1], ast.If) and _is_main_guard(body[-1].test):
        body = body[:-1] + list(body[-1].body)
    imports = [s for s in body if isinstance(s, (ast.Import, ast.ImportFrom))]
    function = ast.parse(f"def {WRAPPED}():\n    pass\n").body[0]
    function.body = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))] or function.body
    return ast.unparse(ast.Module(body=[*imports, function], type_ignores=[]))


def _is_main_guard(test: ast.expr) -> bool:
    return ast.unparse(test).replace('"', "'") == "__name__ == '__main__'"


def same_stdout(actual: str, expected: str) -> bool:
    """LiveCodeBench's stdout comparison (see the module docstring)."""
    got = [line.strip() for line in actual.strip().split("\n")]
    want = [line.strip() for line in expected.strip().split("\n")]
    if len(got) != len(want):
        return False
    return all(a == b or _same_numbers(a, b) for a, b in zip(got, want))


def _same_numbers(a: str, b: str) -> bool:
    try:
        return [Decimal(t) for t in a.split()] == [Decimal(t) for t in b.split()]
    except (InvalidOperation, ValueError):
        return False


def same_return(value: Any, expected_json: str) -> bool:
    """LiveCodeBench's call-based comparison: a tuple counts as a list, then plain equality."""
    if isinstance(value, tuple):
        value = list(value)
    return value == json.loads(expected_json)


def call_arguments(test_input: str) -> list[Any]:
    """One JSON value per input line, as LiveCodeBench splits them."""
    return [json.loads(line) for line in test_input.split("\n")]


def load_candidate(code: str, fn_name: str | None) -> Callable[..., Any]:
    """The callable under test: `wrapped_function` of a stdin program, or the named method."""
    namespace: dict[str, Any] = {"__name__": "__candidate__"}
    source = prelude() + "\n" + (as_function(code) if fn_name is None else code)
    exec(compile(source, "<candidate>", "exec"), namespace)  # noqa: S102 - inside the sandbox
    if fn_name is None:
        return namespace[WRAPPED]
    if "class Solution" in code and "Solution" in namespace:
        return getattr(namespace["Solution"](), fn_name)
    if fn_name not in namespace:
        raise NameError(f"the program defines no {fn_name}")
    return namespace[fn_name]


class Stream:
    """A text stream whose contents are replaced for each test.

    The object stays the same for the whole run, so names bound while the program loads
    (`from sys import stdin`, `input = sys.stdin.readline` hoisted by LiveCodeBench's prelude)
    still read the current test's input and write to its captured output.
    """

    def __init__(self) -> None:
        self.reset("")

    def reset(self, text: str) -> None:
        """Start over with `text` to read (stdin) or nothing written yet (stdout)."""
        self.text = text
        self._stream = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8",
                                        write_through=True)

    def written(self) -> str:
        """Everything written since the last reset."""
        self._stream.flush()
        return self._stream.buffer.getvalue().decode("utf-8", errors="replace")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self) -> Any:
        return iter(self._stream)

    def __next__(self) -> str:
        return next(self._stream)


def install_streams() -> tuple[Stream, Stream]:
    """Make sys.stdin, sys.stdout and `open(0)` the per-test streams, before the program loads."""
    stdin, stdout = Stream(), Stream()
    real_open = builtins.open

    def open_stdin(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if file in (0, "/dev/stdin"):
            return io.BytesIO(stdin.text.encode("utf-8")) if "b" in mode else io.StringIO(stdin.text)
        return real_open(file, mode, *args, **kwargs)

    sys.stdin, sys.stdout = stdin, stdout  # type: ignore[assignment]
    builtins.open = open_stdin  # type: ignore[assignment]
    return stdin, stdout


def run_stdio(function: Callable[[], Any], test_input: str, stdin: Stream, stdout: Stream) -> str:
    """Call a wrapped stdin program with `test_input` as stdin; its stdout as text."""
    stdin.reset(test_input)
    stdout.reset("")
    sys.stdin, sys.stdout = stdin, stdout  # type: ignore[assignment]  # the last test may have replaced them
    try:
        function()
    except SystemExit:  # LiveCodeBench lets a program exit early
        pass
    return stdout.written()


def _alarm(signum: int, frame: Any) -> None:
    raise TestTimeout


def run_tests(spec: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    """Load the candidate, then run its tests in order until one fails; report as documented."""
    timeout, fn_name = float(spec["timeout"]), spec.get("fn_name")
    streams = install_streams()
    signal.signal(signal.SIGALRM, _alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        candidate = load_candidate(spec["code"], fn_name)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except TestTimeout:
        return report({"failed": None, "reason": f"loading the program: timeout after {timeout}s"})
    except BaseException as error:  # noqa: BLE001 - any failure to load is the candidate's
        signal.setitimer(signal.ITIMER_REAL, 0)
        return report({"failed": None, "reason": f"loading the program: {_name(error)}"})
    for index, test in enumerate(spec["tests"]):
        report({"test": index})
        _limit_cpu(timeout)
        reason = _run_one(candidate, fn_name, test, timeout, streams)
        if reason is not None:
            return report({"failed": index, "reason": reason})
    report({"passed": len(spec["tests"])})


def _run_one(candidate: Callable[..., Any], fn_name: str | None, test: dict[str, str],
             timeout: float, streams: tuple[Stream, Stream]) -> str | None:
    """None when the test passes, else why not."""
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        if fn_name is None:
            ok = same_stdout(run_stdio(candidate, test["input"], *streams), test["output"])
        else:
            streams[1].reset("")
            ok = same_return(candidate(*call_arguments(test["input"])), test["output"])
        signal.setitimer(signal.ITIMER_REAL, 0)
    except TestTimeout:
        return f"timeout after {timeout}s"
    except BaseException as error:  # noqa: BLE001 - the candidate's runtime error
        signal.setitimer(signal.ITIMER_REAL, 0)
        return f"runtime error: {_name(error)}"
    return None if ok else "wrong output"


def _limit_cpu(timeout: float) -> None:
    """Let the kernel end this test's CPU time (SIGXCPU kills the process) less than a second
    after its timeout: a loop inside C code never returns to Python for the alarm to interrupt."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    wanted = math.ceil(usage.ru_utime + usage.ru_stime + timeout)  # >= timeout seconds from now
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))


def _name(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}".rstrip(": ")


def main() -> None:
    """Read the spec from stdin, run, and write the result lines to the real stdout."""
    spec = json.loads(sys.stdin.read())
    real_stdout, nonce = sys.stdout, str(spec["nonce"])

    def report(result: dict[str, Any]) -> None:
        real_stdout.write(f"{nonce} {json.dumps(result)}\n")
        real_stdout.flush()

    run_tests(spec, report)


if __name__ == "__main__":
    main()
