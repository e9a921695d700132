"""The three reports of `mta report`: read runs, compute, write CSV, figures and the document.

Each function writes everything to disk before it returns, so the CLI prints only what is
already saved. The folder is `out`, by default `$MTA_HOME/reports/<report>/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mta_probe.errors import BadInputError
from mta_probe.runs import mta_home
from mta_report.correlation import CorrelationSettings, GroupCorrelation, PairPoint, correlate, pair_points
from mta_report.document import ReportFiles, Section, write_report
from mta_report.figures import check_format, plot_correlation, plot_gains, plot_kl, plot_passk_curves, plot_training
from mta_report.points import GainPoint, paper_points, passk_measure, run_points
from mta_report.predict import GainRow, PredictSettings, coverage, gains_table
from mta_report.runs import Runs, alignment_of, load_runs
from mta_report.seeds import SeedGain, seed_gains, seed_table
from mta_report.tables import Column, Table, write_csv

if TYPE_CHECKING:
    from mta_report.reference import PaperResult

# The tables Figure 10 is drawn from (Appendix J); Tables 11 and 12 add code and Mistral.
FIGURE10_TABLES = ("2", "3", "5", "6")
GAINS_MEASURE_NOTE = ("Measure: the paper publishes base accuracy (its tables' Base rows, avg@k), not pass@k, so the "
                      "model fit on the paper's points uses base accuracy for every point, yours included (gains.json "
                      "'before'); pass@{k} of your probe runs enters through the category (red/green/gray). A line "
                      "on pass@{k} fit on your runs alone replaces it once you have {runs} other runs of the "
                      "technique with pass@{k}. The column 'measure' says which was used.")
SEEDS_NOTE = ("Runs of the same model, task and technique (seeds) grouped: the mean gain with a 95% Student's t "
              "interval over the runs, which is the interval of a gain that the seeds allow; with one run there is "
              "none. Each run's before and after are its own evaluation samples (seeded by the run).")
MEASURE_NOTE = ("The paper publishes base accuracy (its tables' Base rows, avg@k), not pass@k: every paper "
                "point uses base accuracy. Your runs use pass@{k} from a matching probe run where one reached "
                "k={k}, else their gains.json 'before' (base accuracy). The column 'measure' says which.")


@dataclass(frozen=True)
class GainsReport:
    """What `gains_report` computed and wrote.

    Attributes:
        rows: one per result, in order: your runs, then the paper's if asked.
        coverage: technique -> (rows inside the interval, rows with a prediction).
        coverage_by_category: red / green / gray -> the same counts.
        csv: the gains table; figure: predicted against actual; files: the report.
        notes: what could not be linked or measured, one line each.
        seeds: your runs grouped by (model, task, technique, KL): the mean gain over seeds with
            its t interval (mta_report/seeds.py); seeds_csv: that table's CSV.
    """

    rows: list[GainRow]
    coverage: dict[str, tuple[int, int]]
    coverage_by_category: dict[str, tuple[int, int]]
    csv: Path
    figure: Path | None
    files: ReportFiles
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    seeds: list[SeedGain] = field(default_factory=list)
    seeds_csv: Path | None = None


@dataclass(frozen=True)
class CorrelationReport:
    """What `correlation_report` computed and wrote: rho per (group, measure), the points, files."""

    stats: list[GroupCorrelation]
    pairs: list[PairPoint]
    csv: Path
    points_csv: Path
    figure: Path
    files: ReportFiles
    sections: list[Section]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CurvesReport:
    """The figures `curves_report` drew (only those the runs had data for) and the report."""

    figures: list[Path]
    files: ReportFiles
    sections: list[Section]
    notes: list[str] = field(default_factory=list)


def _out(out: Path | None, name: str) -> Path:
    folder = out if out is not None else mta_home() / "reports" / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def _reference(reference: Sequence[PaperResult] | None) -> Sequence[PaperResult]:
    if reference is not None:
        return reference
    from mta_report.reference import reference_gains

    return reference_gains()


def _run_notes(runs: Runs, points: list[GainPoint], k: int) -> list[str]:
    notes = [f"{t.path}: no gains.json yet, so no gain to report (training curves only)"
             for t in runs.trains if not t.gains]
    notes += [f"{t.path}: gains measured with the {t.protocol} evaluation protocol, not the paper's "
              "(training prompt, first <answer>, top_p 0.7): its gain is not on the paper's scale"
              for t in runs.trains if t.gains and t.protocol != "paper"]
    for p in points:
        if "no probe run" in p.category_source:
            notes.append(f"{p.model} on {p.task}: no probe run with this model and task among the runs; "
                         "its alignment is unknown and its point uses base accuracy")
        elif p.passk is None:
            notes.append(f"{p.model} on {p.task}: no probe run of the pair reached k={k}; its point uses base "
                         f"accuracy (a probe run with -n {k} or more places it on pass@{k})")
    return list(dict.fromkeys(notes))


def gains_rows_table(rows: Sequence[GainRow], k: int) -> Table:
    """The gains table: alignment, prediction and actual gain per result."""
    columns = (Column("source"), Column("model"), Column("task"), Column("technique"), Column("variant"),
               Column("kl_coef", "{:g}"), Column("category"), Column("category_source"),
               Column("alignment_score", "{:.3f}"), Column("base_accuracy", "{:.1f}"),
               Column(passk_measure(k), "{:.1f}"), Column("measure"), Column("predictor"),
               Column("predicted_gain", "{:+.1f}"), Column("interval_low", "{:+.1f}"),
               Column("interval_high", "{:+.1f}"), Column("actual_gain", "{:+.1f}"), Column("held"),
               Column("fit_points", "{:d}"), Column("scatter_class"), Column("scatter", "{:.1f}"),
               Column("scatter_dof", "{:d}"), Column("note"), Column("origin"))
    body = []
    for r in rows:
        p, pred = r.point, r.prediction
        body.append((p.source, p.model, p.task, p.technique, p.variant, p.kl_coef, p.category, p.category_source,
                     p.score, p.base, p.passk, pred.measure if pred else None, pred.model if pred else None,
                     pred.value if pred else None, pred.low if pred else None, pred.high if pred else None,
                     p.gain, r.held, pred.fit_points if pred else None,
                     pred.alignment_class if pred else None, pred.scatter.scale if pred else None,
                     pred.scatter.dof if pred else None, r.note, p.origin))
    return Table("Gains: predicted from alignment, and actual (percentage points)", columns, tuple(body))


def gains_report(runs: Sequence[Path], *, out: Path | None = None, k: int = 32, with_paper: bool = False,
                 tables: Sequence[str] | None = None, settings: PredictSettings = PredictSettings(),
                 reference: Sequence[PaperResult] | None = None) -> GainsReport:
    """`mta report gains`: one row per (model, task, technique) with its predicted and actual gain.

    Args:
        runs: train run directories, with the probe (and align) runs of their pairs.
        out: the report folder; None: `$MTA_HOME/reports/gains`.
        k: pass@k is read at this k from the probe runs.
        with_paper: add a row per paper result, each predicted with its own pair left out.
        tables: the paper tables the predictor is fit on; None: all. Table 13's KL rows only
            ever enter the fits of KL runs, and are never rows themselves.
        settings: the predictor's interval level, scatter pooling and fewest points.
        reference: the paper's results; None loads `mta_report.reference.reference_gains()`.

    Returns:
        The rows, the coverage per technique, and where the files are.
    """
    if not runs and not with_paper:
        raise BadInputError("give train run directories (with their probe runs), or --with-paper for the paper's own")
    loaded = load_runs(list(runs))
    user = run_points(loaded, k=k)
    if runs and not user:
        raise BadInputError("no train run with a gains.json among the runs given; nothing to predict")
    paper = paper_points(_reference(reference), k=k, tables=tables)
    paper_kl = [p for p in paper_points(_reference(reference), k=k, tables=tables, kl_free=False) if p.kl_coef > 0]
    rows = gains_table(user + (paper if with_paper else []), paper + paper_kl + user, settings)
    folder = _out(out, "gains")
    table = gains_rows_table(rows, k)
    csv_path = write_csv(folder / "gains.csv", table)
    figure = plot_gains(folder / "gains.png", rows) if any(r.prediction for r in rows) else None
    counts, by_category = coverage(rows), coverage(rows, by="category")
    notes = _run_notes(loaded, user, k)
    text = (f"Predictor: per technique, least squares of gain on base accuracy plus a strong-alignment term "
            f"(red/green); {settings.level:.0%} prediction interval: fit +/- Student's t times the technique's "
            "leave-one-pair-out residual scale in the result's alignment class (strong or weak), shrunk toward "
            f"the class's scale over all techniques with the weight of {settings.prior_points:g} points. Paper "
            "rows are predicted with their own (model, task) pair left out, your rows with themselves left out; "
            "KL runs only from KL runs, uncategorized runs enter no class model. docs/report.md gives its limits.",
            GAINS_MEASURE_NOTE.format(k=k, runs=settings.min_run_points),
            "Held, per category: " + _held(by_category) + ". Per technique: " + _held(counts) + ".", *notes)
    sections = [Section("Was the gain predictable?", text, (table,), (figure,) if figure else ())]
    seeds = seed_gains(user)
    seeds_csv = None
    if seeds:
        summary = seed_table(seeds)
        seeds_csv = write_csv(folder / "gains_over_seeds.csv", summary)
        sections.append(Section("Gains over seeds", (SEEDS_NOTE,), (summary,), ()))
    files = write_report(folder, "mta report gains", sections)
    return GainsReport(rows, counts, by_category, csv_path, figure, files, sections, notes, seeds, seeds_csv)


def _held(counts: dict[str, tuple[int, int]]) -> str:
    return ", ".join(f"{key} {held}/{total} ({held / total:.0%})" for key, (held, total) in sorted(counts.items()))


def correlation_tables(stats: Sequence[GroupCorrelation], pairs: Sequence[PairPoint]) -> tuple[Table, Table, Table]:
    """(rho per group and measure, gain by category per group, the points)."""
    stat_rows = tuple((s.group, s.measure, s.n, s.rho, s.low, s.high, s.kept_resamples,
                       s.line.slope if s.line else None, s.line.intercept if s.line else None) for s in stats)
    stat_table = Table("Spearman's rho of gain on the alignment measure, 95% bootstrap interval",
                       (Column("group"), Column("measure"), Column("n", "{:d}"), Column("rho", "{:+.3f}"),
                        Column("rho_low", "{:+.3f}"), Column("rho_high", "{:+.3f}"),
                        Column("kept_resamples", "{:d}"), Column("slope", "{:+.3f}"), Column("intercept", "{:+.2f}")),
                       stat_rows)
    by_category = []
    for group in dict.fromkeys(p.group for p in pairs):
        strong = [p.gain for p in pairs if p.group == group and p.category in ("red", "green")]
        weak = [p.gain for p in pairs if p.group == group and p.category == "gray"]
        by_category.append((group, len(strong), sum(strong) / len(strong) if strong else None,
                            len(weak), sum(weak) / len(weak) if weak else None))
    category_table = Table("Mean gain of strongly (red, green) and weakly (gray) aligned pairs (points)",
                           (Column("group"), Column("strong_n", "{:d}"), Column("strong_mean_gain", "{:+.1f}"),
                            Column("weak_n", "{:d}"), Column("weak_mean_gain", "{:+.1f}")), tuple(by_category))
    point_table = Table("Points (one per model-task pair and group)",
                        (Column("group"), Column("source"), Column("model"), Column("task"), Column("measure"),
                         Column("x", "{:.1f}"), Column("gain", "{:+.1f}"), Column("category"),
                         Column("averaged", "{:d}")),
                        tuple((p.group, p.source, p.model, p.task, p.measure, p.x, p.gain, p.category, p.averaged)
                              for p in pairs))
    return stat_table, category_table, point_table


def correlation_report(runs: Sequence[Path] = (), *, out: Path | None = None, plot: Path | None = None,
                       tables: Sequence[str] | None = FIGURE10_TABLES,
                       settings: CorrelationSettings = CorrelationSettings(),
                       reference: Sequence[PaperResult] | None = None) -> CorrelationReport:
    """`mta report correlation`: gain against alignment per technique, rho with its interval.

    Args:
        runs: train runs with their probe runs; none gives the paper's data alone.
        out: the report folder; None: `$MTA_HOME/reports/correlation`.
        plot: the figure file (.png or .svg); None: `correlation.png` in the folder.
        tables: the paper tables used; default Figure 10's (2, 3, 5, 6); None: all.
        settings: k, bootstrap resamples, level, seed, fewest points.
        reference: the paper's results; None loads `reference_gains()`.

    Returns:
        Rho per (group, measure), the points, and where the files are.
    """
    if plot is not None:
        check_format(plot)
    loaded = load_runs(list(runs))
    user = run_points(loaded, k=settings.k)
    pairs = pair_points(paper_points(_reference(reference), k=settings.k, tables=tables) + user)
    stats = correlate(pairs, settings)
    folder = _out(out, "correlation")
    stat_table, category_table, point_table = correlation_tables(stats, pairs)
    csv_path = write_csv(folder / "correlation.csv", stat_table)
    points_csv = write_csv(folder / "correlation_points.csv", point_table)
    write_csv(folder / "correlation_by_category.csv", category_table)
    figure = plot_correlation(plot or folder / "correlation.png", pairs, stats, k=settings.k)
    notes = _run_notes(loaded, user, settings.k)
    used = "all tables" if tables is None else "Tables " + ", ".join(tables)
    text = (f"Paper data: {used}, without KL penalty; a point is a (model, task) pair, results within a group "
            "averaged (one-shot's example variants; the six reward signals of Table 2 in 'reward signals (mean)').",
            MEASURE_NOTE.format(k=settings.k),
            f"rho: Spearman's rank correlation; interval: {settings.level:.0%} percentile bootstrap over points, "
            f"{settings.resamples} resamples, seed {settings.seed}.", *notes)
    sections = [Section("Alignment against RL gain (Figure 10)", text, (stat_table, category_table, point_table),
                        (figure,))]
    files = write_report(folder, "mta report correlation", sections)
    return CorrelationReport(stats, pairs, csv_path, points_csv, figure, files, sections, notes)


def curves_report(runs: Sequence[Path], *, out: Path | None = None, fmt: str = "png") -> CurvesReport:
    """`mta report curves`: pass@k curves, training curves and KL bars of the runs, where present.

    Args:
        runs: probe, train, KL and align runs (any mix).
        out: the report folder; None: `$MTA_HOME/reports/curves`.
        fmt: "png" or "svg".

    Returns:
        The figures written and the report.
    """
    if fmt not in ("png", "svg"):
        raise BadInputError(f"--format takes png or svg, not {fmt!r}")
    if not runs:
        raise BadInputError("give run directories: probe runs (pass@k), train runs (metrics.jsonl), KL runs")
    loaded = load_runs(list(runs))
    folder = _out(out, "curves")
    sections, figures = [], []
    if loaded.probes:
        categories = [alignment_of(loaded, p.model, p.model_path, p.task, 1).category for p in loaded.probes]
        figures.append(plot_passk_curves(folder / f"passk_curves.{fmt}", loaded.probes, categories))
        sections.append(Section("pass@k curves", ("Figures 2, 5 and 6 of the paper.",), (), (figures[-1],)))
    trains = [t for t in loaded.trains if t.metrics]
    if trains:
        figures.append(plot_training(folder / f"training_curves.{fmt}", trains))
        sections.append(Section("Training curves", ("Accuracy, entropy and response length per step "
                                                    "(Figures 3, 4 and 7 of the paper).",), (), (figures[-1],)))
    if loaded.kls:
        categories = [alignment_of(loaded, r.reference, "", r.task, 1).category for r in loaded.kls]
        figures.append(plot_kl(folder / f"kl.{fmt}", loaded.kls, categories))
        sections.append(Section("KL from the initial policy", ("Figure 9 of the paper; the colour is the "
                                                               "category of the base model on the task.",),
                                (), (figures[-1],)))
    notes = [f"{t.path}: no metrics.jsonl, so no training curve" for t in loaded.trains if not t.metrics]
    if not figures:
        raise BadInputError("the runs hold nothing to draw: no passk.json, metrics.jsonl or kl.json")
    if notes:
        sections.append(Section("Notes", tuple(notes)))
    return CurvesReport(figures, write_report(folder, "mta report curves", sections), sections, notes)


@dataclass(frozen=True)
class FullReport:
    """The three reports in subfolders, and the one document that puts them together."""

    gains: GainsReport
    correlation: CorrelationReport
    curves: CurvesReport | None
    files: ReportFiles


def full_report(runs: Sequence[Path] = (), *, out: Path | None = None, k: int = 32,
                reference: Sequence[PaperResult] | None = None,
                settings: PredictSettings = PredictSettings()) -> FullReport:
    """`mta report all`: gains, correlation and curves of the runs in one report.

    Args:
        runs: any mix of runs; none gives the paper's data alone (gains with the paper's rows).
        out: the report folder; None: `$MTA_HOME/reports/all`. Each part has a subfolder.
        k: pass@k is read at this k.
        reference: the paper's results; None loads `reference_gains()`.
        settings: the gain predictor's settings.

    Returns:
        The three parts (curves None when the runs hold nothing to draw) and the combined report.
    """
    loaded = load_runs(list(runs))
    folder = _out(out, "all")
    has_gains = any(t.gains for t in loaded.trains)
    gains = gains_report(runs if has_gains else [], out=folder / "gains", k=k, with_paper=not has_gains,
                         reference=reference, settings=settings)
    correlation = correlation_report(runs, out=folder / "correlation", settings=CorrelationSettings(k=k),
                                     reference=reference)
    drawable = loaded.probes or loaded.kls or any(t.metrics for t in loaded.trains)
    curves = curves_report(runs, out=folder / "curves") if drawable else None
    sections = gains.sections + correlation.sections + (curves.sections if curves else [])
    return FullReport(gains, correlation, curves, write_report(folder, "mta report", sections))
