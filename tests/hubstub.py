"""A stand-in for the `datasets` package: hub loaders run on rows the test hands over."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest


def fake_hub(monkeypatch: pytest.MonkeyPatch, rows: dict[tuple[str, str | None], list[dict]] | None
             = None, error: Exception | None = None) -> list[tuple]:
    """Replace the `datasets` package: load_dataset returns `rows[(repo, config)]` or raises."""
    calls: list[tuple] = []

    def load_dataset(repo: str, config: str | None = None, *, split: str, data_files: Any = None):
        calls.append((repo, config, split, data_files))
        if error is not None:
            raise error
        return rows[(repo, config)]

    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls
