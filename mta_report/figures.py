"""The report's figures (matplotlib, imported here only, Agg backend), PNG or SVG by suffix.

- `plot_correlation`: gain against the alignment measure, one panel per technique group, like
  the paper's Figure 10; points coloured by category, marker by measure, a fitted line and rho
  per measure.
- `plot_gains`: predicted against actual gain, one point per row, interval as an error bar.
- `plot_passk_curves`: pass@k of several probe runs on one log2 axis (Figures 2, 5, 6).
- `plot_training`: accuracy, entropy and response length against step (Figures 3, 4, 7).
- `plot_kl`: KL of trained policies from their base, one bar each (Figure 9).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import write_bytes_atomic
from mta_report.correlation import GroupCorrelation, PairPoint
from mta_report.points import BASE_MEASURE
from mta_report.predict import GainRow
from mta_report.runs import KLRun, ProbeRun, TrainRun

# Clear, colour-blind-tolerable versions of the paper's three colours; unknown category in blue.
CATEGORY_COLOURS = {"red": "#d62728", "green": "#2ca02c", "gray": "#7f7f7f"}
UNKNOWN_COLOUR = "#1f77b4"
FORMATS = {".png": "png", ".svg": "svg"}
# Markers tell the measures apart: the paper's base accuracy and the user's pass@k.
BASE_MARKER, PASSK_MARKER = "o", "^"


def colour_of(category: str | None) -> str:
    """The plot colour of a category (blue when unknown)."""
    return CATEGORY_COLOURS.get(category or "", UNKNOWN_COLOUR)


def check_format(path: Path) -> str:
    """'png' or 'svg' from the file's suffix; anything else is refused before any work."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(f"plot file {path} must end in .png or .svg")
    return fmt


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on the machines this runs on
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=check_format(path), dpi=130, bbox_inches="tight")
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def _category_legend(ax: Any, extra: Sequence[tuple[str, str, str]] = ()) -> None:
    """A legend of the three colours, plus (marker, colour, label) entries."""
    from matplotlib.lines import Line2D

    names = {"red": "red: contaminated, strongly aligned", "green": "green: clean, strongly aligned",
             "gray": "gray: weakly aligned"}
    handles = [Line2D([], [], marker="o", linestyle="", color=CATEGORY_COLOURS[c], label=label)
               for c, label in names.items()]
    handles += [Line2D([], [], marker=m, linestyle="", color=colour, label=label) for m, colour, label in extra]
    ax.legend(handles=handles, loc="center", fontsize=8, frameon=False)


def _panel(ax: Any, group: str, pairs: Sequence[PairPoint], stats: Sequence[GroupCorrelation]) -> None:
    import numpy as np

    for p in pairs:
        passk = p.measure != BASE_MEASURE
        ax.scatter(p.x, p.gain, s=46 if p.source == "run" else 22, color=colour_of(p.category),
                   marker=PASSK_MARKER if passk else BASE_MARKER, alpha=0.9 if p.source == "run" else 0.7,
                   edgecolors="black" if p.source == "run" else "none", linewidths=0.6, zorder=3)
    titles = []
    for s in stats:
        if s.line is not None:
            measured = [p.x for p in pairs if p.measure == s.measure]
            xs = np.linspace(min(measured), max(measured), 50)  # the fit says nothing beyond its data
            ax.plot(xs, s.line.intercept + s.line.slope * xs, color="black", linewidth=1.0,
                    linestyle="--" if s.measure != BASE_MEASURE else "-", zorder=2)
        rho = "n/a" if s.rho is None else f"{s.rho:+.2f} [{s.low:+.2f}, {s.high:+.2f}]"
        titles.append(f"{s.measure}: ρ={rho}, n={s.n}")
    ax.axhline(0.0, color="#bbbbbb", linewidth=0.8, zorder=1)
    ax.set_xlim(-3, 103)
    ax.set_title(group + "\n" + "\n".join(titles), fontsize=8.5)
    ax.grid(alpha=0.25)
    ax.tick_params(labelsize=8)


def plot_correlation(path: Path, pairs: Sequence[PairPoint], stats: Sequence[GroupCorrelation], *,
                     k: int) -> Path:
    """Gain against the alignment measure per technique group (the paper's Figure 10).

    Args:
        path: a .png or .svg file.
        pairs: the pair points (from `correlation.pair_points`).
        stats: rho, interval and line per (group, measure).
        k: the k of the user's pass@k points, for the axis label.

    Returns:
        The path written.
    """
    plt = _pyplot()
    groups = list(dict.fromkeys(p.group for p in pairs))
    if not groups:
        raise BadInputError("no points to plot: no paper rows and no train runs with gains.json")
    columns = min(4, len(groups) + 1)
    rows = -(-(len(groups) + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.1 * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax, group in zip(flat, groups):
        _panel(ax, group, [p for p in pairs if p.group == group], [s for s in stats if s.group == group])
    for ax, group in zip(flat, groups):
        measures = {p.measure for p in pairs if p.group == group}
        ax.set_ylabel("gain (points)", fontsize=8)
        ax.set_xlabel(f"base accuracy (%), pass@{k} not published" if measures == {BASE_MEASURE} else
                      f"pass@{k} (%)" if BASE_MEASURE not in measures else f"base accuracy (o) / pass@{k} (▲), %",
                      fontsize=8)
    legend_ax = flat[len(groups)]
    legend_ax.axis("off")
    markers = [(BASE_MARKER, "black", "x = base accuracy (paper tables;\n"
                                      f"pass@{k} not published)")]
    if any(p.measure != BASE_MEASURE for p in pairs):
        markers.append((PASSK_MARKER, "black", f"x = pass@{k} (your probe runs)"))
    _category_legend(legend_ax, markers)
    for ax in flat[len(groups) + 1:]:
        ax.axis("off")
    runs = any(p.source == "run" for p in pairs)
    fig.suptitle("RL gain against alignment per technique; line: least-squares fit"
                 + (f" (solid on base accuracy, dashed on pass@{k}); large outlined points: your runs" if runs
                    else "; the paper's data alone"), fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_gains(path: Path, rows: Sequence[GainRow]) -> Path:
    """Predicted gain (with its interval) against the actual gain, one point per row.

    Args:
        path: a .png or .svg file.
        rows: rows of `predict.gains_table`; rows without a prediction are left out.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    shown = [r for r in rows if r.prediction is not None]
    if not shown:
        raise BadInputError("no row has a prediction to plot")
    for r in shown:
        pred, run = r.prediction, r.point.source == "run"
        ax.errorbar(r.point.gain, pred.value, yerr=[[pred.value - pred.low], [pred.high - pred.value]],
                    fmt="none", ecolor=colour_of(r.point.category), alpha=0.8 if run else 0.25,
                    elinewidth=1.2 if run else 0.7, zorder=2)
        ax.scatter(r.point.gain, pred.value, s=60 if run else 16, color=colour_of(r.point.category),
                   marker="o" if r.held else "X", edgecolors="black" if run else "none", linewidths=0.7,
                   zorder=3)
    low = min(min(r.point.gain, r.prediction.low) for r in shown) - 3
    high = max(max(r.point.gain, r.prediction.high) for r in shown) + 3
    ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle=":", label="predicted = actual")
    ax.set_xlim(low, high)
    ax.set_xlabel("actual gain (points)")
    ax.set_ylabel("predicted gain (points), with interval")
    held = sum(bool(r.held) for r in shown)
    from_runs = sum(r.point.source == "run" for r in shown)
    legend = ["o inside, X outside"]
    if from_runs:
        legend.append("large outlined: your runs")
    if from_runs < len(shown):
        legend.append("paper rows: own pair left out of the fit")
    ax.set_title(f"Was the gain predictable? {held} of {len(shown)} inside the interval\n"
                 f"({'; '.join(legend)})", fontsize=10)
    ax.grid(alpha=0.25)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=name) for name, c in CATEGORY_COLOURS.items()]
    handles.append(Line2D([], [], color="black", linestyle=":", label="predicted = actual"))
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def plot_passk_curves(path: Path, probes: Sequence[ProbeRun], categories: Sequence[str | None]) -> Path:
    """pass@k of several probe runs on one log2 axis, with their 95% intervals.

    Args:
        path: a .png or .svg file.
        probes: the probe runs.
        categories: each run's category (or None), shown in its legend entry.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    palette = _palette(len(probes))
    all_ks: set[int] = set()
    for i, (probe, category) in enumerate(zip(probes, categories)):
        ks = sorted(probe.pass_at_k)
        all_ks.update(ks)
        colour = palette(i % palette.N)
        if all(k in probe.interval for k in ks):
            ax.fill_between(ks, [probe.interval[k][0] for k in ks], [probe.interval[k][1] for k in ks],
                            color=colour, alpha=0.15)
        tag = f" [{category}]" if category else ""
        ax.plot(ks, [probe.pass_at_k[k] for k in ks], marker="o", markersize=3.5, color=colour,
                label=f"{probe.model} on {probe.task}{tag} ({probe.num_problems} problems, n={probe.n})")
    ax.set_xscale("log", base=2)
    ticks = sorted(all_ks)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(k) for k in ticks], fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("k (log scale)")
    ax.set_ylabel("pass@k")
    ax.set_title("pass@k curves (bands: 95% bootstrap intervals)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=1, frameon=False)
    fig.tight_layout()
    return _save(fig, path)


TRAINING_PANELS = (("accuracy", "rollout accuracy"), ("entropy", "entropy (nats/token)"),
                   ("response_length", "response length (tokens)"))


def _palette(count: int) -> Any:
    """Distinct colours for `count` lines: tab10, or tab20 past ten."""
    return _pyplot().get_cmap("tab10" if count <= 10 else "tab20")


def plot_training(path: Path, trains: Sequence[TrainRun]) -> Path:
    """Accuracy, entropy and response length against step, one line per train run.

    Validation accuracy (`val/<task>` in metrics.jsonl) is drawn dashed, in the run's colour, in
    the accuracy panel.

    Args:
        path: a .png or .svg file.
        trains: train runs with metrics.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 4.0 + 0.16 * len(trains)), layout="constrained")
    palette = _palette(len(trains))
    for i, train in enumerate(trains):
        colour = palette(i % palette.N)
        for ax, (key, _) in zip(axes, TRAINING_PANELS):
            steps = [r["step"] for r in train.metrics if r.get(key) is not None]
            ax.plot(steps, [r[key] for r in train.metrics if r.get(key) is not None], color=colour,
                    linewidth=1.3, label=train.name if key == "accuracy" else None)
        for key in sorted({k for r in train.metrics for k in r if k.startswith("val/")}):
            points = [(r["step"], r[key]) for r in train.metrics if r.get(key) is not None]
            axes[0].plot([s for s, _ in points], [v for _, v in points], color=colour, linestyle="--",
                         marker="o", markersize=3, linewidth=1.0)
    from matplotlib.ticker import MaxNLocator

    for ax, (_, label) in zip(axes, TRAINING_PANELS):
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)  # a run stuck at 0 or 1 stays visible off the frame
    fig.legend(loc="outside lower center", ncol=min(3, len(trains)), fontsize=8, frameon=False)
    fig.suptitle("Training curves, one colour per run (accuracy panel: solid = rollouts of each step, "
                 "dashed with dots = validation)", fontsize=10)
    return _save(fig, path)


def plot_kl(path: Path, kls: Sequence[KLRun], categories: Sequence[str | None]) -> Path:
    """KL of each trained policy from its reference on a task: one bar each, 95% interval.

    Args:
        path: a .png or .svg file.
        kls: the KL runs.
        categories: each run's category (of the reference model on the task), or None.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(kls) + 2.0), 4.4))
    positions = list(range(len(kls)))
    errors = [[max(0.0, r.kl - r.interval[0]) for r in kls], [max(0.0, r.interval[1] - r.kl) for r in kls]]
    ax.bar(positions, [r.kl for r in kls], color=[colour_of(c) for c in categories], edgecolor="black",
           linewidth=0.6, yerr=errors, capsize=4)
    ax.set_xticks(positions)
    ax.set_xticklabels([f"{r.policy}\non {r.task}" for r in kls], fontsize=8, rotation=20, ha="right")
    ax.set_ylabel("mean per-token KL (k3) from the base model")
    unknown = "; blue: category unknown" if any(c not in CATEGORY_COLOURS for c in categories) else ""
    ax.set_title("KL between trained and initial policy (Appendix I)\n"
                 f"bars coloured by the base model's category on the task{unknown}; "
                 "error bars: 95% bootstrap interval", fontsize=9.5)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)
