"""A train run end to end: run directory, evaluation before, training, evaluation after, gains.

The verl backend does the same around a verl launch (mta_train/verl_launch.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import open_trackers, prepare_run_dir, write_json_atomic
from mta_train.progress import ProgressCallback
from mta_train.record import TRAIN_FILE, TrainResult, default_train_dir, run_identity, train_record
from mta_train.settings import TrainSettings
from mta_train.techniques import get_technique


def train(settings: TrainSettings, *, on_step: Callable[[dict[str, Any]], None] | None = None,
          on_status: Callable[[str], None] | None = None,
          on_progress: ProgressCallback | None = None) -> TrainResult:
    """Run (or resume) one technique on one model and task, and measure its gain.

    Args:
        settings: technique, model, task, backend, DAPO settings, evaluation.
        on_step: receives each training step's metrics record.
        on_status: one-line status messages.
        on_progress: counts of the long phases (labelling, evaluations, training steps) on the
            local backend, for a progress display.

    Returns:
        The run directory and gains.json payload.

    Raises:
        MtaError: unknown technique, model or task; a backend that cannot run here; a run
            directory holding a different run.
    """
    from mta_probe.sampling import resolve_model

    technique = get_technique(settings.technique)
    technique.variant(settings.variant)  # an unknown variant fails before any work
    if technique.data == "eval" and not settings.eval_tasks:
        raise BadInputError("ttrl trains on the evaluation set: name it with --eval-task")
    ref = resolve_model(settings.model)
    run_dir = settings.run_dir or default_train_dir(settings, ref.name)
    if settings.backend == "verl":
        from mta_train.verl_launch import launch

        return launch(settings, technique, run_dir, on_status=on_status)
    return _train_local(settings, technique, ref, run_dir, on_step, on_status, on_progress)


def _train_local(settings: TrainSettings, technique: Any, ref: Any, run_dir: Path,
                 on_step: Callable[[dict[str, Any]], None] | None,
                 on_status: Callable[[str], None] | None,
                 on_progress: ProgressCallback | None) -> TrainResult:
    from mta_train.data import training_set
    from mta_train.gains import evaluate, write_gains
    from mta_train.local import train_local
    from mta_train.tracked import evaluation_metrics, gains_summary, tracking_steps

    data = training_set(settings, technique)  # bad task or one-shot id: fail before any work
    prepare_run_dir(run_dir, run_identity(settings, str(ref.path)))
    write_json_atomic(run_dir / TRAIN_FILE, train_record(settings, ref, data.task))
    if on_status:
        on_status(_sizes(settings))
    with open_trackers(settings.loggers, run_dir, config=settings.as_json(), on_status=on_status) as trackers:
        before = evaluate(settings.model, "before", settings, run_dir, chat=ref.chat, on_status=on_status,
                          on_progress=on_progress)
        trackers.log(evaluation_metrics(before), 0)  # as verl's validation before training
        local = train_local(settings, technique, data, run_dir, on_status=on_status, on_progress=on_progress,
                            on_step=tracking_steps(trackers, settings.dapo.kl_coef, on_step))
        after = evaluate(str(local.model_dir), "after", settings, run_dir, chat=ref.chat,
                         on_status=on_status, on_progress=on_progress)
        if not settings.dapo.val_every:  # else the last step's validation is already logged
            trackers.log(evaluation_metrics(after), settings.dapo.steps)
        gains = write_gains(run_dir, settings, ref.name, before, after)
        trackers.summary("gains", gains_summary(gains))
    return TrainResult(run_dir=run_dir, gains=gains)


def _sizes(settings: TrainSettings) -> str:
    """The run's size in one line, as the screen says it before the work starts."""
    dapo = settings.dapo
    limit = f"the first {settings.eval_count}" if settings.eval_count else "all"
    return (f"{dapo.steps} steps of {dapo.batch_size} prompts x {dapo.group_size} rollouts of up to "
            f"{dapo.max_response_length} tokens; evaluation before and after on {limit} problems of "
            f"each evaluation task (--steps, --batch-size, --group-size, --max-response-length, "
            f"--eval-limit change them)")
