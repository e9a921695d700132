"""Resolve mta's GPU environment (core dependencies + the `gpu` extra) against the package index
with pip, installing nothing, and write the pins to locks/gpu.txt.

    python3 locks/resolve_gpu.py            # minutes: pip reads metadata of ~270 packages

The header records the digest of pyproject.toml's dependency tables, so tests/test_locks.py can
tell when the pins no longer follow from pyproject.toml. The pins hold for the platform and
Python the command ran on (both in the header).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "locks" / "gpu.txt"


def dependency_tables(pyproject: Path) -> dict:
    project = tomllib.loads(pyproject.read_text())["project"]
    return {"dependencies": project["dependencies"], "optional-dependencies": project["optional-dependencies"]}


# Extras that never enter the GPU environment (the `gpu` extra names neither): the test tools and
# the experiment trackers (verl 0.9.1 brings wandb and tensorboard into it itself). A change
# there needs no new lock.
NOT_LOCKED = ("dev", "track")


def digest(pyproject: Path) -> str:
    """sha256 of the dependency tables the lock follows from (all but NOT_LOCKED), as canonical JSON."""
    tables = dependency_tables(pyproject)
    tables["optional-dependencies"] = {name: reqs for name, reqs in tables["optional-dependencies"].items()
                                       if name not in NOT_LOCKED}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()


def requirements(pyproject: Path, extra: str = "gpu") -> list[str]:
    """Core dependencies and `extra`, with mta[...] self-references expanded."""
    tables = dependency_tables(pyproject)
    extras = tables["optional-dependencies"]

    def expand(reqs: list[str]) -> list[str]:
        out: list[str] = []
        for req in reqs:
            if req.startswith("mta["):
                for name in req[4:req.index("]")].split(","):
                    out += expand(extras[name.strip()])
            else:
                out.append(req)
        return out

    return tables["dependencies"] + expand(extras[extra])


def resolve(pyproject: Path) -> dict[str, str]:
    """name -> version of everything pip would install for the GPU environment."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), *requirements(pyproject)], check=True, capture_output=True)
        installs = json.loads(report.read_text())["install"]
    return {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"] for i in installs}


def main() -> None:
    started, source = time.monotonic(), digest(ROOT / "pyproject.toml")  # what is resolved
    pins = resolve(ROOT / "pyproject.toml")
    header = [
        "# mta's GPU environment: pyproject.toml's dependencies + the `gpu` extra, resolved by",
        "# `python3 locks/resolve_gpu.py` (pip install --dry-run --ignore-installed; nothing installed).",
        f"# pyproject-dependencies-sha256: {source}",
        f"# resolved-on: {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.system().lower()} {platform.machine()}, {len(pins)} packages, "
        f"{time.monotonic() - started:.0f} s",
    ]
    LOCK.write_text("\n".join(header + [f"{name}=={version}" for name, version in sorted(pins.items())]) + "\n")
    print(f"wrote {LOCK}: {len(pins)} pins")


if __name__ == "__main__":
    main()
