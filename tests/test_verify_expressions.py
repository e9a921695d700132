"""Answers evaluated as literals and arithmetic, never run (mta_probe/verify/expressions.py)."""

from __future__ import annotations

import pytest

from mta_probe.verify.expressions import evaluate_expression


@pytest.mark.parametrize(("text", "value"), [
    ("[['↑', '2'], ['X', '→']]", [["↑", "2"], ["X", "→"]]),  # arrow_maze's grid
    ("(('Ann','red pen'),('Bo','cup'))", (("Ann", "red pen"), ("Bo", "cup"))),  # goods_exchange
    ("[['ABC']]", [["ABC"]]),  # cipher
    ("(8-5)*(9-7)*4", 24),  # game_of_24
    ("8/(3-8/3)", 8 / (3 - 8 / 3)),
    ("3+4==7", True),  # math_path, after its '=' -> '=='
    ("7%2*3==3 and not False", True),
    ("{'A': [(1, 1)], 'B': [(3, 2)]}", {"A": [(1, 1)], "B": [(3, 2)]}),
    ("  -2**2  ", -4),
])
def test_literals_and_arithmetic_are_computed(text: str, value: object) -> None:
    assert evaluate_expression(text) == value


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
    "(1).__class__",
    "[x for x in (1, 2)]",
    "lambda: 1",
    "abs(-1)",
    "a",
    "[1][0]",
    "f'{1}'",
])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not allowed in an answer"):
        evaluate_expression(text)


def test_statements_and_non_text_are_refused() -> None:
    with pytest.raises(SyntaxError):
        evaluate_expression("x = 1")
    with pytest.raises(TypeError):
        evaluate_expression(compile("1", "<s>", "eval"))
