"""What a train run is and writes about itself: its identity, `train.json`, its default directory."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.runs import mta_home
from mta_train.settings import TrainSettings

TRAIN_FILE = "train.json"


@dataclass(frozen=True)
class TrainResult:
    """A finished (or, with --dry-run, prepared) train run.

    Attributes:
        run_dir: the run directory (train.json, metrics.jsonl, gains.json, ...).
        gains: the gains.json payload (None for a dry run).
        command: the verl command line (verl backend only).
    """

    run_dir: Path
    gains: dict[str, Any] | None
    command: list[str] | None = None


def default_train_dir(settings: TrainSettings, model_name: str) -> Path:
    """`$MTA_HOME/runs/train/<technique>__<model>__<task>__<backend>__s<seed>`; a reward variant
    other than the paper's joins the technique (`random-shao`), and so does a KL penalty."""
    technique = settings.technique + ("" if settings.variant == "paper" else f"-{settings.variant}")
    parts = [technique, model_name, settings.task, settings.backend, f"s{settings.dapo.seed}"]
    if settings.dapo.kl_coef:
        parts.insert(1, f"kl{settings.dapo.kl_coef:g}")
    name = "__".join(parts)
    return mta_home() / "runs" / "train" / "".join(c if c.isalnum() or c in "-._" else "_"
                                                   for c in name)


def run_identity(settings: TrainSettings, model_path: str) -> dict[str, Any]:
    """What makes a run directory this run: every setting but where it lives, --dry-run and
    the trackers it is watched with (a run resumed with another --logger is the same run)."""
    record = settings.as_json()
    for name in ("run_dir", "dry_run", "loggers"):
        record.pop(name, None)
    return {"kind": "train", **record, "model_path": model_path}


def train_record(settings: TrainSettings, ref: Any, train_task: str) -> dict[str, Any]:
    """The train.json payload (format in docs/train.md)."""
    return {"model": ref.name, "model_path": str(ref.path), "technique": settings.technique,
            "task": settings.task, "trained_on": train_task, "backend": settings.backend,
            "kl_coef": settings.dapo.kl_coef, "settings": settings.as_json(),
            "written_at": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ")}
