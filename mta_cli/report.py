"""`mta report ...`: turn probe and train runs into tables, figures and one report. Each command
parses options, makes one library call (which writes every file first), and renders its result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from mta_cli.console import CATEGORY_STYLES, console, err_console, run_or_exit
from mta_probe.errors import BadInputError

app = typer.Typer(help="Report on runs: predicted against actual gains, pass@k against gain, curves.",
                  no_args_is_help=True)

PAPER_TABLES = ("2", "3", "5", "6", "11", "12", "13")


def parse_tables(text: str) -> tuple[str, ...] | None:
    """'2,3,5,6' -> ('2', '3', '5', '6'); 'all' -> None (every table)."""
    if text.strip().lower() == "all":
        return None
    tables = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [t for t in tables if t not in PAPER_TABLES]
    if not tables or unknown:
        raise BadInputError(f"--tables takes 'all' or paper tables among {', '.join(PAPER_TABLES)}, not {text!r}")
    return tables


def _category(name: str | None) -> str:
    return f"[{CATEGORY_STYLES[name]}]{name}[/]" if name in CATEGORY_STYLES else "?"


def _number(value: float | None, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _notes(notes: list[str]) -> None:
    for note in notes:
        err_console.print(f"[yellow]{note}[/]", soft_wrap=True)


def render_gains(report, k: int) -> None:
    """Your runs row by row; the paper's rows as a count per technique."""
    runs = [r for r in report.rows if r.point.source == "run"]
    if runs:
        table = Table(title="Was the gain predictable? (percentage points)")
        for column in ("model", "task", "technique", "category", "score", "base acc", f"pass@{k}",
                       "predicted (interval)", "actual", "held", "measure"):
            left = column in ("model", "task", "technique", "category", "measure")
            table.add_column(column, justify="left" if left else "right")
        for r in runs:
            p, pred = r.point, r.prediction
            predicted = f"{pred.value:+.1f} [{pred.low:+.1f}, {pred.high:+.1f}]" if pred else r.note
            held = "" if r.held is None else ("[green]yes[/]" if r.held else "[red]no[/]")
            table.add_row(p.model, p.task, p.technique, _category(p.category), _number(p.score, "{:.2f}"),
                          f"{p.base:.1f}", _number(p.passk, "{:.1f}"), predicted, f"{p.gain:+.1f}", held,
                          pred.measure if pred else "")
        console.print(table)
    for title, key, counts in (("Inside the interval, per category", "category", report.coverage_by_category),
                               ("Inside the interval, per technique", "technique", report.coverage)):
        summary = Table(title=title)
        for column in (key, "held", "of", "share"):
            summary.add_column(column, justify="left" if column == key else "right")
        for name, (held, total) in sorted(counts.items()):
            summary.add_row(_category(name) if key == "category" else name, str(held), str(total),
                            f"{held / total:.0%}")
        console.print(summary)
    if report.seeds:
        seeds = Table(title="Gains over seeds: mean and 95% t interval over runs (percentage points)")
        for column in ("model", "task", "technique", "category", "runs", "before", "after", "mean gain",
                       "95% interval", "each run"):
            seeds.add_column(column, justify="left" if column in ("model", "task", "technique", "category") else "right")
        for s in report.seeds:
            interval = "" if s.low is None else f"[{s.low:+.1f}, {s.high:+.1f}]"
            seeds.add_row(s.model, s.task, s.technique, _category(s.category), str(s.runs), f"{s.before:.1f}",
                          f"{s.after:.1f}", f"{s.mean:+.1f}", interval, " ".join(f"{g:+.1f}" for g in s.gains))
        console.print(seeds)
    unpredicted = sum(r.prediction is None for r in report.rows)
    if unpredicted:
        console.print(f"{unpredicted} rows: too few to predict (no interval; see the note column)")
    _notes(report.notes)
    figure = f", {report.figure}" if report.figure else ""
    seeds_csv = f", {report.seeds_csv}" if report.seeds_csv else ""
    console.print(f"written: {report.csv}{seeds_csv}{figure}, {report.files.html}, {report.files.markdown}")


@app.command()
def gains(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="train runs and probe/align runs of their pairs")] = None,
    k: Annotated[int, typer.Option("--k", help="read pass@k at this k from the probe runs")] = 32,
    with_paper: Annotated[bool, typer.Option(help="also predict each paper result, its pair left out")] = False,
    tables: Annotated[str, typer.Option(help="paper tables the predictor is fit on: 'all' or e.g. 2,3,5,6")] = "all",
    level: Annotated[float, typer.Option(help="share of the prediction interval")] = 0.9,
    out: Annotated[Optional[Path], typer.Option(help="report folder (default $MTA_HOME/reports/gains)")] = None,
) -> None:
    """One row per (model, task, technique): alignment, predicted gain with an interval, actual gain."""
    from mta_report import PredictSettings, gains_report

    settings = run_or_exit(PredictSettings, level=level)
    chosen = run_or_exit(parse_tables, tables)
    report = run_or_exit(gains_report, runs or [], out=out, k=k, with_paper=with_paper, tables=chosen,
                                              settings=settings)
    render_gains(report, k)


@app.command()
def correlation(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="train and probe runs (none: the paper's data)")] = None,
    k: Annotated[int, typer.Option("--k", help="read pass@k at this k from the probe runs")] = 32,
    plot: Annotated[Optional[Path], typer.Option(help="figure file, .png or .svg (default: in --out)")] = None,
    tables: Annotated[str, typer.Option(help="paper tables: Figure 10's 2,3,5,6, or 'all'")] = "2,3,5,6",
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 2000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="report folder (default $MTA_HOME/reports/correlation)")] = None,
) -> None:
    """Alignment against RL gain per technique: Spearman's rho with a bootstrap interval (Figure 10)."""
    from mta_report import CorrelationSettings, correlation_report

    settings = run_or_exit(CorrelationSettings, k=k, resamples=resamples, seed=seed)
    chosen = run_or_exit(parse_tables, tables)
    report = run_or_exit(correlation_report, runs or [], out=out, plot=plot, tables=chosen, settings=settings)
    table = Table(title="Spearman's rho of gain on alignment (95% bootstrap interval)")
    for column in ("group", "measure", "n", "rho", "interval", "slope (points per %)"):
        table.add_column(column, justify="left" if column in ("group", "measure") else "right")
    for s in report.stats:
        rho = "n/a" if s.rho is None else f"{s.rho:+.2f}"
        interval = "" if s.rho is None else f"[{s.low:+.2f}, {s.high:+.2f}]"
        table.add_row(s.group, s.measure, str(s.n), rho, interval, _number(s.line.slope if s.line else None, "{:+.3f}"))
    console.print(table)
    console.print("measure: base-accuracy = the paper's Base rows (pass@k is not published); "
                  f"pass@{k} = your probe runs")
    _notes(report.notes)
    console.print(f"written: {report.figure}, {report.csv}, {report.points_csv}, {report.files.html}")


@app.command()
def curves(
    runs: Annotated[list[Path], typer.Argument(help="probe runs (pass@k), train runs (metrics.jsonl), KL runs")],
    fmt: Annotated[str, typer.Option("--format", help="png or svg")] = "png",
    out: Annotated[Optional[Path], typer.Option(help="report folder (default $MTA_HOME/reports/curves)")] = None,
) -> None:
    """pass@k curves (Figures 2, 5, 6), training curves (3, 4, 7) and KL bars (9) of several runs."""
    from mta_report import curves_report

    report = run_or_exit(curves_report, runs, out=out, fmt=fmt)
    _notes(report.notes)
    for figure in report.figures:
        console.print(f"written: {figure}")
    console.print(f"written: {report.files.html}, {report.files.markdown}")


@app.command(name="all")
def all_(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="any runs (none: the paper's data alone)")] = None,
    k: Annotated[int, typer.Option("--k", help="read pass@k at this k from the probe runs")] = 32,
    out: Annotated[Optional[Path], typer.Option(help="report folder (default $MTA_HOME/reports/all)")] = None,
) -> None:
    """Gains, correlation and curves of the runs in one self-contained HTML report (and Markdown)."""
    from mta_report import full_report

    report = run_or_exit(full_report, runs or [], out=out, k=k)
    render_gains(report.gains, k)
    console.print(f"written: {report.files.html}, {report.files.markdown}")
