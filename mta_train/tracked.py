"""What a train run sends to its experiment trackers (`TrainSettings.loggers`), under verl's names.

The local trainer writes metrics.jsonl under mta's own names (mta_train/step_metrics.py). Its
trackers get each step under the name verl logs the same quantity by (`VERL_NAMES`), so a
local run and a verl run of the same technique share their charts; docs/train.md has the table.
A value with no verl equivalent goes under `mta/`, the prefix mta's verl sampler logs its own
metrics with (mta_train/verl_sampling.py): the group counts and vote statistics are the same
numbers on both backends. Values over every generated response, including the groups dynamic
sampling drops, are `mta/generated/...`: verl's `critic/score/mean` and `response_length/mean`
are over the trained batch only, so mta does not file them under verl's names.

The evaluation before training is logged at step 0 under the validation names (verl validates
before training too), the one after at the last step when no in-training validation ran there;
at the end the trackers get the run's gains (gains.json) as its summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mta_probe.runs import TENSORBOARD_DIR, Trackers
from mta_train.verl_sampling import FALLBACK_CODES

# metrics.jsonl key -> the name a tracker shows it under
VERL_NAMES = {
    # the trained batch (after dynamic sampling and the paper's fallback), as verl computes them
    "batch_reward_mean": "critic/score/mean",
    "entropy": "actor/entropy",
    "ppo_kl": "actor/ppo_kl",
    "pg_clipfrac": "actor/pg_clipfrac",
    "pg_clipfrac_lower": "actor/pg_clipfrac_lower",  # verl's dual clip (ratio above clip_c, A < 0)
    "grad_norm": "actor/grad_norm",
    "lr": "actor/lr",
    "kl": "actor/kl_loss",  # the k3 KL to the reference, aggregated as the loss (Table 13's runs)
    "seconds": "timing_s/step",
    # mta's own, logged under these names on verl too
    "groups_kept": "mta/groups_kept",
    "groups_total": "mta/groups_total",
    "majority_ratio": "mta/majority_ratio",
    "label_accuracy": "mta/label_accuracy",
    # every generated response of the step: no verl equivalent
    "reward_mean": "mta/generated/reward_mean",
    "accuracy": "mta/generated/accuracy",
    "format": "mta/generated/format",
    "response_length": "mta/generated/response_length",
    "rollout_entropy": "mta/generated/entropy",
}
# Left out: the step (it is the tracker's step) and maj@k (the same number as label_accuracy).
DROPPED = ("step",)
VALIDATION = "val/"  # metrics.jsonl's in-training validation, val/<task>


def tracked_metrics(record: dict[str, Any], kl_coef: float) -> dict[str, Any]:
    """One metrics.jsonl record under the trackers' names.

    `loss` becomes verl's `actor/pg_loss`, the policy-gradient loss alone: mta's loss adds
    kl_coef x kl when a KL penalty is on. `val/<task>` becomes `val-core/<task>/acc/mean@1`:
    verl validates one sample per row of a parquet that repeats each problem k times, so its
    mean@1 is the same avg@k. `fallback` becomes verl's `mta/fallback` code. A key this module
    does not know goes under `mta/<key>`.
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in DROPPED or key.startswith("maj@"):
            continue
        if key == "loss":
            out["actor/pg_loss"] = value - kl_coef * (record.get("kl") or 0.0)
        elif key == "fallback":
            out["mta/fallback"] = FALLBACK_CODES.get(value)
        elif key.startswith(VALIDATION):
            out[val_metric(key[len(VALIDATION):])] = value
        else:
            out[VERL_NAMES.get(key, f"mta/{key}")] = value
    return out


def tracking_steps(trackers: Trackers, kl_coef: float,
                   on_step: Callable[[dict[str, Any]], None] | None) -> Callable[[dict[str, Any]], None]:
    """An `on_step` callback that logs each step record to `trackers`, then calls `on_step`."""

    def step(record: dict[str, Any]) -> None:
        trackers.log(tracked_metrics(record, kl_coef), int(record["step"]))
        if on_step:
            on_step(record)

    return step


def evaluation_metrics(results: dict[str, Any]) -> dict[str, float]:
    """The evaluation before or after training (`mta_train.gains.evaluate`: avg@k per task) under
    verl's validation names, as verl logs its validation before training at step 0."""
    return {val_metric(task): result.accuracy for task, result in results.items()}


def val_metric(task: str) -> str:
    """verl's name of a task's validation accuracy (read back by verl_launch.VAL_KEY)."""
    return f"val-core/{task}/acc/mean@1"


def gains_summary(gains: dict[str, Any]) -> dict[str, Any]:
    """gains.json as a tracker summary (under `gains/`): before, after and gain of each task."""
    out: dict[str, Any] = {"technique": gains.get("technique"), "model": gains.get("model")}
    for task, row in gains.get("tasks", {}).items():
        for name in ("before", "after", "gain"):
            out[f"{task}/{name}"] = row[name]
    return out


def tracker_env(loggers: Sequence[str], run_dir: Path) -> dict[str, str]:
    """Environment that puts verl's tracker files in the run directory, as the local backend's:
    TensorBoard's events in `<run>/tensorboard` (verl: `TENSORBOARD_DIR`, else
    `tensorboard_log/` under the trainer's working directory), wandb's under `<run>/wandb`
    (`WANDB_DIR`). A variable the user set is left alone."""
    wanted = {"tensorboard": ("TENSORBOARD_DIR", run_dir / TENSORBOARD_DIR), "wandb": ("WANDB_DIR", run_dir)}
    return {variable: str(path) for name, (variable, path) in wanted.items()
            if name in loggers and not os.environ.get(variable)}
