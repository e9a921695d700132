"""`mta train ...`: run an RL technique and measure its gain; `mta train select-example`."""

from __future__ import annotations

import shlex
from dataclasses import replace
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
from mta_cli.parsing import parse_options

app = typer.Typer(help="Run one RL technique of the paper and measure what it buys.",
                  invoke_without_command=True)

# Option name -> DapoSettings field: the only DAPO values the command line changes.
DAPO_OPTIONS = ("steps", "batch_size", "mini_batch_size", "group_size", "lr", "kl_coef", "seed",
                "max_response_length", "temperature", "max_num_gen_batches", "val_every",
                "warmup_steps", "clip_low", "clip_high")


@app.callback()
def train(
    ctx: typer.Context,
    technique: Annotated[Optional[str], typer.Option(help="ground-truth, random, incorrect, format, vote, em, ttrl, one-shot, nsr, psr.")] = None,
    variant: Annotated[str, typer.Option(help="Reward definition: paper (its scripts), shao (random, format, incorrect as Shao et al.), online (incorrect: the group's wrong answer).")] = "paper",
    model: Annotated[str, typer.Option(help="Model alias, hub id, folder or GGUF file.")] = "smollm2-135m",
    task: Annotated[str, typer.Option(help="Training task (TASKS key, gym:NAME or JSONL file).")] = "arith-quick",
    eval_task: Annotated[Optional[list[str]], typer.Option(help="Task scored before and after (repeatable; default: the training task).")] = None,
    backend: Annotated[str, typer.Option(help="local (this machine) or verl (a Ray cluster with GPUs).")] = "local",
    steps: Annotated[Optional[int], typer.Option(help="Training steps (local 6, verl 300; ttrl on verl 30).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Prompts per step (local 2, verl 128).")] = None,
    mini_batch_size: Annotated[Optional[int], typer.Option(help="Prompts per optimizer step (local 2, verl 64).")] = None,
    group_size: Annotated[Optional[int], typer.Option(help="Rollouts per prompt (local 8, verl 16).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (local 1e-5, verl 1e-6).")] = None,
    warmup_steps: Annotated[Optional[int], typer.Option(help="Linear learning-rate warm-up, in training steps (local 0, verl 10).")] = None,
    clip_low: Annotated[Optional[float], typer.Option(help="Lower clip of the ratio, 1 - clip_low (0.2).")] = None,
    clip_high: Annotated[Optional[float], typer.Option(help="Upper clip of the ratio, 1 + clip_high (DAPO's clip-higher, 0.28).")] = None,
    kl_coef: Annotated[Optional[float], typer.Option(help="KL penalty coefficient; Table 13 uses 0.001.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of rollouts, random rewards and data order.")] = None,
    max_response_length: Annotated[Optional[int], typer.Option(help="Response tokens (local 64, verl 8192).")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Rollout temperature (1.0).")] = None,
    max_num_gen_batches: Annotated[Optional[int], typer.Option(help="Generation batches per step before the fallback (2).")] = None,
    no_dynamic_sampling: Annotated[bool, typer.Option("--no-dynamic-sampling", help="Train on every group, even those whose rewards are all equal.")] = False,
    no_format_reward: Annotated[bool, typer.Option("--no-format-reward", help="Reward correctness alone, not correctness AND format (not the paper's setting).")] = False,
    one_shot: Annotated[Optional[list[str]], typer.Option(help="one-shot: problem id of the example (repeat for two).")] = None,
    train_limit: Annotated[Optional[int], typer.Option(help="Use only the first N training problems.")] = None,
    eval_limit: Annotated[Optional[int], typer.Option(help="Score only the first N problems of each evaluation task; 0: all (local default 20, verl: all).")] = None,
    eval_k: Annotated[Optional[int], typer.Option(help="Samples per evaluation problem, the k of avg@k (default: the paper's, 8 on aime24/synlogic/code, else 1).")] = None,
    eval_protocol: Annotated[str, typer.Option(help="paper (training prompt, first <answer>, T 1.0, top_p 0.7) or probe (the task's prompt and extraction, top_p of the rollouts).")] = "paper",
    train_prompt: Annotated[str, typer.Option(help="paper (the think/answer instruction) or task (the task's own prompt, as mta probe passk sends it; not the paper's setting).")] = "paper",
    val_every: Annotated[Optional[int], typer.Option(help="Validate every N steps with the evaluation protocol (local 0 = never, verl 20).")] = None,
    label_samples: Annotated[int, typer.Option(help="incorrect on math: rollouts per problem for Shao et al.'s fixed labels.")] = 64,
    micro_batch_size: Annotated[int, typer.Option(help="local: sequences per forward/backward pass.")] = 8,
    no_gradient_checkpointing: Annotated[bool, typer.Option("--no-gradient-checkpointing", help="local: keep activations instead of recomputing them.")] = False,
    gym_option: Annotated[Optional[list[str]], typer.Option(help="KEY=VALUE option of a gym:NAME task (repeatable).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local benchmark files (docs/tasks.md; or $MTA_DATA_DIR).")] = None,
    verifier: Annotated[Optional[str], typer.Option(help="Verifier of a JSONL task (math, exact, normalized, ...).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory (default under $MTA_HOME/runs/train).")] = None,
    device: Annotated[Optional[str], typer.Option(help="local: cpu, cuda or cuda:N.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="verl: write the configuration and print the command only.")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="verl: address of an existing Ray cluster.")] = None,
    nodes: Annotated[int, typer.Option(help="verl: nodes.")] = 1,
    gpus_per_node: Annotated[int, typer.Option(help="verl: GPUs per node.")] = 8,
) -> None:
    """Run TECHNIQUE on MODEL and TASK, scoring the model before and after (gains.json)."""
    given = dict(locals())
    if ctx.invoked_subcommand is not None:
        return
    from mta_train import train as run_training

    settings = run_or_exit(lambda: _settings(given))
    with phase_progress() as update:
        result = run_or_exit(lambda: run_training(
            settings, on_step=_print_step, on_status=status,
            on_progress=lambda p: update(p.phase, p.done, p.total, p.unit)))
    _render(result)


def _eval_limit(given: int | None, local: bool) -> int | None:
    """--eval-limit: N problems, 0 for all of them; unset, the local backend's small default."""
    from mta_train import LOCAL_EVAL_LIMIT

    if given == 0:
        return None
    return given if given is not None else (LOCAL_EVAL_LIMIT if local else None)


def _settings(given: dict[str, Any]):
    """TrainSettings from the command's options (`given`: the callback's arguments by name)."""
    from mta_probe import TaskOptions
    from mta_probe.errors import BadInputError
    from mta_train import (
        DapoSettings,
        LocalSettings,
        TrainSettings,
        get_technique,
    )

    if given["technique"] is None:
        raise BadInputError("name a technique with --technique (e.g. --technique ground-truth)")
    local = given["backend"] == "local"
    dapo = DapoSettings.small() if local else DapoSettings.for_technique(get_technique(given["technique"]))
    options = {k: given[k] for k in DAPO_OPTIONS if given[k] is not None}
    if given["no_dynamic_sampling"]:
        options["dynamic_sampling"] = False
    if "batch_size" in options and "mini_batch_size" not in options:
        options["mini_batch_size"] = min(dapo.mini_batch_size, options["batch_size"])
    backend_options: dict[str, Any] = {} if local else {
        key: given[key] for key in ("ray_address", "nodes", "gpus_per_node")}
    return TrainSettings(
        technique=given["technique"], variant=given["variant"], model=given["model"],
        task=given["task"], eval_tasks=tuple(given["eval_task"] or ()), backend=given["backend"],
        dapo=replace(dapo, **options), train_limit=given["train_limit"],
        eval_limit=_eval_limit(given["eval_limit"], local),
        eval_k=given["eval_k"], eval_protocol=given["eval_protocol"],
        train_prompt=given["train_prompt"], label_samples=given["label_samples"],
        local=LocalSettings(device=given["device"], micro_batch_size=given["micro_batch_size"],
                            gradient_checkpointing=not given["no_gradient_checkpointing"]),
        one_shot=tuple(given["one_shot"]) if given["one_shot"] else None, run_dir=given["out"],
        task_options=TaskOptions(data_dir=given["data_dir"],
                                 gym=parse_options(given["gym_option"] or []),
                                 verifier=given["verifier"]),
        backend_options=backend_options, dry_run=given["dry_run"],
        require_format=not given["no_format_reward"])


def _print_step(record: dict[str, Any]) -> None:
    check_interrupted()
    err_console.print(
        f"step {record['step']:>3}  reward {record['reward_mean']:.3f}  "
        f"acc {record['accuracy']:.3f}  entropy {record['entropy']:.2f}  "
        f"length {record['response_length']:.0f}  groups kept "
        f"{record['groups_kept']}/{record['groups_total']}  {record['seconds']:.0f}s",
        highlight=False, soft_wrap=True)


def _render(result) -> None:
    if result.command is not None and result.gains is None:
        console.print("verl command (not launched):", style="bold")
        console.print(shlex.join(result.command), highlight=False, soft_wrap=True)
        console.print(f"configuration: {result.run_dir / 'verl_config.yaml'}", highlight=False)
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
                  f"`mta report curves {result.run_dir}`)", highlight=False, soft_wrap=True)


@app.command("select-example")
def select_example(
    history: Annotated[Path, typer.Argument(help="JSONL of {problem_id, epoch, accuracy} (a local run's history.jsonl).")],
    count: Annotated[int, typer.Option(help="How many examples to pick.")] = 1,
) -> None:
    """Wang et al.'s one-shot choice: the examples whose training accuracy varied most."""
    from mta_train import select_example as select

    ranked = run_or_exit(lambda: select(history, count))
    table = Table(title=f"one-shot example by accuracy variance ({history})")
    for column in ("problem id", "std", "mean accuracy", "epochs"):
        table.add_column(column, justify="right")
    for row in ranked:
        table.add_row(row.problem_id, f"{row.std:.3f}", f"{row.mean:.3f}", str(row.epochs))
    console.print(table)
    console.print(f"train on it: mta train --technique one-shot --one-shot {ranked[0].problem_id}",
                  highlight=False)


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
