"""What a run bought: the model scored before and after training on the evaluation tasks.

The metric is avg@k, the paper's (Section 3: avg@8 for AIME24 and SynLogic): k samples per
problem at the rollout temperature, accuracy averaged over samples and problems, which is
pass@1 estimated from k samples. Each evaluation is an ordinary mta_probe pass@k run kept under
the train run's `eval/` folder, so it resumes like any probe and can be read by `mta report`.
Evaluations use each task's own zero-shot prompt and score correctness only (no format), as
the paper validates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.passk import PassKSettings, probe_passk
from mta_probe.runs import write_json_atomic
from mta_probe.sampling import SamplingSettings
from mta_train.settings import TrainSettings

GAINS_FILE = "gains.json"


@dataclass(frozen=True)
class Evaluation:
    """avg@k of one model on one task, and the probe run that measured it."""

    task: str
    accuracy: float
    num_problems: int
    run_dir: Path


def evaluate(model: str, label: str, settings: TrainSettings, run_dir: Path,
             on_status: Callable[[str], None] | None = None) -> dict[str, Evaluation]:
    """avg@k of `model` on every evaluation task of the run.

    Args:
        model: what mta_probe can load (an alias, or the trained model's folder).
        label: "before" or "after": names the probe runs under `run_dir/eval/`.
        settings: eval tasks, eval_k, eval_limit, eval_max_tokens, seed, sampling.
        run_dir: the train run.
        on_status: one-line status messages.

    Returns:
        One Evaluation per task.
    """
    dapo = settings.dapo
    sampling = SamplingSettings(temperature=dapo.temperature, top_p=dapo.top_p,
                                max_tokens=settings.eval_max_tokens or dapo.max_response_length)
    results = {}
    for task in settings.evaluation:
        out = run_dir / "eval" / f"{label}__{_slug(task)}"
        probe = PassKSettings(model=model, task=task, n=settings.eval_k,
                              sampling=sampling, seed=dapo.seed, limit=settings.eval_limit,
                              task_options=settings.task_options, out=out,
                              backend=settings.backend_options.get("eval_backend"))
        if on_status:
            on_status(f"evaluating {label} on {task} (avg@{settings.eval_k})")
        result = probe_passk(probe, on_status=on_status)
        results[task] = Evaluation(task=task, accuracy=result.curve.values[result.curve.ks.index(1)],
                                   num_problems=result.payload["num_problems"], run_dir=out)
    return results


def write_gains(run_dir: Path, settings: TrainSettings, model_name: str,
                before: dict[str, Evaluation], after: dict[str, Evaluation]) -> dict[str, Any]:
    """Write gains.json (format in docs/train.md) and return its payload."""
    tasks = {
        task: {"before": before[task].accuracy, "after": after[task].accuracy,
               "gain": after[task].accuracy - before[task].accuracy,
               "num_problems": before[task].num_problems,
               "before_run": str(before[task].run_dir), "after_run": str(after[task].run_dir)}
        for task in settings.evaluation
    }
    payload = {"model": model_name, "technique": settings.technique, "task": settings.task,
               "metric": f"avg@{settings.eval_k}", "k": settings.eval_k, "tasks": tasks}
    write_json_atomic(run_dir / GAINS_FILE, payload)
    return payload


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "task"
