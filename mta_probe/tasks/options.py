"""What a task needs beyond its name: local data folders, generator options, a file's verifier."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mta_probe.errors import DataUnavailableError

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


# One folder for every benchmark's local files, one subfolder each, named as in the table of
# docs/tasks.md (kor-bench, synlogic, math500, aime24, amc23, bbh, bbeh, livecodebench): what a
# compute node without internet reads instead of the hub.
DATA_DIR_VARIABLE = "MTA_DATA_DIR"


def local_data(options: TaskOptions, name: str, expected: str | tuple[str, ...], *,
               env_var: str | None = None, how: str = "", label: str | None = None) -> Path | None:
    """The local folder of benchmark `name`, or None when none was given (the hub is used then).

    Candidates, in order: `options.data_dir` itself and its subfolder `name`; the same for the
    benchmark's own variable `env_var`; `$MTA_DATA_DIR/name`. The first that holds a file matching
    one of the globs `expected` wins.

    Args:
        options: the task options (`--data-dir`).
        name: the benchmark's folder name (`math500`, `bbh`, `kor-bench`, ...).
        expected: globs relative to the folder that its files match (`test.jsonl`, `*.json`).
        env_var: the benchmark's own variable (`MTA_KOR_BENCH`), if it has one.
        how: one sentence on how to get the files, added to the error.
        label: what is missing, in messages (default `<name> files`).

    Raises:
        DataUnavailableError: a folder was given (option or variable) and none of the candidates
            holds the expected files; a wrong path never falls back to the hub silently.
    """
    given = [p for p in (options.data_dir, env_path(env_var) if env_var else None) if p is not None]
    shared = env_path(DATA_DIR_VARIABLE)
    candidates = [c for p in given for c in (Path(p), Path(p) / name)]
    candidates += [shared / name] if shared is not None else []
    patterns = (expected,) if isinstance(expected, str) else expected
    for folder in candidates:
        if any(any(folder.glob(pattern)) for pattern in patterns):
            return folder
    if given or (shared is not None and (shared / name).exists()):
        where = ", ".join(str(c) for c in candidates)
        raise DataUnavailableError(f"no {label or name + ' files'} ({' or '.join(patterns)}) under {where}"
                                   + (f": {how}" if how else ""))
    return None
