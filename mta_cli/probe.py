"""`mta probe ...`: measure a model on a task. Each command parses options, makes one library
call, and renders what it returns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table

from mta_cli.console import (
    CATEGORY_STYLES,
    console,
    phase_progress,
    run_or_exit,
    sample_progress,
    status,
)
from mta_cli.options import (
    BackendOption,
    DataDirOption,
    EngineOption,
    GymOption,
    LoggerOption,
    VerifierOption,
    engine_options,
    loggers,
    task_options,
)
from mta_cli.parsing import parse_ks, parse_portions
from mta_probe.errors import BadInputError

if TYPE_CHECKING:  # the library loads when a command runs, not when the CLI starts
    from mta_probe import FitSettings, PassKResult

app = typer.Typer(help="Probe a model on a task: pass@k, contamination, alignment.", no_args_is_help=True)


def _fit_table(p: dict[str, Any]) -> Table:
    """Unbiased and fitted pass@k side by side, one row per k of either; the fitted columns marked."""
    fit = p.get("fit") if p.get("fit") and "pass_at_k" in p["fit"] else None
    chance = dict(p["chance_pass_at_k"] or {})
    if fit and fit.get("chance_pass_at_k"):
        chance = {**fit["chance_pass_at_k"], **chance}
    table = Table(title=f"pass@k of {p['model']} on {p['task']} ({p['num_problems']} problems, n={p['n']})")
    for column in ("k", "pass@k", "95% interval") + (("fitted*", f"{fit['level']:.0%} any population") if fit else ()) \
            + (("chance",) if chance else ()):
        table.add_column(column, justify="right")
    ks = sorted({int(k) for k in p["pass_at_k"]} | ({int(k) for k in fit["pass_at_k"]} if fit else set()))
    for k in ks:
        key = str(k)
        row = [key]
        if key in p["pass_at_k"]:
            low, high = p["interval"][key]
            row += [f"{p['pass_at_k'][key]:.3f}", f"[{low:.3f}, {high:.3f}]"]
        else:
            row += ["-", "k > n"]
        if fit:
            low, high = fit["interval"][key]
            row += [f"{fit['pass_at_k'][key]:.3f}", f"[{low:.3f}, {high:.3f}]"]
        if chance:
            row.append(f"{chance[key]:.3f}" if key in chance else "")
        table.add_row(*row)
    return table


def render_fit_notes(p: dict[str, Any]) -> None:
    """What the fitted columns are, and the fit's warnings on one line (each in full in passk.json)."""
    fit = p.get("fit")
    if not fit:
        return
    if "skipped" in fit:
        console.print(f"[yellow]no fitted curve: {fit['skipped']}[/]")
        return
    source = f", from each problem's first {fit['max_n']} samples" if fit.get("max_n") else ""
    console.print(f"* fitted (docs/passk.md): {fit['method']}, best of {len(fit['scores'])} by "
                  f"{fit['criterion'].upper()}{source}, kept inside the interval any population consistent with "
                  "the samples allows; at k <= n read it beside the unbiased pass@k")
    if fit.get("identification"):
        console.print(f"[yellow]{fit['identification']}[/]")
    if fit["warnings"]:
        # each warning's name is the text before its first colon ("too few problems: 20 < 50; ...")
        names = "; ".join(warning.split(":")[0] for warning in fit["warnings"])
        console.print(f"[yellow]fit warnings (passk.json): {names}[/]",
                      no_wrap=True, overflow="ellipsis")


def render_reading(p: dict[str, Any]) -> None:
    """Two lines: how far the curve rises, and what that suggests about model-task alignment (the
    verdict itself reads chance-corrected pass@64 with contamination: `mta probe align`)."""
    from mta_probe import AlignRule, passk_reading

    k, score = passk_reading(p)
    first_k = min(int(key) for key in p["pass_at_k"])
    first, last = p["pass_at_k"][str(first_k)], p["pass_at_k"][str(k)]
    strong = AlignRule().strong_threshold
    read = f"chance-corrected pass@{k} {score:.2f}" if p.get("chance_pass_at_k") else f"pass@{k}"
    if score >= strong:
        meaning = (f"{read} at or above {strong}: the model already solves most problems with enough "
                   "tries, the regime where the paper finds even spurious rewards help")
    else:
        meaning = (f"{read} below {strong}: weakly aligned so far, the regime where the paper finds only "
                   "ground-truth rewards help")
    console.print(f"pass@{first_k} {first:.2f} -> pass@{k} {last:.2f}: {meaning};")
    console.print("the verdict (chance-corrected pass@64, contamination): mta probe align --passk RUN_DIR")


def render_passk(result: PassKResult, written: str = "samples.jsonl, passk.json, passk.png") -> None:
    """The curve as a table (fitted values beside the unbiased ones), then where the files are."""
    p = result.payload
    console.print(_fit_table(p))
    render_reading(p)
    render_fit_notes(p)
    if p.get("adaptive"):
        a = p["adaptive"]
        spread = a["samples_per_problem"]
        console.print(f"adaptive ({a['settings']['rule']} rule): {len(a['rounds'])} rounds, {p['num_samples']} samples, "
                      f"{spread['min']} to {spread['max']} a problem (median {spread['median']:g}); "
                      f"unbiased pass@k from {a['unbiased_from']}")
    if p.get("correct_only_by_last_number"):
        console.print(f"[yellow]{p['correct_only_by_last_number']} correct samples gave no explicit answer; "
                      "the verifier took the last number in the text[/]")
    if p.get("code_usage") is not None:
        console.print(f"code usage: {p['code_usage']:.1%} of samples reason with code")
    failures = ", ".join(f"{why}: {count}" for why, count in p.get("verifier_failures", {}).items())
    if failures:
        console.print(f"verifier notes: {failures}")
    console.print(f"written: {result.run_dir}/{written}")


def fit_settings(enabled: bool, fit_to: int | None, level: float | None = None) -> FitSettings | None:
    """The FitSettings the options ask for (None when --no-fit); unset options keep its defaults."""
    from mta_probe import FitSettings

    if not enabled:
        return None
    given = {name: value for name, value in (("fit_to", fit_to), ("level", level)) if value is not None}
    return FitSettings(**given)


@app.command()
def passk(
    model: Annotated[str, typer.Option(help="alias (qwen, llama, mistral, smollm2-135m), hub ID, HF folder or .gguf")] = "smollm2-135m",
    task: Annotated[str, typer.Option(help="a task name (mta probe tasks), gym:NAME, or a JSONL file")] = "capitals",
    n: Annotated[int, typer.Option("-n", "--n", help="samples per problem")] = 16,
    k: Annotated[Optional[str], typer.Option("--k", help="k values, e.g. 1,2,4,8 (default: powers of two up to n)")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="new tokens per sample (default: the task's own, else the model's)")] = None,
    temperature: Annotated[float, typer.Option(help="sampling temperature (paper: 1.0)")] = 1.0,
    top_p: Annotated[float, typer.Option(help="nucleus sampling (paper: 1.0)")] = 1.0,
    seed: Annotated[int, typer.Option(help="run seed")] = 0,
    backend: BackendOption = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory (default under $MTA_HOME/runs)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="take the first N problems")] = None,
    chat: Annotated[Optional[bool], typer.Option("--chat/--raw", help="chat template or raw text (default: by model)")] = None,
    stop: Annotated[list[str], typer.Option(help="stop string, repeatable, \\n for a newline (default: the continuation markers for raw prompts, none for chat; --stop '' for none)")] = [],
    data_dir: DataDirOption = None,
    gym_option: GymOption = None,
    verifier: VerifierOption = None,
    from_samples: Annotated[Optional[Path], typer.Option(help="score completions from this JSONL instead of sampling")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="server URL for --backend openai")] = None,
    tensor_parallel: Annotated[int, typer.Option(help="GPUs per vLLM engine (on one node)")] = 1,
    data_parallel: Annotated[int, typer.Option(help="vLLM engines, run on Ray Data when > 1")] = 1,
    nodes: Annotated[Optional[int], typer.Option(help="with --data-parallel: GPU nodes the Ray cluster must have")] = None,
    ray_address: Annotated[Optional[str], typer.Option(help="a running Ray cluster for the vLLM replicas (default: RAY_ADDRESS, else local)")] = None,
    gpu_memory_utilization: Annotated[Optional[float], typer.Option(help="vLLM: share of each GPU's memory it may take (default 0.9)")] = None,
    max_model_len: Annotated[Optional[int], typer.Option(help="vLLM: context length cap (default: the model's)")] = None,
    engine_option: EngineOption = None,
    lenient: Annotated[bool, typer.Option(help="math/gym: take the last number when no answer is marked")] = False,
    verify_workers: Annotated[int, typer.Option(help="verifier processes")] = 2,
    verify_timeout: Annotated[float, typer.Option(help="seconds per verification before it is killed")] = 10.0,
    fit: Annotated[bool, typer.Option("--fit/--no-fit", help="fit pass@k beyond n beside the unbiased curve (docs/passk.md)")] = True,
    fit_to: Annotated[Optional[int], typer.Option(help="largest k of the fitted curve (default 1024)")] = None,
    budget: Annotated[Optional[int], typer.Option(help="adaptive sampling: total samples, spent in rounds after n per problem (docs/passk.md)")] = None,
    rounds: Annotated[Optional[int], typer.Option(help="with --budget: rounds after the opening one (default 6)")] = None,
    rule: Annotated[Optional[str], typer.Option(help="with --budget: variance (default) or zeros (Kazdan et al.)")] = None,
    quantum: Annotated[Optional[int], typer.Option(help="with --budget, variance rule: samples are handed out in multiples of this (default 8)")] = None,
    cap: Annotated[Optional[int], typer.Option(help="with --budget, variance rule: most samples one problem gets in a round (default 256)")] = None,
    logger: LoggerOption = None,
) -> None:
    """Sample n completions per problem, verify them, and estimate the pass@k curve."""
    from mta_probe import AdaptiveSettings, PassKSettings, SamplingSettings, probe_passk, score_completions

    def adaptive() -> AdaptiveSettings | None:
        given = {name: value for name, value in (("rounds", rounds), ("rule", rule), ("quantum", quantum),
                                                 ("cap", cap)) if value is not None}
        if budget is None:
            if given:
                raise BadInputError(f"--{next(iter(given))} applies to adaptive sampling: give --budget too")
            return None
        target = {"target_k": fit_to} if fit_to is not None else {}
        return AdaptiveSettings(budget=budget, first=n, **target, **given)

    def build() -> PassKSettings:
        sampling = SamplingSettings(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                                    stop=tuple(s.replace("\\n", "\n") for s in stop if s) if stop else None)
        parallel = (tensor_parallel, data_parallel) != (1, 1)
        engine = engine_options(engine_option, base_url=base_url, nodes=nodes, ray_address=ray_address,
                                gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                                tensor_parallel_size=tensor_parallel if parallel else None,
                                data_parallel_size=data_parallel if parallel else None)
        return PassKSettings(model=model, task=task, n=n, ks=parse_ks(k), sampling=sampling, seed=seed,
                             backend=backend, chat=chat, limit=limit, out=out,
                             task_options=task_options(data_dir, gym_option, verifier),
                             lenient=lenient, verify_workers=verify_workers, verify_timeout=verify_timeout,
                             engine_options=engine, fit=fit_settings(fit, fit_to), adaptive=adaptive(),
                             loggers=loggers(logger))

    settings = run_or_exit(build)
    if from_samples is not None:
        result = run_or_exit(score_completions, settings, from_samples)
    else:
        with sample_progress(f"{model} on {task}") as update:
            result = run_or_exit(probe_passk, settings, progress=update, on_status=status)
    render_passk(result)


@app.command("fit")
def fit_command(
    run: Annotated[Path, typer.Argument(help="a finished pass@k run directory")],
    fit_to: Annotated[Optional[int], typer.Option(help="largest k of the fitted curve (default 1024)")] = None,
    max_n: Annotated[Optional[int], typer.Option(help="fit from each problem's first N samples only (default: all)")] = None,
    level: Annotated[Optional[float], typer.Option(help="coverage of the fit's interval (default 0.95)")] = None,
) -> None:
    """Fit a finished run's pass@k beyond n again, without sampling; rewrites passk.json's fit and passk.png."""
    from mta_probe import RefitSettings, refit_passk

    settings = run_or_exit(lambda: RefitSettings(run_dir=run, fit=fit_settings(True, fit_to, level), max_n=max_n))
    render_passk(run_or_exit(refit_passk, settings), written="passk.json, passk.png")


@app.command()
def tasks() -> None:
    """List the tasks mta knows, with their source and verifier."""
    from mta_probe import TASKS

    table = Table(title="tasks (also gym:NAME for any reasoning-gym dataset, or a JSONL file)")
    for column in ("name", "verifier", "source", "description"):
        table.add_column(column)
    for name, t in TASKS.items():
        table.add_row(name, t.verifier, t.source, t.description)
    console.print(table)


@app.command()
def contam(
    model: Annotated[str, typer.Option(help="alias, hub ID, HF folder or .gguf")] = "smollm2-135m",
    task: Annotated[str, typer.Option(help="a task name, gym:NAME, or a JSONL file")] = "humaneval",
    portions: Annotated[str, typer.Option(help="fractions of each statement's words shown")] = "0.4,0.6,0.8",
    chat: Annotated[bool, typer.Option("--chat/--raw", help="chat template (default raw, as Wu et al.)")] = False,
    max_tokens: Annotated[Optional[int], typer.Option(help="cap on new tokens per completion (default: each remainder's own budget, never cut)")] = None,
    backend: BackendOption = None,
    limit: Annotated[Optional[int], typer.Option(help="take the first N problems")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory (default under $MTA_HOME/runs)")] = None,
    data_dir: DataDirOption = None,
    gym_option: GymOption = None,
    verifier: VerifierOption = None,
    base_url: Annotated[Optional[str], typer.Option(help="server URL for --backend openai")] = None,
    engine_option: EngineOption = None,
) -> None:
    """Greedy-complete truncated problem statements; ROUGE-L and exact match against the rest (Table 1)."""
    from mta_probe import ContamSettings, probe_contamination

    def build() -> ContamSettings:
        return ContamSettings(model=model, task=task, portions=parse_portions(portions), chat=chat,
                              max_tokens=max_tokens,
                              backend=backend, limit=limit, out=out,
                              task_options=task_options(data_dir, gym_option, verifier),
                              engine_options=engine_options(engine_option, base_url=base_url))

    settings = run_or_exit(build)
    with sample_progress(f"{model} on {task}") as update:
        result = run_or_exit(probe_contamination, settings, progress=update, on_status=status)
    p = result.payload
    table = Table(title=f"contamination of {p['model']} on {p['task']} (ROUGE-L and exact match, %)")
    for column in ("portion", "items", "shared, left out", "ROUGE-L", "95% interval", "EM", "95% interval "):
        table.add_column(column, justify="right")
    for portion, row in p["portions"].items():
        table.add_row(portion, str(row["items"]), str(row["shared_left_out"]), f"{100 * row['rouge_l']:.2f}",
                      "[{:.1f}, {:.1f}]".format(*(100 * v for v in row["rouge_l_interval"])),
                      f"{100 * row['exact_match']:.2f}",
                      "[{:.1f}, {:.1f}]".format(*(100 * v for v in row["exact_match_interval"])))
    console.print(table)
    console.print(f"written: {result.run_dir}/contam.jsonl, contam.json")


@app.command()
def align(
    passk: Annotated[list[Path], typer.Option(help="a pass@k run directory, repeatable (a domain)")] = [],
    contam: Annotated[list[Path], typer.Option(help="a contamination run directory, repeatable")] = [],
    model: Annotated[Optional[str], typer.Option(help="with --task and no runs: run both probes first")] = None,
    task: Annotated[Optional[str], typer.Option(help="with --model and no runs: run both probes first")] = None,
    k_ref: Annotated[int, typer.Option(help="k at which alignment is read")] = 64,
    strong_threshold: Annotated[float, typer.Option(help="chance-corrected pass@k_ref for strong alignment")] = 0.6,
    max_chance: Annotated[float, typer.Option(help="read pass@k only where guessing stays below this")] = 0.5,
    em_threshold: Annotated[float, typer.Option(help="exact match at the largest portion: contaminated")] = 0.25,
    rouge_threshold: Annotated[float, typer.Option(help="ROUGE-L at the smallest portion: contaminated")] = 0.40,
    from_fit: Annotated[bool, typer.Option("--from-fit/--no-fit", help="a run with n < k-ref: read S at k-ref on its fitted curve (default) or at n")] = True,
    out: Annotated[Optional[Path], typer.Option(help="where align.json goes (default: the first pass@k run)")] = None,
    data_dir: DataDirOption = None,
    gym_option: GymOption = None,
    verifier: VerifierOption = None,
    n: Annotated[int, typer.Option("-n", "--n", help="with --model/--task: pass@k samples per problem")] = 16,
    limit: Annotated[Optional[int], typer.Option(help="with --model/--task: the first N problems, in both probes")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="with --model/--task: pass@k new tokens per sample (default: the task's own, else the model's)")] = None,
    temperature: Annotated[float, typer.Option(help="with --model/--task: pass@k sampling temperature (paper: 1.0)")] = 1.0,
    seed: Annotated[int, typer.Option(help="with --model/--task: pass@k run seed")] = 0,
    chat: Annotated[Optional[bool], typer.Option("--chat/--raw", help="with --model/--task: pass@k prompts through the chat template or raw (default: by model)")] = None,
    portions: Annotated[str, typer.Option(help="with --model/--task: contamination portions of each statement shown")] = "0.4,0.6,0.8",
    backend: BackendOption = None,
    engine_option: EngineOption = None,
    logger: LoggerOption = None,
) -> None:
    """Red, green or gray: is the pair contaminated, and is it strongly aligned (docs/alignment.md)?
    With --model and --task and no runs, both probes run first, sized by the options above."""
    from mta_probe import (
        AlignRule,
        AlignSettings,
        ContamSettings,
        PassKSettings,
        SamplingSettings,
        probe_alignment,
    )

    def build() -> AlignSettings:
        rule = AlignRule(k_ref=k_ref, strong_threshold=strong_threshold, max_chance=max_chance,
                         em_threshold=em_threshold, rouge_threshold=rouge_threshold, from_fit=from_fit)
        probes: dict[str, Any] = {}
        if model and task and not passk:
            engine = engine_options(engine_option)
            probes = {"passk_probe": PassKSettings(
                n=n, limit=limit, seed=seed, backend=backend, chat=chat, engine_options=engine,
                sampling=SamplingSettings(temperature=temperature, max_tokens=max_tokens)),
                "contam_probe": ContamSettings(limit=limit, backend=backend, engine_options=engine,
                                               portions=parse_portions(portions))}
        return AlignSettings(
            passk_runs=tuple(passk), contam_runs=tuple(contam), model=model, task=task, rule=rule, out=out,
            task_options=task_options(data_dir, gym_option, verifier), loggers=loggers(logger),
            **probes)

    settings = run_or_exit(build)
    with phase_progress() as update:
        result = run_or_exit(probe_alignment, settings, on_status=status,
                             progress=lambda probe, p: update(f"{probe}: {Path(task or '').name}",
                                                              p.samples_done, p.samples_total, "samples"))
    p = result.payload
    style = CATEGORY_STYLES[p["category"]]
    console.print(f"[{style}]{p['category'].upper()}[/]  {p['model']} on {', '.join(p['tasks'])}")
    contaminated = {True: "contaminated", False: "clean", None: "not measured (treated as clean)"}[p["contaminated"]]
    console.print(f"alignment score {p['alignment_score']:.3f} (chance-corrected pass@k at k={p['k_used']}; "
                  f"strong from {strong_threshold})")
    for note in p["reading_notes"]:
        console.print(f"[yellow]{note}[/]")
    if not p.get("verdict_identified", True):
        low, high = p["alignment_score_range"]
        console.print(f"[yellow]verdict not identified: beyond n the samples allow S anywhere in [{low:.3f}, {high:.3f}] "
                      f"({' to '.join(p['category_range'])}); sample n >= k_ref to decide[/]")
    for task_name, warnings in p["fit_warnings"].items():
        for warning in warnings:
            console.print(f"[yellow]fit of {task_name}: {warning}[/]")
    if p["contaminated"] is not None:
        console.print(f"contamination: {contaminated} (EM {p['contamination_exact_match']:.1%} at the largest "
                      f"portion, ROUGE-L {p['contamination_rouge_l']:.1%} at the smallest)")
    else:
        console.print(f"contamination: {contaminated}")
    console.print(f"stability: {p['stability']:.0%} of bootstrap resamples of problems give {p['category']}")
    console.print(f"written: {result.path}")


@app.command()
def kl(
    policy: Annotated[str, typer.Option(help="the trained model (alias, hub ID, HF folder or .gguf)")],
    reference: Annotated[str, typer.Option(help="the model before training")],
    task: Annotated[str, typer.Option(help="a task name, gym:NAME, or a JSONL file")] = "arith-quick",
    limit: Annotated[Optional[int], typer.Option(help="take the first N problems")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="new tokens per greedy trajectory")] = None,
    chat: Annotated[Optional[bool], typer.Option("--chat/--raw", help="chat template (default: by policy)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory (default under $MTA_HOME/runs)")] = None,
    data_dir: DataDirOption = None,
    gym_option: GymOption = None,
    verifier: VerifierOption = None,
) -> None:
    """KL between a trained policy and its base on the policy's greedy trajectories (Appendix I, eq. 1)."""
    from mta_probe import KLSettings, probe_kl

    settings = run_or_exit(lambda: KLSettings(
        policy=policy, reference=reference, task=task, limit=limit, max_tokens=max_tokens, chat=chat, out=out,
        task_options=task_options(data_dir, gym_option, verifier)))
    with sample_progress(f"{policy} vs {reference}") as update:
        result = run_or_exit(probe_kl, settings, progress=update, on_status=status)
    p = result.payload
    console.print(f"KL({p['policy']} || {p['reference']}) on {p['task']}: "
                  f"{p['kl_token_mean']:.5f} per token over {p['tokens']} tokens "
                  f"[{p['kl_token_mean_interval'][0]:.5f}, {p['kl_token_mean_interval'][1]:.5f}]; "
                  f"per-problem mean {p['kl_problem_mean']:.5f}")
    console.print(f"written: {result.run_dir}/kl.jsonl, kl.json")
