"""`mta data prepare`: a task as the parquet files verl trains on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mta_cli.console import console, run_or_exit
from mta_cli.options import DataDirOption, GymOption, VerifierOption, task_options
from mta_train import DapoSettings

app = typer.Typer(help="Convert tasks to the files RL engines read.", no_args_is_help=True)


@app.command("prepare")
def prepare(
    out: Annotated[Path, typer.Option(help="Folder for train.parquet and val_N.parquet.")],
    technique: Annotated[str, typer.Option(help="Decides the rows: train set, eval set (ttrl), one-shot examples.")] = "ground-truth",
    task: Annotated[str, typer.Option(help="Training task.")] = "arith-quick",
    eval_task: Annotated[Optional[list[str]], typer.Option(help="Validation task (repeatable; default: the training task).")] = None,
    batch_size: Annotated[int, typer.Option(help="Rows repeat until they fill at least one batch.")] = DapoSettings().batch_size,
    train_limit: Annotated[Optional[int], typer.Option(help="Use only the first N training problems.")] = None,
    eval_limit: Annotated[Optional[int], typer.Option(help="Use only the first N problems of each validation task.")] = None,
    eval_k: Annotated[Optional[int], typer.Option(help="Validation rows per problem, the k of avg@k (default: the paper's, 8 on aime24/synlogic/code, else 1).")] = None,
    eval_protocol: Annotated[str, typer.Option(help="Validation prompt: paper (the training prompt) or probe (the task's own).")] = "paper",
    one_shot: Annotated[Optional[list[str]], typer.Option(help="one-shot: problem id(s) of the example(s).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random one-shot choice.")] = 0,
    gym_option: GymOption = None,
    data_dir: DataDirOption = None,
    verifier: VerifierOption = None,
) -> None:
    """Write verl's parquet rows (data_source, prompt, ability, reward_model, extra_info)."""
    from mta_train import DapoSettings, TrainSettings, prepare_data

    def build() -> TrainSettings:
        return TrainSettings(
            technique=technique, task=task, eval_tasks=tuple(eval_task or ()), backend="verl",
            dapo=DapoSettings().changed(batch_size=batch_size, seed=seed), train_limit=train_limit,
            eval_limit=eval_limit, eval_k=eval_k, eval_protocol=eval_protocol,
            one_shot=tuple(one_shot) if one_shot else None,
            task_options=task_options(data_dir, gym_option, verifier))

    result = run_or_exit(prepare_data, run_or_exit(build), out)
    console.print(f"train: {result.train_file} ({result.train_rows} rows from "
                  f"{result.train_task})")
    for path in result.val_files:
        console.print(f"validation: {path}")
