"""Training and validation problems as the parquet files verl reads (`mta data prepare`).

One row per prompt, in the layout of verl's own data preprocessors (and of the paper's code):
`data_source` (the task), `prompt` (a chat list with one user message, the training prompt of
mta_train/data.py), `ability`, `reward_model: {style: "rule", ground_truth}` and
`extra_info: {split, index, problem_id, verifier, problem}`. `problem` is the mta Problem as a
JSON string, so the reward in a Ray worker rebuilds exactly the Problem the local trainer sees
(a JSON string rather than a nested struct: parquet needs one struct schema for all rows, and
`Problem.meta` differs between tasks and even between rows).

verl's dataloader drops the last incomplete batch, so a training set smaller than one batch
would give zero steps per epoch; the rows repeat in order until they fill at least one batch.
That is also how one-shot RLVR trains: the example(s) repeated to fill every batch. TTRL's
training rows are the evaluation set (`Technique.data == "eval"`, see mta_train/data.py).

Validation rows follow the run's evaluation protocol (mta_train/evaluation.py): the protocol's
prompt, and each problem repeated k times (k per benchmark: 8 on AIME24 and SynLogic, else 1)
with `val_kwargs.n=1`, which is how the paper's scripts (n=1) report avg@8; verl's
`val-core/<task>/acc/mean@1` over the rows is then avg@k.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import write_bytes_atomic
from mta_probe.tasks import Problem
from mta_probe.verify import get_verifier
from mta_train.data import TrainingSet, training_prompt, training_set
from mta_train.evaluation import eval_prompt, eval_sets, get_protocol
from mta_train.labels import needs_fixed_labels
from mta_train.settings import TrainSettings
from mta_train.technique import Technique
from mta_train.techniques import get_technique
from mta_train.techniques import LABEL_KEY

TRAIN_FILE = "train.parquet"


@dataclass(frozen=True)
class VerlData:
    """The parquet files of one run.

    Attributes:
        train_file: the training rows.
        val_files: one file per evaluation task (verl logs validation per `data_source`).
        train_rows: rows in train_file (at least one batch).
        train_task: the task the training rows come from (the eval task for TTRL).
    """

    train_file: Path
    val_files: tuple[Path, ...]
    train_rows: int
    train_task: str


def ability(verifier: str) -> str:
    """verl's `ability` column: the verifier's family (math, code or logic)."""
    return get_verifier(verifier).family


def problem_row(problem: Problem, verifier: str, *, data_source: str, split: str,
                index: int, prompt: str | None = None, style: str = "paper") -> dict[str, Any]:
    """One verl row for `problem` (layout in the module docstring); `prompt` defaults to the
    training prompt in `style` (mta_train.settings.TRAIN_PROMPTS)."""
    return {
        "data_source": data_source,
        "prompt": [{"role": "user", "content": prompt or training_prompt(problem, verifier, style)}],
        "ability": ability(verifier),
        "reward_model": {"style": "rule", "ground_truth": problem.gold},
        "extra_info": {"split": split, "index": index, "problem_id": problem.id,
                       "verifier": verifier, "problem": json.dumps(asdict(problem))},
    }


def problem_from_extra_info(extra_info: dict[str, Any]) -> tuple[Problem, str]:
    """The Problem and verifier a row was written from (the reward's side of `problem_row`)."""
    fields = json.loads(extra_info["problem"])
    return Problem(**fields), str(extra_info["verifier"])


def repeated_rows(problems: tuple[Problem, ...], verifier: str, *, data_source: str,
                  split: str, min_rows: int, style: str = "paper") -> list[dict[str, Any]]:
    """Rows for `problems`, repeated in order until there are at least `min_rows`."""
    count = max(len(problems), min_rows)
    return [problem_row(problems[i % len(problems)], verifier, data_source=data_source,
                        split=split, index=i, style=style) for i in range(count)]


def write_rows(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write rows to a parquet file whole or not at all, fsynced; a full disk is one
    DiskFullError (the parquet is built in memory: a run's rows are a few megabytes)."""
    import io

    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buffer, index=False)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read a parquet file written by `write_rows` back into plain rows."""
    import pandas as pd

    frame = pd.read_parquet(path)
    return [_plain(row) for row in frame.to_dict(orient="records")]


@dataclass(frozen=True)
class VerlRows:
    """The rows of one run, made before anything is written (a refused run writes nothing).

    Attributes:
        train: the training rows; None while Shao et al.'s fixed labels are still to be made
            (a dry run does not label: mta_train/labels.py).
        val: the validation rows of each evaluation task, in order.
        train_rows: rows of the training file; with `train` None, the unlabelled problems
            repeated to a batch (labelling keeps some of them: an upper bound).
        train_task: the task the training rows come from (the eval task for TTRL).
    """

    train: list[dict[str, Any]] | None
    val: tuple[list[dict[str, Any]], ...]
    train_rows: int
    train_task: str


def verl_rows(settings: TrainSettings, technique: Technique | None = None,
              data: TrainingSet | None = None, *, labels_pending: bool = False) -> VerlRows:
    """The training rows and the validation rows of each evaluation task, in memory.

    Args:
        settings: technique, task, eval tasks, limits, batch size, seed, evaluation protocol.
        technique: the technique (default: `settings.technique` looked up); it decides the
            training rows (train set, eval set for TTRL, one-shot examples).
        data: the training problems when already prepared (Shao et al.'s labelled problems,
            mta_train/labels.py); default: loaded for the technique.
        labels_pending: the run needs fixed labels that are not made yet (a dry run): no
            training rows instead of a refusal.

    Raises:
        MtaError: a task that cannot be loaded, an unknown one-shot id, a fixed-label run whose
            problems are not labelled (and not `labels_pending`).
    """
    chosen = technique or get_technique(settings.technique)
    data = data or training_set(settings, chosen)
    unlabelled = needs_fixed_labels(chosen.variant(settings.variant).fixed_label, data.verifier) \
        and not all(LABEL_KEY in p.meta for p in data.problems)
    if unlabelled and not labels_pending:
        raise BadInputError(f"{chosen.name} ({settings.variant}) on {data.task} trains against fixed "
                            "incorrect labels that the model makes first: `mta train --backend verl` "
                            "labels before writing the rows (or use --variant online)")
    rows = repeated_rows(data.problems, data.verifier, data_source=data.task, split="train",
                         min_rows=settings.dapo.batch_size, style=settings.train_prompt)
    protocol = get_protocol(settings.eval_protocol)
    val = tuple([problem_row(p, eval_set.verifier, data_source=eval_set.task, split="val",
                             index=i, prompt=eval_prompt(p, eval_set.verifier, protocol,
                                                      settings.train_prompt))
                 for i, p in enumerate(eval_set.problems) for _ in range(eval_set.k)]
                for eval_set in eval_sets(settings))
    return VerlRows(train=None if unlabelled else rows, val=val, train_rows=len(rows),
                    train_task=data.task)


def write_data(rows: VerlRows, out_dir: Path) -> VerlData:
    """Write `rows` as train.parquet (unless still to be labelled) and val_<i>.parquet, where
    `data_files` says."""
    files = data_files(rows, out_dir)
    if rows.train is not None:
        write_rows(rows.train, files.train_file)
    for val, path in zip(rows.val, files.val_files, strict=True):
        write_rows(val, path)
    return files


def data_files(rows: VerlRows, out_dir: Path) -> VerlData:
    """Where `write_data` puts `rows` (nothing is written)."""
    return VerlData(train_file=out_dir / TRAIN_FILE,
                    val_files=tuple(out_dir / f"val_{n}.parquet" for n in range(len(rows.val))),
                    train_rows=rows.train_rows, train_task=rows.train_task)


def prepare_data(settings: TrainSettings, out_dir: Path, technique: Technique | None = None,
                 data: TrainingSet | None = None) -> VerlData:
    """Write the training rows and one validation file per evaluation task (`verl_rows`, then
    `write_data`).

    Args:
        settings: technique, task, eval tasks, limits, batch size, seed, evaluation protocol.
        out_dir: folder for the parquet files (created).
        technique: the technique (default: `settings.technique` looked up).
        data: the training problems when already prepared (Shao et al.'s labelled problems).

    Returns:
        The written files.

    Raises:
        MtaError: a task that cannot be loaded, an unknown one-shot id, unlabelled problems of
            a fixed-label run.
    """
    return write_data(verl_rows(settings, technique, data), out_dir)


def _plain(value: Any) -> Any:
    """pandas returns nested parquet values as numpy arrays; turn them back into lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
