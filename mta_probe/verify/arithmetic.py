"""Evaluating a model-written arithmetic expression without running it as code.

KOR-Bench's puzzle rules 9 and 10 (equations, the 24 game) check an answer by calling Python's
`eval` on the model's text. mta never evaluates model text as code: `evaluate_arithmetic` parses
it with `ast` and computes only numbers, parentheses and the operators `+ - * / // % **`, with
Python's own semantics (true division, `6/4*4 == 6.0`), so every expression `eval` would compute
gives the same value here, and everything else (names, calls such as `3(4+5)`, attributes,
strings) gives None, as `eval` raising would.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

BINARY: dict[type[ast.operator], Callable[[complex, complex], complex]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY: dict[type[ast.unaryop], Callable[[complex], complex]] = {
    ast.UAdd: operator.pos, ast.USub: operator.neg,
}
# Larger powers are no answer to a puzzle, and 9**9**9 would not finish.
MAX_EXPONENT = 64
MAX_LENGTH = 2000


def evaluate_arithmetic(text: str) -> int | float | complex | None:
    """The value of an arithmetic expression, or None where Python's `eval` would fail or where
    the text is anything but arithmetic.

    Args:
        text: the expression, e.g. `(8-2)*(3+1)`.

    Returns:
        Its value (int, float or, for `2j`-style literals, complex), or None.

    Examples:
        >>> evaluate_arithmetic("(8 - 2) * (3 + 1)")
        24
        >>> evaluate_arithmetic("3(4+5)") is None
        True
    """
    if len(text) > MAX_LENGTH:
        return None
    try:
        # eval() ignores leading spaces and tabs; ast.parse would call them an indent.
        tree = ast.parse(text.lstrip(" \t"), mode="eval")
        return _value(tree.body)
    except (SyntaxError, ValueError, TypeError, ArithmeticError, RecursionError, MemoryError):
        return None


def _value(node: ast.expr) -> int | float | complex:
    """The value of one node; TypeError for anything outside the arithmetic subset."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, complex):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ArithmeticError("exponent too large")
        return BINARY[type(node.op)](left, right)
    raise TypeError(f"not arithmetic: {type(node).__name__}")
