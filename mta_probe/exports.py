"""How a package exports its verbs without importing them: `import mta_probe` and `mta --help`
stay fast, and numpy, torch or a verifier's parser load only when a verb that needs them is used.

A package lists `name -> module` and hands the table to `lazy_exports`; its `__getattr__`
imports the module on first use (PEP 562). The package also imports every name under
`TYPE_CHECKING`, so type checkers and readers see what each name is;
tests/test_exports.py checks that the two lists agree and that `mta --help` loads nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, which exports each name of `exports` from the
    module it maps to."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
