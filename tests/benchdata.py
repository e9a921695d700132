"""Where the real benchmark files are, for tests that read them: `$MTA_BENCHMARKS`, else the
`shared/benchmarks` folder beside the project (a fresh clone has none: those tests skip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(os.environ.get("MTA_BENCHMARKS") or REPO.parent / "shared" / "benchmarks")


def benchmark_dir(name: str) -> Path:
    """The folder of one benchmark (`kor-bench`, `bbh`, ...); skips the calling test when absent."""
    folder = BENCHMARKS / name
    if not folder.is_dir():
        pytest.skip(f"real benchmark files not found at {folder} (set MTA_BENCHMARKS)")
    return folder
