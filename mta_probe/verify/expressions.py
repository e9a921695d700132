"""Evaluating an expression from a model's answer without running it as code.

Several of SynLogic's verifiers (arrow_maze, cipher, game_of_24, goods_exchange, math_path) call
Python's `eval` on the model's answer text, to read a grid, a tuple of pairs or an arithmetic
expression. In mta those verifiers run in the verifier pool's worker, outside the sandbox, so
`mta_probe.verify.synlogic` hands them `evaluate_expression` in place of `eval`: it computes
literals (numbers, strings, lists, tuples, sets, dicts), arithmetic, comparisons and boolean
operators, and refuses everything else (names, calls, attributes, subscripts, comprehensions,
lambdas) with a ValueError, which those verifiers already treat as a wrong answer. Every answer
SynLogic's prompts ask for is such an expression.
"""

from __future__ import annotations

import ast
from typing import Any

# Node types an answer may contain: literals, containers and operators, nothing that names,
# calls or looks up anything.
ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Load,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)


def evaluate_expression(source: Any, globals: Any = None, locals: Any = None) -> Any:
    """The value of `source`, an expression of literals and operators; `eval`'s signature.

    Args:
        source: the expression text.
        globals, locals: accepted for `eval`'s signature and ignored: no name is ever looked up.

    Returns:
        The value.

    Raises:
        ValueError: the text holds anything but literals and operators.
        SyntaxError: it is not an expression.
        TypeError: `source` is not text.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if not isinstance(source, str):
        raise TypeError(f"expected the text of an expression, got {type(source).__name__}")
    tree = ast.parse(source.strip(), mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in an answer")
    # Only literals and operators are left: nothing to look up, call or import.
    return eval(compile(tree, "<answer>", "eval"), {"__builtins__": {}}, {})
