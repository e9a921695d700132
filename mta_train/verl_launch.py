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

from mta_probe.errors import BackendError, BadInputError
from mta_probe.runs import prepare_run_dir, write_json_atomic
from mta_probe.runs import write_bytes_atomic
from mta_train.data import TrainingSet, training_set
from mta_train.labels import fixed_incorrect_labels, needs_fixed_labels
from mta_train.parquet import VerlData, VerlRows, data_files, verl_rows, write_data
from mta_train.record import TRAIN_FILE, TrainResult, run_identity, train_record
from mta_train.settings import TrainSettings
from mta_train.technique import Technique
from mta_train.tracked import tracker_env
from mta_train.verl_config import (
    CHECKPOINT_DIR,
    PLUGIN_MODULE,
    VerlCluster,
    VerlInputs,
    verl_overrides,
    write_config,
)
from mta_train.verl_hydra import check, compose, override_args

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


def require_shared(cluster: VerlCluster, run_dir: Path, model_path: str) -> None:
    """With `--ray-address`, verl's workers on other nodes read the data, the agent-loop file and
    a local model, and write checkpoints and the metrics log, by the driver's paths: those must
    be in a folder every node mounts at the same path, declared with `--shared-dir`.

    A hub ID is not a path (every node fetches its own copy). Without `--ray-address`, verl
    starts Ray on this machine and nothing needs sharing.

    Raises:
        BadInputError: no shared folder declared, or the run directory or a local model
            outside it (the message names the path and the option that moves it).
    """
    if not cluster.ray_address:
        return
    if cluster.shared_dir is None:
        raise BadInputError("--ray-address runs verl on other nodes, which read and write the run "
                            "directory by this machine's paths: give --shared-dir (a folder every "
                            "node mounts at the same path) and --out inside it")
    shared = cluster.shared_dir.expanduser().resolve()
    if not shared.is_dir():
        raise BadInputError(f"--shared-dir {cluster.shared_dir} is not a folder on this machine")
    if not run_dir.expanduser().resolve().is_relative_to(shared):
        raise BadInputError(f"the run directory {run_dir} is not in --shared-dir {shared}, so the "
                            "other nodes cannot see it: put --out inside it")
    local = Path(model_path).expanduser()
    if _is_local(model_path) and not local.resolve().is_relative_to(shared):
        raise BadInputError(f"the model {model_path} is not in --shared-dir {shared}, so the other "
                            "nodes cannot load it: copy it there (a converted GGUF lives under "
                            "$MTA_HOME/models: set MTA_HOME inside it) or give a hub ID")


def _is_local(model_path: str) -> bool:
    """A folder path rather than a hub ID (`org/name`, which every node fetches)."""
    return Path(model_path).expanduser().exists() or Path(model_path).is_absolute() \
        or model_path.startswith(("~", "."))


@dataclass(frozen=True)
class VerlPlan:
    """What a launch writes, all made (and checked by verl) before the first file is written."""

    rows: VerlRows
    data: VerlData
    args: list[str]
    config: Any
    command: list[str]


def plan_launch(settings: TrainSettings, technique: Technique, run_dir: Path, model_path: str,
                chat: bool, data: TrainingSet | None = None, *,
                labels_pending: bool = False) -> VerlPlan:
    """The rows, the verl configuration (composed and validated by verl) and the command,
    in memory.

    Args:
        chat: the model's chat flag: render prompts through its chat template or as raw text,
            as mta's own evaluations do (`verl_config.prompt_rendering`).
        data: the training problems when already prepared (Shao et al.'s labelled problems);
            default: loaded for the technique.
        labels_pending: a fixed-label run planned before labelling (a dry run, or the check
            before the run directory exists): no training rows yet.

    Raises:
        MtaError: a task that cannot be loaded; a key or value verl rejects; verl missing.
    """
    cluster = VerlCluster.from_options(settings.backend_options)
    rows = verl_rows(settings, technique, data, labels_pending=labels_pending)
    files = data_files(rows, run_dir / DATA_DIR)
    inputs = VerlInputs(model_path=model_path, train_file=files.train_file,
                        val_files=files.val_files, run_dir=run_dir, train_rows=files.train_rows,
                        chat=chat)
    env = {**plugin_env(run_dir), **tracker_env(settings.loggers, run_dir)}
    args = override_args(verl_overrides(settings, technique, inputs, cluster, env))
    config = compose(args)
    check(config)
    command = ["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, *ENTRY_POINT, *args]
    return VerlPlan(rows=rows, data=files, args=args, config=config, command=command)


def write_launch(plan: VerlPlan, run_dir: Path) -> VerlLaunch:
    """Write the parquet files and the configuration of `plan`."""
    write_data(plan.rows, run_dir / DATA_DIR)
    config_path = write_config(plan.config, plan.args, run_dir)
    return VerlLaunch(command=plan.command, config_path=config_path,
                      train_task=plan.rows.train_task)


def launch(settings: TrainSettings, technique: Technique, run_dir: Path,
           on_status: Callable[[str], None] | None = None) -> TrainResult:
    """Run one technique on verl and measure its gain (or, with dry_run, only prepare it).

    Everything that can refuse the run (the model, the tasks, verl's own validation of the
    configuration, the shared folder of a multi-node run) is checked before the run directory
    is created, so a refused start leaves no file behind.

    Args:
        settings: the run; `backend_options` holds nodes, gpus_per_node, ray_address,
            shared_dir, rollout_engine, tensor_parallel, gpu_memory_utilization.
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
    if ref.gguf_file is not None:
        model_path = str(converted_dir(ref))  # where prepare_model converts it
    else:
        model_path = str(ref.path)
    require_shared(cluster, run_dir, model_path)
    data = training_set(settings, technique)
    pending = needs_fixed_labels(technique.variant(settings.variant).fixed_label, data.verifier)
    plan = plan_launch(settings, technique, run_dir, model_path, ref.chat, data,
                       labels_pending=pending)  # every refusal happens here, before any write
    if not (settings.dry_run and ref.gguf_file is not None):
        # converts a GGUF once, checks a local folder; a hub ID stays one (each node fetches it)
        model_path = prepare_model(ref, on_status, fetch=False)
    prepare_run_dir(run_dir, run_identity(settings, model_path))
    if settings.dry_run:
        prepared = write_launch(plan, run_dir)
        if pending:
            say(f"{technique.name} ({settings.variant}) trains on the problems the model labels "
                f"first; a dry run does not label, so {plan.data.train_file} is written by the "
                "real launch")
        write_json_atomic(run_dir / TRAIN_FILE, train_record(settings, ref, prepared.train_task))
        return TrainResult(run_dir=run_dir, gains=None, command=prepared.command)
    if pending:  # planned again on the labelled rows: verl's epochs follow their number
        labelled = fixed_labels(settings, data, ref, run_dir, say)
        plan = plan_launch(settings, technique, run_dir, model_path, ref.chat, labelled)
    prepared = write_launch(plan, run_dir)
    write_json_atomic(run_dir / TRAIN_FILE, train_record(settings, ref, prepared.train_task))
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


def fixed_labels(settings: TrainSettings, data: TrainingSet, ref: Any, run_dir: Path,
                 say: Callable[[str], None]) -> TrainingSet:
    """Shao et al.'s labelled problems (math "incorrect": `needs_fixed_labels`), labelled from
    `data` by the initial model through mta_probe's sampler before verl starts (and closed
    before, so no engine holds GPU memory verl needs)."""
    from mta_probe.sampling import SamplingSettings, open_sampler

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

