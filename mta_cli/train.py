"""`mta train ...`: run an RL technique and measure its gain; `mta train select-example`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from mta_cli.console import (
    check_interrupted,
    console,
    err_console,
    phase_progress,
    run_or_exit,
    status,
)
from mta_cli.options import DataDirOption, GymOption, LoggerOption, VerifierOption, loggers, task_options
from mta_probe.errors import BadInputError
from mta_train import LOCAL_EVAL_LIMIT, TECHNIQUES, DapoSettings

app = typer.Typer(help="Run one RL technique of the paper and measure what it buys.",
                  invoke_without_command=True)

SMALL, PAPER = DapoSettings.small(), DapoSettings()


def _sizes(name: str) -> str:
    """A DAPO field's defaults on each backend, for its option's help."""
    return f"local {getattr(SMALL, name):g}, verl {getattr(PAPER, name):g}"


@app.callback()
def train(
    ctx: typer.Context,
    technique: Annotated[Optional[str], typer.Option(help=", ".join(TECHNIQUES) + " (mta train techniques).")] = None,
    variant: Annotated[str, typer.Option(help="Reward definition: paper (its scripts), shao (random, format, incorrect as Shao et al.), online (incorrect: the group's wrong answer).")] = "paper",
    model: Annotated[str, typer.Option(help="Model alias, hub id, folder or GGUF file.")] = "smollm2-135m",
    task: Annotated[str, typer.Option(help="Training task (TASKS key, gym:NAME or JSONL file).")] = "arith-quick",
    eval_task: Annotated[Optional[list[str]], typer.Option(help="Task scored before and after (repeatable; default: the training task).")] = None,
    backend: Annotated[str, typer.Option(help="local (this machine) or verl (a Ray cluster with GPUs).")] = "local",
    steps: Annotated[Optional[int], typer.Option(help=f"Training steps ({_sizes('steps')}; ttrl on verl 30).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help=f"Prompts per step ({_sizes('batch_size')}).")] = None,
    mini_batch_size: Annotated[Optional[int], typer.Option(help=f"Prompts per optimizer step ({_sizes('mini_batch_size')}).")] = None,
    group_size: Annotated[Optional[int], typer.Option(help=f"Rollouts per prompt ({_sizes('group_size')}).")] = None,
    lr: Annotated[Optional[float], typer.Option(help=f"Learning rate ({_sizes('lr')}).")] = None,
    warmup_steps: Annotated[Optional[int], typer.Option(help=f"Linear learning-rate warm-up, in training steps ({_sizes('warmup_steps')}).")] = None,
    clip_low: Annotated[Optional[float], typer.Option(help=f"Lower clip of the ratio, 1 - clip_low ({PAPER.clip_low}).")] = None,
    clip_high: Annotated[Optional[float], typer.Option(help=f"Upper clip of the ratio, 1 + clip_high (DAPO's clip-higher, {PAPER.clip_high}).")] = None,
    kl_coef: Annotated[Optional[float], typer.Option(help="KL penalty coefficient; Table 13 uses 0.001.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of rollouts, random rewards and data order.")] = None,
    max_response_length: Annotated[Optional[int], typer.Option(help=f"Response tokens ({_sizes('max_response_length')}).")] = None,
    temperature: Annotated[Optional[float], typer.Option(help=f"Rollout temperature ({PAPER.temperature}).")] = None,
    max_num_gen_batches: Annotated[Optional[int], typer.Option(help=f"Generation batches per step before the fallback ({PAPER.max_num_gen_batches}).")] = None,
    no_dynamic_sampling: Annotated[bool, typer.Option("--no-dynamic-sampling", help="Train on every group, even those whose rewards are all equal.")] = False,
    no_format_reward: Annotated[bool, typer.Option("--no-format-reward", help="Reward correctness alone, not correctness AND format (not the paper's setting).")] = False,
    one_shot: Annotated[Optional[list[str]], typer.Option(help="one-shot: problem id of the example (repeat for two).")] = None,
    train_limit: Annotated[Optional[int], typer.Option(help="Use only the first N training problems.")] = None,
    eval_limit: Annotated[Optional[int], typer.Option(help=f"Score only the first N problems of each evaluation task; 0: all (local {LOCAL_EVAL_LIMIT}, verl: all).")] = None,
    eval_k: Annotated[Optional[int], typer.Option(help="Samples per evaluation problem, the k of avg@k (default: the paper's, 8 on aime24/synlogic/code, else 1).")] = None,
    eval_protocol: Annotated[str, typer.Option(help="paper (training prompt, first <answer>, T 1.0, top_p 0.7) or probe (the task's prompt and extraction, top_p of the rollouts).")] = "paper",
    train_prompt: Annotated[str, typer.Option(help="paper (the think/answer instruction) or task (the task's own prompt, as mta probe passk sends it; not the paper's setting).")] = "paper",
    val_every: Annotated[Optional[int], typer.Option(help=f"Validate every N steps with the evaluation protocol ({_sizes('val_every')}; 0: never).")] = None,
    label_samples: Annotated[int, typer.Option(help="incorrect on math: rollouts per problem for Shao et al.'s fixed labels.")] = 64,
    micro_batch_size: Annotated[int, typer.Option(help="local: sequences per forward/backward pass.")] = 8,
    no_gradient_checkpointing: Annotated[bool, typer.Option("--no-gradient-checkpointing", help="local: keep activations instead of recomputing them.")] = False,
    gym_option: GymOption = None,
    data_dir: DataDirOption = None,
    verifier: VerifierOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory (default under $MTA_HOME/runs/train).")] = None,
    device: Annotated[Optional[str], typer.Option(help="local: cpu, cuda or cuda:N.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="verl: write the configuration and print the command only.")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="verl: address of an existing Ray cluster.")] = None,
    shared_dir: Annotated[Optional[Path], typer.Option(help="verl with --ray-address: a folder every node mounts at the same path; the run (--out) and a local model must be in it.")] = None,
    nodes: Annotated[int, typer.Option(help="verl: nodes.")] = 1,
    gpus_per_node: Annotated[int, typer.Option(help="verl: GPUs per node.")] = 8,
    logger: LoggerOption = None,
) -> None:
    """Run TECHNIQUE on MODEL and TASK, scoring the model before and after (gains.json)."""
    if ctx.invoked_subcommand is not None:
        return
    from mta_train import LocalSettings, TrainSettings
    from mta_train import train as run_training

    def build() -> TrainSettings:
        if technique is None:
            raise BadInputError("name a technique with --technique (e.g. --technique ground-truth)")
        changes = {name: value for name, value in (
            ("steps", steps), ("batch_size", batch_size), ("mini_batch_size", mini_batch_size),
            ("group_size", group_size), ("lr", lr), ("kl_coef", kl_coef), ("seed", seed),
            ("max_response_length", max_response_length), ("temperature", temperature),
            ("max_num_gen_batches", max_num_gen_batches), ("val_every", val_every),
            ("warmup_steps", warmup_steps), ("clip_low", clip_low), ("clip_high", clip_high),
            ("dynamic_sampling", False if no_dynamic_sampling else None)) if value is not None}
        dapo = DapoSettings.default(technique, backend).changed(**changes) if changes else None
        cluster = {} if backend == "local" else {"ray_address": ray_address, "nodes": nodes,
                                                 "gpus_per_node": gpus_per_node}
        if shared_dir is not None and backend != "local":
            cluster["shared_dir"] = str(shared_dir)  # a string: the run's identity is JSON
        return TrainSettings(
            technique=technique, variant=variant, model=model, task=task, eval_tasks=tuple(eval_task or ()),
            backend=backend, dapo=dapo, train_limit=train_limit, eval_limit=eval_limit, eval_k=eval_k,
            eval_protocol=eval_protocol, train_prompt=train_prompt, label_samples=label_samples,
            local=LocalSettings(device=device, micro_batch_size=micro_batch_size,
                                gradient_checkpointing=not no_gradient_checkpointing),
            one_shot=tuple(one_shot) if one_shot else None, run_dir=out,
            task_options=task_options(data_dir, gym_option, verifier), backend_options=cluster,
            dry_run=dry_run, require_format=not no_format_reward, loggers=loggers(logger))

    settings = run_or_exit(build)
    with phase_progress() as update:
        result = run_or_exit(run_training, settings, on_step=_print_step, on_status=status,
                             on_progress=lambda p: update(p.phase, p.done, p.total, p.unit))
    _render(result)


def _print_step(record: dict[str, Any]) -> None:
    check_interrupted()
    err_console.print(
        f"step {record['step']:>3}  reward {record['reward_mean']:.3f}  "
        f"acc {record['accuracy']:.3f}  entropy {record['entropy']:.2f}  "
        f"length {record['response_length']:.0f}  groups kept "
        f"{record['groups_kept']}/{record['groups_total']}  {record['seconds']:.0f}s", soft_wrap=True)


def _render(result) -> None:
    if result.command is not None and result.gains is None:
        console.print("verl command (not launched):", style="bold")
        console.print(shlex.join(result.command), soft_wrap=True)
        console.print(f"configuration: {result.run_dir / 'verl_config.yaml'}")
        return
    gains = result.gains
    table = Table(title=f"{gains['technique']} ({gains['variant']}) on {gains['model']}, "
                        f"{gains['protocol']} evaluation protocol")
    for column in ("task", "metric", "before", "after", "gain"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for task, row in gains["tasks"].items():
        style = "green" if row["gain"] > 0 else "red" if row["gain"] < 0 else None
        table.add_row(task, row["metric"], f"{row['before']:.3f}", f"{row['after']:.3f}",
                      f"[{style}]{row['gain']:+.3f}[/]" if style else f"{row['gain']:+.3f}")
    console.print(table)
    console.print(f"run: {result.run_dir}  (metrics.jsonl, gains.json; plot with "
                  f"`mta report curves {result.run_dir}`)", soft_wrap=True)


@app.command("select-example")
def select_example(
    history: Annotated[Path, typer.Argument(help="JSONL of {problem_id, epoch, accuracy} (a local run's history.jsonl).")],
    count: Annotated[int, typer.Option(help="How many examples to pick.")] = 1,
) -> None:
    """Wang et al.'s one-shot choice: the examples whose training accuracy varied most."""
    from mta_train import select_example as select

    ranked = run_or_exit(select, history, count)
    table = Table(title=f"one-shot example by accuracy variance ({history})")
    for column in ("problem id", "std", "mean accuracy", "epochs"):
        table.add_column(column, justify="right")
    for row in ranked:
        table.add_row(row.problem_id, f"{row.std:.3f}", f"{row.mean:.3f}", str(row.epochs))
    console.print(table)
    console.print(f"train on it: mta train --technique one-shot --one-shot {ranked[0].problem_id}")


@app.command("techniques")
def techniques() -> None:
    """List the techniques."""
    from mta_train import TECHNIQUES

    table = Table(title="techniques (mta train --technique NAME [--variant V])")
    table.add_column("name")
    table.add_column("what changes from DAPO with ground-truth reward")
    table.add_column("variants (first: default)")
    for name, technique in TECHNIQUES.items():
        table.add_row(name, technique.summary, ", ".join(technique.variants))
    console.print(table)
