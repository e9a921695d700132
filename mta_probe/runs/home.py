"""Where mta keeps converted models and runs: `$MTA_HOME`, default `~/.cache/mta`."""

from __future__ import annotations

import os
from pathlib import Path


def mta_home() -> Path:
    """The cache directory (`MTA_HOME` or `~/.cache/mta`), created on first use."""
    root = Path(os.environ.get("MTA_HOME") or Path.home() / ".cache" / "mta").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
