"""Experiment trackers: where a run's numbers go besides its own files, when the user asks.

`TRACKERS` is the table of the loggers a run may name (verl's `trainer.logger` names);
`check_loggers` refuses an unknown one, or one whose package is missing, in one line;
`open_trackers` opens the named ones for one run. Runs are named as mta passes them to verl:
project "mta", the run directory's name. Their files stay in the run directory: TensorBoard's
event files in `<run>/tensorboard/`, wandb's in `<run>/wandb/` (unless WANDB_DIR says
otherwise; WANDB_MODE=offline keeps a run on disk, `wandb sync` uploads it later).

Nothing here imports a tracker's package until a run asks for that tracker: a run without
`--logger` pays nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from mta_probe.errors import BackendError, BadInputError, first_line

PROJECT = "mta"  # verl's trainer.project_name for every mta run (mta_train/verl_config.py)
TENSORBOARD_DIR = "tensorboard"  # inside the run directory


@dataclass(frozen=True)
class Tracker:
    """One logger a run may name.

    Attributes:
        summary: what it is and where it writes, for `--logger`'s help.
        package: the module it needs (None: nothing beyond mta).
        install: what installs that package, named by the error when it is missing.
        local: mta's local trainer and its probes log to it themselves; False: it is passed to
            verl's `trainer.logger` only (verl's own `Tracking` logs to it).
    """

    summary: str
    package: str | None
    install: str
    local: bool


TRACKERS: dict[str, Tracker] = {
    "console": Tracker("every metric of a step on one line, as verl's console logger", None, "", True),
    "tensorboard": Tracker("event files in <run>/tensorboard (tensorboard --logdir)", "tensorboard",
                           "pip install tensorboard", True),
    "wandb": Tracker("Weights & Biases, files in <run>/wandb (WANDB_MODE=offline: no upload)", "wandb",
                     "pip install wandb", True),
    "mlflow": Tracker("MLflow (verl backend only)", "mlflow", "pip install mlflow", False),
    "swanlab": Tracker("SwanLab (verl backend only)", "swanlab", "pip install swanlab", False),
    "clearml": Tracker("ClearML (verl backend only)", "clearml", "pip install clearml", False),
}


def check_loggers(names: Sequence[str], *, local: bool) -> None:
    """Refuse a logger mta does not know, one only verl logs to when mta itself must (`local`),
    or one whose package is not installed.

    Raises:
        BadInputError: one line naming the logger and what to do.
    """
    for name in names:
        row = TRACKERS.get(name)
        if row is None:
            raise BadInputError(f"unknown logger {name!r}; use {', '.join(TRACKERS)} (mta always writes its "
                                "own files)")
        if local and not row.local:
            mine = ", ".join(n for n, r in TRACKERS.items() if r.local)
            raise BadInputError(f"logger {name!r} is passed to verl only (--backend verl); the local trainer "
                                f"and the probes log to {mine}")
        if row.package and importlib.util.find_spec(row.package) is None:
            raise BadInputError(f"logger {name!r} needs the {row.package} package: {row.install}")


class _Sink:
    """What each tracker does with a run's numbers (the base does nothing)."""

    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def curve(self, name: str, x: str, rows: list[dict[str, float]]) -> None: ...

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None: ...

    def summary(self, name: str, values: dict[str, Any]) -> None: ...

    def close(self, failed: bool) -> None: ...


class _Console(_Sink):
    """One line a step through the run's status callback (the library never prints)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def log(self, metrics: dict[str, float], step: int) -> None:
        self.say(f"step:{step} - " + " - ".join(f"{key}:{value:.4g}" for key, value in metrics.items()))

    def curve(self, name: str, x: str, rows: list[dict[str, float]]) -> None:
        self.say(f"{name}: " + ", ".join(f"{x}={row[x]:g} {_first_value(row, x):.3f}" for row in rows))

    def summary(self, name: str, values: dict[str, Any]) -> None:
        self.say(f"{name}: " + " - ".join(f"{key}:{_short(value)}" for key, value in values.items()))


class _TensorBoard(_Sink):
    """torch's SummaryWriter (what verl's tensorboard logger uses) on `<run>/tensorboard`."""

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def curve(self, name: str, x: str, rows: list[dict[str, float]]) -> None:
        # TensorBoard plots scalars against their step: the curve's x (k) is the step.
        for row in rows:
            for key, value in row.items():
                if key != x:
                    self.writer.add_scalar(f"{name}/{key}", value, int(row[x]))
        self.writer.flush()

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.writer.add_text(name, _markdown(columns, rows), 0)

    def summary(self, name: str, values: dict[str, Any]) -> None:
        self.writer.add_text(name, _markdown(["name", "value"], [[k, v] for k, v in values.items()]), 0)
        for key, value in _numbers(values).items():
            self.writer.add_scalar(f"{name}/{key}", value, 0)
        self.writer.flush()

    def close(self, failed: bool) -> None:
        self.writer.close()


class _Wandb(_Sink):
    """A wandb run named after the run directory, its files under it."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None) -> None:
        import wandb

        self.wandb = wandb
        try:
            self.run = wandb.init(project=PROJECT, name=run_dir.name, config=config,
                                  dir=None if os.environ.get("WANDB_DIR") else str(run_dir))
        except Exception as exc:  # wandb raises its own kinds for a missing login, a bad key, a network
            raise BackendError(f"wandb could not start a run ({first_line(exc)}); log in with `wandb login`, "
                               "or set WANDB_MODE=offline to keep the run on disk") from None

    def log(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def curve(self, name: str, x: str, rows: list[dict[str, float]]) -> None:
        columns = list(rows[0])
        table = self.wandb.Table(columns=columns, data=[[row[c] for c in columns] for row in rows])
        series = [c for c in columns if c != x]
        chart = self.wandb.plot.line_series(xs=[row[x] for row in rows],
                                            ys=[[row[c] for row in rows] for c in series],
                                            keys=series, title=name, xname=x)
        self.run.log({name: chart, f"{name}/table": table})

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.run.log({name: self.wandb.Table(columns=columns, data=rows)})

    def summary(self, name: str, values: dict[str, Any]) -> None:
        self.run.summary.update({f"{name}/{key}": value for key, value in values.items()})

    def close(self, failed: bool) -> None:
        self.run.finish(exit_code=1 if failed else 0)


class Trackers:
    """The trackers of one run, open; with none, every method does nothing.

    `log` sends one step's scalars (None and non-numbers are left out: a tracker plots numbers);
    `curve` a curve over x (pass@k over k), `table` rows, `summary` the run's final values under
    `name/` (TensorBoard: a text table and scalars at step 0; wandb: the run summary).
    """

    def __init__(self, sinks: list[_Sink]) -> None:
        self.sinks = sinks

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        numbers = _numbers(metrics)
        if numbers:
            for sink in self.sinks:
                sink.log(numbers, step)

    def curve(self, name: str, x: str, rows: list[dict[str, float]]) -> None:
        if rows:
            for sink in self.sinks:
                sink.curve(name, x, rows)

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        for sink in self.sinks:
            sink.table(name, columns, rows)

    def summary(self, name: str, values: Mapping[str, Any]) -> None:
        for sink in self.sinks:
            sink.summary(name, dict(values))

    def close(self, failed: bool = False) -> None:
        """Flush and close every tracker (wandb marks the run failed when `failed`)."""
        sinks, self.sinks = self.sinks, []
        for sink in sinks:
            sink.close(failed)

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close(failed=kind is not None)


def open_trackers(names: Sequence[str], run_dir: Path, *, config: dict[str, Any] | None = None,
                  on_status: Callable[[str], None] | None = None) -> Trackers:
    """Open the loggers `names` (keys of TRACKERS that mta logs to itself) for the run in `run_dir`.

    Args:
        names: the loggers asked for; empty: a Trackers that does nothing and imports nothing.
        run_dir: the run directory: names the run, holds the trackers' files.
        config: the run's settings, JSON-ready (wandb's run config).
        on_status: where the console logger's lines go.

    Raises:
        BadInputError: an unknown logger, one only verl logs to, a missing package.
        BackendError: wandb could not start (not logged in and not offline).
    """
    check_loggers(names, local=True)
    say = on_status or (lambda _line: None)
    opened: list[_Sink] = []
    try:
        for name in dict.fromkeys(names):
            if name == "console":
                opened.append(_Console(say))
            elif name == "tensorboard":
                opened.append(_TensorBoard(run_dir))
            elif name == "wandb":
                opened.append(_Wandb(run_dir, config))
    except BaseException:
        Trackers(opened).close(failed=True)
        raise
    return Trackers(opened)


def _numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values (bools as 0/1), None and text left out."""
    return {key: float(value) for key, value in values.items() if isinstance(value, (int, float))}


def _first_value(row: dict[str, float], x: str) -> float:
    return next(value for key, value in row.items() if key != x)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _markdown(columns: list[str], rows: list[list[Any]]) -> str:
    """A markdown table (TensorBoard's text plugin renders it); cells on one line."""
    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
