"""Where the real benchmark files and the benchmarks' own scorers are, for tests that read them.

- Benchmarks: `$MTA_BENCHMARKS`, else the `shared/benchmarks` folder beside the project.
- Official scorers: the clone a test's own variable names (`MTA_KOR_CLONE`, ...), else its folder
  in `$MTA_SCORERS`, else in the `shared/scorers` folder beside the project (each laid out like a
  clone of its repository; its README gives the commits). CI runs on a checkout beside `shared/`,
  so it finds both without any variable.

A fresh clone has neither: those tests skip, saying which folder they looked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(os.environ.get("MTA_BENCHMARKS") or REPO.parent / "shared" / "benchmarks")
SCORERS = Path(os.environ.get("MTA_SCORERS") or REPO.parent / "shared" / "scorers")


def benchmark_dir(name: str) -> Path:
    """The folder of one benchmark (`kor-bench`, `bbh`, ...); skips the calling test when absent."""
    folder = BENCHMARKS / name
    if not folder.is_dir():
        pytest.skip(f"real benchmark files not found at {folder} (set MTA_BENCHMARKS)")
    return folder


def scorer_clone(variable: str, name: str, *markers: str) -> Path:
    """The clone of an official scorer: the folder `$variable` names, else `SCORERS / name`.

    Args:
        variable: the scorer's own variable (`MTA_KOR_CLONE`, ...); set, it wins.
        name: the scorer's folder in shared/scorers (`kor-bench`, `bbeh`, ...).
        markers: paths inside the clone, one of which must exist (the file the test loads).

    Returns:
        The clone's root. Skips the calling test, naming the folder and file it looked for, when
        none of the markers is there.
    """
    given = os.environ.get(variable, "").strip()
    clone = Path(given) if given else SCORERS / name
    if not any((clone / marker).exists() for marker in markers):
        pytest.skip(f"no {' or '.join(markers)} under {clone} (set {variable} to a clone, "
                    "or MTA_SCORERS to a folder of them)")
    return clone
