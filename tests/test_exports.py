"""Packages export their verbs lazily (mta_probe/exports.py): the lists agree, every name resolves,
and `mta --help` loads no numerical library."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mta_probe", "mta_train", "mta_report")
# What a help screen must not pay for: each takes from 0.1 s (numpy) to seconds (torch) to import.
HEAVY = ("numpy", "scipy", "torch", "transformers", "rapidfuzz", "rouge_score", "math_verify",
         "sympy", "matplotlib", "reasoning_gym", "verl", "ray", "vllm", "pandas", "pyarrow")


def _type_checking_names(package: str) -> dict[str, str]:
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    return {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}


@pytest.mark.parametrize("package", PACKAGES)
def test_exports_match_the_type_checking_imports_and_resolve(package: str) -> None:
    module = importlib.import_module(package)
    assert module._EXPORTS == _type_checking_names(package)
    assert module.__all__ == sorted(module._EXPORTS)
    for name, home in module._EXPORTS.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(module, "nope")


@pytest.mark.parametrize("argv", [["--help"], ["probe", "--help"], ["probe", "passk", "--help"],
                                  ["train", "--help"], ["report", "--help"], ["data", "--help"]])
def test_help_loads_no_numerical_library(argv: list[str]) -> None:
    code = ("import sys\nfrom mta_cli.main import app\n"
            f"try:\n    app({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
