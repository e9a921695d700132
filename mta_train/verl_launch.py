"""`mta train --backend verl`: data, configuration, launch, metrics and gains around verl.

One run: write verl's parquet (mta_train/parquet.py) and the resolved configuration
(mta_train/verl_config.py) into the run directory, evaluate the model (avg@k, gains.py), run
`python3 -m verl.trainer.main_ppo` with mta's plugin (mta_train/verl_plugin.py) in every verl
process, convert verl's `file` logger output into metrics.jsonl, evaluate the last checkpoint
and write gains.json. `--dry-run` stops after writing the configuration and returns the command.

verl trains on GPUs only (its issue 3266): without a GPU on this machine and without
`--ray-address`, the launch fails at once, before any data is written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.errors import BackendError
from mta_probe.runs import prepare_run_dir, write_json_atomic
from mta_probe.runs import write_bytes_atomic
from mta_train.data import TrainingSet, training_set
from mta_train.labels import fixed_incorrect_labels, needs_fixed_labels
from mta_train.parquet import prepare_data
from mta_train.record import TRAIN_FILE, TrainResult, run_identity, train_record
from mta_train.settings import TrainSettings
from mta_train.technique import Technique
from mta_train.tracked import tracker_env
from mta_train.verl_config import (
    CHECKPOINT_DIR,
    PLUGIN_MODULE,
    VerlCluster,
    VerlInputs,
    check,
    compose,
    override_args,
    verl_overrides,
    write_config,
)

ENTRY_POINT = ("-m", "verl.trainer.main_ppo")
DATA_DIR = "verl_data"
VERL_LOG = "verl_metrics.jsonl"  # verl's `file` logger writes here (VERL_FILE_LOGGER_PATH)
VERL_OUTPUT = "verl.log"  # verl's stdout and stderr
METRICS_FILE = "metrics.jsonl"
NO_GPU = ("verl needs GPUs: torch sees none on this machine and no --ray-address was given; "
          "on this machine use --backend local")
VAL_KEY = re.compile(r"val-core/(?P<task>.+)/acc/mean@\d+")
# mta's sampler metrics that metrics.jsonl keeps under their own names (vote and TTRL)
VOTE_METRICS = ("majority_ratio", "label_accuracy")


@dataclass(frozen=True)
class VerlLaunch:
    """A prepared verl run.

    Attributes:
        command: the exact command line, starting with `env VAR=value ...`.
        config_path: the resolved configuration (verl_config.yaml).
        train_task: the task the training rows come from.
    """

    command: list[str]
    config_path: Path
    train_task: str


def require_gpus(cluster: VerlCluster) -> None:
    """Fail at once when verl cannot train: no GPU here and no Ray cluster to run on.

    Raises:
        BackendError: the one-line reason, naming the local backend.
    """
    if cluster.ray_address:
        return
    try:
        import torch
    except ImportError:
        raise BackendError(NO_GPU) from None
    if not torch.cuda.is_available():
        raise BackendError(NO_GPU)


def plugin_env(run_dir: Path) -> dict[str, str]:
    """Environment of every verl process: mta's plugin, the file logger's path, MTA_HOME."""
    from mta_probe.runs import mta_home

    return {"VERL_USE_EXTERNAL_MODULES": PLUGIN_MODULE,
            "VERL_FILE_LOGGER_PATH": str(run_dir / VERL_LOG),
            "MTA_HOME": str(mta_home())}


def prepare_launch(settings: TrainSettings, technique: Technique, run_dir: Path,
                   model_path: str, data: TrainingSet | None = None) -> VerlLaunch:
    """Write the parquet files and the configuration; build the command.

    Args:
        data: the training problems when already prepared (Shao et al.'s labelled problems);
            default: loaded for the technique.

    Raises:
        MtaError: a task that cannot be loaded; a key or value verl rejects; verl missing.
    """
    cluster = VerlCluster.from_options(settings.backend_options)
    data = prepare_data(settings, run_dir / DATA_DIR, technique, data)
    inputs = VerlInputs(model_path=model_path, train_file=data.train_file,
                        val_files=data.val_files, run_dir=run_dir, train_rows=data.train_rows)
    env = {**plugin_env(run_dir), **tracker_env(settings.loggers, run_dir)}
    args = override_args(verl_overrides(settings, technique, inputs, cluster, env))
    config = compose(args)
    check(config)
    config_path = write_config(config, args, run_dir)
    command = ["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, *ENTRY_POINT, *args]
    return VerlLaunch(command=command, config_path=config_path, train_task=data.train_task)


def launch(settings: TrainSettings, technique: Technique, run_dir: Path,
           on_status: Callable[[str], None] | None = None) -> TrainResult:
    """Run one technique on verl and measure its gain (or, with dry_run, only prepare it).

    Args:
        settings: the run; `backend_options` holds nodes, gpus_per_node, ray_address,
            rollout_engine, tensor_parallel, gpu_memory_utilization.
        technique: the technique to train.
        run_dir: the run directory.
        on_status: one-line status messages.

    Returns:
        The run directory, gains.json payload (None for a dry run) and the command.

    Raises:
        BackendError: no GPU and no Ray cluster; verl failed (the message names its log).
        MtaError: bad model, task or configuration.
    """
    from mta_probe.sampling import prepare_model, resolve_model
    from mta_probe.sampling import converted_dir

    say = on_status or (lambda _message: None)
    cluster = VerlCluster.from_options(settings.backend_options)
    if not settings.dry_run:
        require_gpus(cluster)
    ref = resolve_model(settings.model)
    if "@" in ref.path and not Path(ref.path).exists():
        raise BackendError(f"{ref.path}: verl loads a hub model by its ID on every node and takes no "
                           "revision; download that revision and pass its folder as --model")
    if settings.dry_run and ref.gguf_file is not None:
        model_path = str(converted_dir(ref))  # where the first real launch converts it
    else:
        model_path = prepare_model(ref, on_status, fetch=False)  # every verl node fetches its own copy
    prepare_run_dir(run_dir, run_identity(settings, model_path))
    labelled = None if settings.dry_run else fixed_labels(settings, technique, ref, run_dir, say)
    prepared = prepare_launch(settings, technique, run_dir, model_path, labelled)
    write_json_atomic(run_dir / TRAIN_FILE, train_record(settings, ref, prepared.train_task))
    if settings.dry_run:
        return TrainResult(run_dir=run_dir, gains=None, command=prepared.command)
    from mta_train.gains import evaluate, write_gains

    before = evaluate(settings.model, "before", settings, run_dir, chat=ref.chat, on_status=on_status)
    say(f"launching verl; its output goes to {run_dir / VERL_OUTPUT}")
    try:
        run_verl(prepared.command, run_dir)
    finally:
        convert_log(run_dir, settings.dapo.batch_size, settings.dapo.group_size)
    model_dir = trained_model_dir(run_dir, settings.dapo.steps)
    after = evaluate(str(model_dir), "after", settings, run_dir, chat=ref.chat, on_status=on_status)
    gains = write_gains(run_dir, settings, ref.name, before, after)
    return TrainResult(run_dir=run_dir, gains=gains, command=prepared.command)


def fixed_labels(settings: TrainSettings, technique: Technique, ref: Any, run_dir: Path,
                 say: Callable[[str], None]) -> TrainingSet | None:
    """Shao et al.'s labelled problems when the run needs them (math "incorrect"), labelled
    by the initial model through mta_probe's sampler before verl starts (and closed before,
    so no engine holds GPU memory verl needs); None otherwise."""
    from mta_probe.sampling import SamplingSettings, open_sampler

    data = training_set(settings, technique)
    if not needs_fixed_labels(technique.variant(settings.variant).fixed_label, data.verifier):
        return None
    dapo = settings.dapo
    sampler = open_sampler(settings.backend_options.get("eval_backend"), ref, chat=ref.chat)
    try:
        return fixed_incorrect_labels(
            data, sampler, samples=settings.label_samples, seed=dapo.seed, run_dir=run_dir,
            sampling=SamplingSettings(temperature=dapo.temperature, top_p=dapo.top_p,
                                      max_tokens=dapo.max_response_length), on_status=say,
            prompt_style=settings.train_prompt)
    finally:
        sampler.close()


def run_verl(command: list[str], run_dir: Path) -> None:
    """Run verl to completion, its output in verl.log; keep earlier file-logger output.

    verl's file logger truncates its file when it starts, so a resumed run first moves the
    previous log aside (verl_metrics.1.jsonl, ...); `verl_logs` reads them all in order.

    Raises:
        BackendError: verl exited with an error.
    """
    current = run_dir / VERL_LOG
    if current.exists() and current.stat().st_size:
        current.rename(run_dir / f"verl_metrics.{len(verl_logs(run_dir))}.jsonl")
    with open(run_dir / VERL_OUTPUT, "ab") as output:
        code = subprocess.call(command, stdout=output, stderr=subprocess.STDOUT)
    if code != 0:
        raise BackendError(f"verl exited with code {code}; see {run_dir / VERL_OUTPUT}")


def trained_model_dir(run_dir: Path, steps: int) -> Path:
    """The Hugging Face model verl saved at the last step (`checkpoint.save_contents` hf_model).

    Raises:
        BackendError: verl finished without writing it.
    """
    folder = run_dir / CHECKPOINT_DIR / f"global_step_{steps}" / "actor" / "huggingface"
    if not (folder / "config.json").is_file():
        raise BackendError(f"verl left no Hugging Face checkpoint at {folder}")
    return folder


def verl_logs(run_dir: Path) -> list[Path]:
    """verl's file-logger outputs of this run, oldest first (see `run_verl`)."""
    rotated = sorted(run_dir.glob("verl_metrics.*.jsonl"),
                     key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else -1)
    current = run_dir / VERL_LOG
    return rotated + ([current] if current.exists() else [])


def convert_log(run_dir: Path, batch_size: int, group_size: int | None = None) -> int:
    """Write metrics.jsonl from verl's file-logger outputs; returns the number of steps."""
    records = []
    for path in verl_logs(run_dir):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash
    steps = metrics_from_verl(records, batch_size, group_size)
    text = "".join(json.dumps(step) + "\n" for step in steps)
    write_bytes_atomic(run_dir / METRICS_FILE, text.encode())
    return len(steps)


def metrics_from_verl(records: Iterable[dict[str, Any]], batch_size: int,
                      group_size: int | None = None) -> list[dict[str, Any]]:
    """mta's metrics.jsonl records from verl's `file` logger records {"step", "data"}.

    Step 0 (validation before training) is skipped; when a resumed run logs a step again, the
    later record wins. Values verl did not log are None.

    Args:
        records: verl's records, in the order written.
        batch_size: prompts per step, for groups kept/total when mta's sampler did not log them.
        group_size: rollouts per prompt, the k of maj@k (vote and TTRL).
    """
    by_step: dict[int, dict[str, Any]] = {}
    for record in records:
        step, data = int(record.get("step", 0)), record.get("data") or {}
        if step >= 1 and "timing_s/step" in data:
            by_step[step] = step_metrics(step, data, batch_size, group_size)
    return [by_step[step] for step in sorted(by_step)]


def step_metrics(step: int, data: dict[str, Any], batch_size: int,
                 group_size: int | None = None) -> dict[str, Any]:
    """One metrics.jsonl record from one step of verl metrics."""
    evicted = int(data.get("training/filter_groups/evicted_samples", 0))
    record = {
        "step": step,
        "reward_mean": _number(data, "critic/score/mean"),
        "accuracy": _number(data, "mta/accuracy"),
        "format": _number(data, "mta/format"),
        "entropy": _number(data, "actor/entropy"),
        "response_length": _number(data, "response_length/mean"),
        "groups_kept": int(data.get("mta/groups_kept", batch_size)),
        "groups_total": int(data.get("mta/groups_total", batch_size + evicted)),
        "seconds": _number(data, "timing_s/step"),
        "loss": _number(data, "actor/pg_loss"),
        "kl": _number(data, "actor/ppo_kl"),
    }
    for name in VOTE_METRICS:
        if f"mta/{name}" in data:
            record[name] = float(data[f"mta/{name}"])
    if "label_accuracy" in record and group_size:
        record[f"maj@{group_size}"] = record["label_accuracy"]  # Table 4's Maj@16 at k = 16
    for key, value in data.items():
        match = VAL_KEY.fullmatch(key)
        if match:
            record[f"val/{match['task']}"] = float(value)
    return record


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else float(value)

