"""The stand-in vLLM (tests/standins/vllm) made importable for one test, and gone after it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

STANDINS = Path(__file__).resolve().parent / "standins"


def _drop_vllm() -> None:
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        del sys.modules[name]


@pytest.fixture
def standin_vllm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """`import vllm` gives the stand-in during the test; after it, vllm is absent again. A hub
    ID is handed to the engine as is (mta fetches hub models before an engine starts; there is
    no hub here, and the stand-in loads nothing)."""
    import mta_probe.sampling.models as models

    monkeypatch.setattr(models, "fetch_hub_model", lambda repo, revision=None, on_status=None: Path(repo))
    _drop_vllm()
    monkeypatch.syspath_prepend(str(STANDINS))
    module = importlib.import_module("vllm")
    module.FAULTS.clear()
    yield module
    _drop_vllm()
