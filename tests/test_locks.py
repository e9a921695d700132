"""One GPU environment for probe and train: locks/gpu.txt follows from pyproject.toml, satisfies
every requirement of mta and of the `gpu` extra, and pins the vLLM and transformers that verl
0.9.1's own `vllm` extra accepts. Re-resolving against PyPI (minutes) is opt-in:
MTA_NETWORK_TESTS=1 python3 -m pytest tests/test_locks.py."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "locks"))
import resolve_gpu


def pins() -> dict[str, Version]:
    lines = (ROOT / "locks" / "gpu.txt").read_text().splitlines()
    return {name: Version(version) for name, version in
            (line.split("==") for line in lines if line and not line.startswith("#"))}


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_the_lock_was_resolved_from_this_pyproject() -> None:
    header = (ROOT / "locks" / "gpu.txt").read_text()
    assert f"pyproject-dependencies-sha256: {resolve_gpu.digest(ROOT / 'pyproject.toml')}" in header, (
        "pyproject.toml's dependencies changed since locks/gpu.txt was written: python3 locks/resolve_gpu.py")


def test_every_requirement_of_mta_and_the_gpu_extra_holds_in_the_lock() -> None:
    locked = {canonical(name): version for name, version in pins().items()}
    for line in resolve_gpu.requirements(ROOT / "pyproject.toml"):
        req = Requirement(line)
        assert canonical(req.name) in locked, f"{req.name} is not in the lock"
        assert req.specifier.contains(locked[canonical(req.name)], prereleases=True), (
            f"{line}: locked {locked[canonical(req.name)]}")
    assert locked["vllm"] == Version("0.24.0") and locked["verl"] == Version("0.9.1")


@pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")
def test_the_lock_keeps_verls_own_vllm_pins() -> None:
    """verl 0.9.1's `vllm` extra (its METADATA) pins vllm and torch; the lock must agree, and its
    transformers must lie in verl's core range."""
    locked = {canonical(name): version for name, version in pins().items()}
    requires = [Requirement(r) for r in metadata.requires("verl") or []]
    in_vllm_extra = [r for r in requires if r.marker and r.marker.evaluate({"extra": "vllm"})]
    pinned = {canonical(r.name): r for r in in_vllm_extra if canonical(r.name) in ("vllm", "torch")}
    assert set(pinned) == {"vllm", "torch"}
    for name, req in pinned.items():
        assert req.specifier.contains(locked[name]), f"verl pins {req}, the lock has {locked[name]}"
    core = next(r for r in requires if canonical(r.name) == "transformers" and not r.marker)
    assert core.specifier.contains(locked["transformers"])


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MTA_NETWORK_TESTS") != "1", reason="resolving against PyPI takes minutes: "
                    "MTA_NETWORK_TESTS=1 runs it")
def test_pypi_still_resolves_the_gpu_environment_to_the_lock() -> None:
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable")
    resolved = resolve_gpu.resolve(ROOT / "pyproject.toml")
    locked = pins()
    for name in ("vllm", "verl", "torch", "transformers", "ray"):
        assert Version(resolved[name]) == locked[name], f"{name}: PyPI resolves {resolved[name]}, lock {locked[name]}"
