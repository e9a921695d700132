"""Reading a train run's directory: what was trained (`train.json`), its gains per evaluation
task (`gains.json`), its training curves (`metrics.jsonl`), and the recipe that tells seeds of one
experiment from other experiments."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import read_json as runs_read_json

TRAIN_FILE = "train.json"
GAINS_FILE = "gains.json"
METRICS_FILE = "metrics.jsonl"


def read_json(path: Path) -> dict[str, Any]:
    """A result file of a run the user named (`mta_probe.runs.read_json`)."""
    return runs_read_json(path, "is it a run directory written by mta?")


def field_of(payload: dict[str, Any], key: str, path: Path) -> Any:
    if key not in payload:
        raise BadInputError(f"{path} has no {key!r}; is it a file written by mta?")
    return payload[key]


@dataclass(frozen=True)
class TaskGain:
    """One eval task of `gains.json`; accuracies are avg@k in 0..1, as the file holds them.

    `before_run` is the probe run that measured `before` (the base model on the task), or "".
    """

    task: str
    before: float
    after: float
    gain: float
    num_problems: int
    before_run: str = ""


@dataclass(frozen=True)
class TrainRun:
    """A train run: what was trained, its gains per eval task, and its per-step metrics.

    Attributes:
        path: the run directory.
        name: a short label for plots (technique, model, task, and seed where train.json has it).
        model, model_path, technique, task: from `train.json` (or `gains.json` without it).
        kl_coef: the KL penalty coefficient (0 when `train.json` is missing).
        gains: eval task -> TaskGain; empty when `gains.json` is not written yet.
        metrics: `metrics.jsonl` rows, in step order.
        variant: the reward variant trained ("paper" unless `train.json` names another).
        protocol: the evaluation protocol of gains.json ("paper" unless it names another;
            files written before protocols existed used the probe's, and say nothing).
        recipe: a fingerprint of train.json's settings without the seed and the run directory
            ("" without them): two runs with the same recipe differ only by their seed.
    """

    path: Path
    name: str
    model: str
    model_path: str
    technique: str
    task: str
    kl_coef: float
    gains: dict[str, TaskGain]
    metrics: tuple[dict[str, Any], ...]
    variant: str = "paper"
    protocol: str = "paper"
    recipe: str = ""


def _read_metrics(path: Path) -> tuple[dict[str, Any], ...]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # a step being written when the run was read
                break
            raise BadInputError(f"{path}, line {number}: not JSON") from None
        if not isinstance(row, dict) or "step" not in row:
            raise BadInputError(f"{path}, line {number}: a metrics row needs a 'step'")
        rows.append(row)
    return tuple(sorted(rows, key=lambda r: r["step"]))


def _read_gains(path: Path) -> dict[str, TaskGain]:
    p = read_json(path)
    gains = {}
    for task, row in field_of(p, "tasks", path).items():
        try:
            gains[task] = TaskGain(task=task, before=float(row["before"]), after=float(row["after"]),
                                   gain=float(row["gain"]), num_problems=int(row.get("num_problems", 0)),
                                   before_run=str(row.get("before_run") or ""))
        except (KeyError, TypeError, ValueError):
            raise BadInputError(f"{path}: task {task!r} needs numbers before, after and gain") from None
    return gains


def read_train(run: Path) -> TrainRun:
    info = read_json(run / TRAIN_FILE) if (run / TRAIN_FILE).is_file() else {}
    gains_payload = read_json(run / GAINS_FILE) if (run / GAINS_FILE).is_file() else {}
    source = info or gains_payload
    where = run / (TRAIN_FILE if info else GAINS_FILE)
    model = str(source.get("model", run.name)) if source else run.name
    technique = str(field_of(source, "technique", where)) if source else "unknown"
    task = str(source.get("task", "")) if source else ""
    gains = _read_gains(run / GAINS_FILE) if gains_payload else {}
    metrics = _read_metrics(run / METRICS_FILE) if (run / METRICS_FILE).is_file() else ()
    settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
    protocol = gains_payload.get("protocol", "probe" if gains_payload else "paper")
    seed = settings.get("dapo", {}).get("seed") if isinstance(settings.get("dapo"), dict) else None
    name = f"{technique} · {model} · {task}" + (f" · seed {seed}" if seed is not None else "")
    return TrainRun(path=run, name=name if source else run.name, model=model,
                    model_path=str(info.get("model_path", "")), technique=technique, task=task,
                    kl_coef=float(info.get("kl_coef", 0.0)), gains=gains, metrics=metrics,
                    variant=str(settings.get("variant") or "paper"), protocol=str(protocol),
                    recipe=_recipe(settings))


# Settings that do not make a run another experiment: the seed (what seeds vary), where it is
# written, and how many processes verify.
_NOT_RECIPE = ("run_dir", "dry_run", "verify_workers")


def _recipe(settings: dict[str, Any]) -> str:
    if not settings:
        return ""
    kept = {k: v for k, v in settings.items() if k not in _NOT_RECIPE}
    if isinstance(kept.get("dapo"), dict):
        kept["dapo"] = {k: v for k, v in kept["dapo"].items() if k != "seed"}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
