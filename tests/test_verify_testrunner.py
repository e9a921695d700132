"""LiveCodeBench's rules as mta_probe/verify/testrunner.py keeps them: the pure parts, in-process
(the sandboxed runs are in tests/test_verify_coding.py). LiveCodeBench's own comparison, from
lcb_runner/evaluation/testing_util.py of a clone (MTA_LCB_CLONE, else shared/scorers/livecodebench:
tests/benchdata.py), is the reference."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from benchdata import scorer_clone

from mta_probe.verify import testrunner

# (program output, expected output, LiveCodeBench's verdict)
STDOUT_CASES = [
    ("0.50\n", "0.5", True),  # numbers compare as decimals
    ("1  2 3", "1 2 3", True),  # whitespace between numbers
    (" 7 \n\n", "7\n", True),  # surrounding whitespace and blank lines
    ("1e3", "1000", True),
    ("-0", "0", True),
    ("3\n4\n", "3\n4", True),
    ("Yes\r\n", "Yes", True),  # a line is stripped, \r included
    ("a  b", "a b", False),  # words are not split: only numbers are
    ("1\n2", "1 2", False),  # line structure counts
    ("0.5000001", "0.5", False),  # exact decimals, no tolerance
    ("1,2", "1 2", False),
    ("", "0", False),
    ("nan", "nan", True),  # equal text, before any number parsing
    ("inf", "Infinity", True),  # Decimal reads both
]


@pytest.mark.parametrize(("actual", "expected", "same"), STDOUT_CASES)
def test_same_stdout(actual: str, expected: str, same: bool) -> None:
    assert testrunner.same_stdout(actual, expected) is same


@pytest.mark.parametrize(("value", "expected", "same"), [
    ((1, 2), "[1, 2]", True),  # a tuple counts as a list
    ([1, 2], "[1, 2]", True),
    (0.1 + 0.2, "0.3", False),  # plain equality, as LiveCodeBench compares return values
    ("x", "\"x\"", True),
    (True, "true", True),
    ([[1]], "[[1]]", True),
])
def test_same_return(value: object, expected: str, same: bool) -> None:
    assert testrunner.same_return(value, expected) is same


def test_call_arguments_one_json_value_per_line() -> None:
    assert testrunner.call_arguments('[1, 2]\n"ab"\n3') == [[1, 2], "ab", 3]


def test_as_function_unwraps_main_and_hoists_imports() -> None:
    code = "import sys\nx = 1\nif __name__ == \"__main__\":\n    print(x)\n"
    wrapped = testrunner.as_function(code)
    assert wrapped.splitlines()[0] == "import sys" and "\ndef wrapped_function():\n" in wrapped
    assert "__name__" not in wrapped and "print(x)" in wrapped
    assert "pass" in testrunner.as_function("import os")
    with pytest.raises(SyntaxError):
        testrunner.as_function("print(1 +)")


def test_prelude_is_livecodebench_s() -> None:
    text = testrunner.prelude()
    assert "from collections import *" in text and "import heapq\n" in text
    assert "import typing\n" not in text and text.endswith("sys.setrecursionlimit(50000)\n")


def _lcb_testing_util() -> ModuleType:
    inside = "lcb_runner/evaluation/testing_util.py"
    path = scorer_clone("MTA_LCB_CLONE", "livecodebench", inside) / inside
    spec = importlib.util.spec_from_file_location("lcb_testing_util", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_stdout_agrees_with_livecodebench() -> None:
    lcb = _lcb_testing_util()

    def theirs(actual: str, expected: str) -> bool:  # grade_stdio's comparison, line by line
        got, want = lcb.get_stripped_lines(actual), lcb.get_stripped_lines(expected)
        if len(got) != len(want):
            return False
        for a, b in zip(got, want):
            if a == b:
                continue
            ok_a, da = lcb.convert_line_to_decimals(a)
            ok_b, db = lcb.convert_line_to_decimals(b)
            if not (ok_a and ok_b and da == db):
                return False
        return True

    for actual, expected, same in STDOUT_CASES:
        assert theirs(actual, expected) is same, (actual, expected)
        assert testrunner.same_stdout(actual, expected) is same


def test_stdio_programs_agree_with_livecodebench() -> None:
    lcb = _lcb_testing_util()
    inputs, outputs = ["1 2\n", "3 4\n"], ["3\n", "7.0\n"]
    for code, results in [("a, b = map(int, input().split())\nprint(a + b)", [True, True]),
                          ("a, b = map(int, input().split())\nprint(a - b)", [-2])]:
        assert lcb.grade_stdio(code, inputs, outputs, timeout=2)[0] == results
