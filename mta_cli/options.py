"""The options several commands share, declared once: what a task needs beyond its name, the
engine to sample with, the experiment trackers. Choices and help come from the library's tables
(VERIFIERS, BACKENDS, TRACKERS),
so a new row shows up in every command's help. The tables are light: importing them loads no
numerical library (tests/test_exports.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mta_cli.parsing import parse_engine_options, parse_options
from mta_probe.runs import TRACKERS
from mta_probe.sampling import BACKENDS
from mta_probe.verify import VERIFIERS

if TYPE_CHECKING:
    from mta_probe.tasks import TaskOptions

DataDirOption = Annotated[Optional[Path], typer.Option(
    help="local benchmark files (docs/tasks.md; or $MTA_DATA_DIR)")]
GymOption = Annotated[Optional[list[str]], typer.Option(
    help="reasoning-gym option KEY=VALUE of a gym:NAME task, repeatable (size, seed, any config field)")]
VerifierOption = Annotated[Optional[str], typer.Option(
    help=f"verifier of a JSONL task file: {', '.join(VERIFIERS)}")]
BackendOption = Annotated[Optional[str], typer.Option(
    help="; ".join(f"{name}: {row.summary}" for name, row in BACKENDS.items())
    + " (default: vllm on a GPU with vLLM installed, else hf)")]
EngineOption = Annotated[Optional[list[str]], typer.Option(
    help="backend option KEY=VALUE, repeatable (docs/backends.md: max_batch, dtype, problems_per_call, ...)")]

LoggerOption = Annotated[Optional[list[str]], typer.Option(
    "--logger", help="experiment tracker, repeatable: " + ", ".join(n for n, row in TRACKERS.items() if row.local)
    + "; verl also " + ", ".join(n for n, row in TRACKERS.items() if not row.local)
    + " (docs/train.md, 'Watching a run')")]


def task_options(data_dir: Path | None, gym_option: list[str] | None, verifier: str | None) -> TaskOptions:
    """The TaskOptions the three task options ask for (BadInputError for a bad KEY=VALUE)."""
    from mta_probe.tasks import TaskOptions

    return TaskOptions(data_dir=data_dir, gym=parse_options(gym_option or []), verifier=verifier)


def engine_options(engine_option: list[str] | None, **named: object) -> dict[str, object]:
    """The backend's options: `--engine-option` pairs, then the named options that were given."""
    options: dict[str, object] = dict(parse_engine_options(engine_option or []))
    options.update({key: value for key, value in named.items() if value is not None})
    return options


def loggers(logger: list[str] | None) -> tuple[str, ...]:
    """The `--logger` values as the settings take them."""
    return tuple(logger or ())
