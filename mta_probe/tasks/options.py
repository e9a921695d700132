"""What a task needs beyond its name: local data folders, generator options, a file's verifier."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# The verifier keys a task may name. mta_probe.verify.VERIFIERS implements exactly these (checked
# when that table is built), so the task layer can refuse a bad --verifier without importing it.
VERIFIER_NAMES = ("math", "math-lenient", "exact", "normalized", "choice", "kor", "gym", "gym-lenient",
                  "code", "code-io")


@dataclass(frozen=True)
class TaskOptions:
    """What a task needs beyond its name.

    Attributes:
        data_dir: root of a local clone, for tasks that read one: KOR-Bench (a git clone of
            github.com/KOR-Bench/KOR-Bench; else env MTA_KOR_BENCH) and SynLogic (a clone of the
            hub repo MiniMaxAI/SynLogic; else env MTA_SYNLOGIC, else the hub).
        gym: generator options for `gym:NAME`: size (default 50), seed (default 0) and any field
            of that dataset's config, as text; parsed to the field's declared type.
        verifier: the verifier of a user JSONL file (a key of VERIFIERS); ignored for named tasks.
    """

    data_dir: Path | None = None
    gym: dict[str, str] = field(default_factory=dict)
    verifier: str | None = None


def env_path(name: str) -> Path | None:
    """The path in environment variable `name`, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None
