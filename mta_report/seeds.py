"""Gains over seeds: the same (model, task, technique) trained several times, summarised.

A train run's gain is one draw: its seed fixes the prompt order, the rollouts, the random coins
and the evaluation samples. Repeating a run with other seeds and reading the spread of the gains
is the only honest interval for the gain of one small run (the paper reports single runs of
300 steps; docs/reproduction.md runs three seeds of a few steps each). The interval is Student's
t over the runs' gains (the runs are independent draws; with 3 runs, t has 2 degrees of freedom
and the interval is wide, as it should be).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from mta_report.points import GainPoint
from mta_report.tables import Column, Table


@dataclass(frozen=True)
class SeedGain:
    """The gains of one (model, task, technique, KL) over its runs, in percentage points.

    Attributes:
        model, task, technique, kl_coef: what was trained and evaluated.
        category: the pair's red / green / gray (None when unknown).
        runs: how many runs (seeds) it has.
        before, after: mean accuracy before and after, percent.
        mean: mean gain; sd: its sample standard deviation (None with one run).
        low, high: the `level` t interval of the mean gain (None with one run).
        gains: each run's gain, in run order.
    """

    model: str
    task: str
    technique: str
    kl_coef: float
    category: str | None
    runs: int
    before: float
    after: float
    mean: float
    sd: float | None
    low: float | None
    high: float | None
    gains: tuple[float, ...]


def seed_gains(points: Sequence[GainPoint], level: float = 0.95) -> list[SeedGain]:
    """Group the user's run points by (model, task, technique, KL, recipe) and summarise each group.

    Args:
        points: gain points of train runs (paper points are ignored).
        level: the confidence level of the t interval.

    Returns:
        One SeedGain per group, in order of first appearance.
    """
    # Runs trained with other settings (steps, lr, prompts, ...) are another experiment, not
    # another seed: the recipe is part of the key.
    groups: dict[tuple[str, str, str, float, str], list[GainPoint]] = {}
    for p in points:
        if p.source == "run":
            groups.setdefault((p.model, p.task, p.technique, p.kl_coef, p.recipe), []).append(p)
    return [_summary(key[:4], members, level) for key, members in groups.items()]


def _summary(key: tuple[str, str, str, float], members: list[GainPoint], level: float) -> SeedGain:
    gains = tuple(p.gain for p in members)
    runs, mean = len(gains), sum(gains) / len(gains)
    sd = low = high = None
    if runs > 1:
        sd = math.sqrt(sum((g - mean) ** 2 for g in gains) / (runs - 1))
        half = stats.t.ppf(0.5 + level / 2, runs - 1) * sd / math.sqrt(runs)
        low, high = mean - half, mean + half
    categories = {p.category for p in members}
    return SeedGain(*key, category=categories.pop() if len(categories) == 1 else None, runs=runs,
                    before=sum(p.base for p in members) / runs,
                    after=sum(p.base + p.gain for p in members) / runs,
                    mean=mean, sd=sd, low=low, high=high, gains=gains)


def seed_table(rows: Sequence[SeedGain], level: float = 0.95) -> Table:
    """The summary as a report table (percentage points)."""
    columns = (Column("model"), Column("task"), Column("technique"), Column("kl_coef", "{:g}"),
               Column("category"), Column("runs", "{:d}"), Column("before", "{:.1f}"),
               Column("after", "{:.1f}"), Column("mean_gain", "{:+.1f}"), Column("sd", "{:.1f}"),
               Column("interval_low", "{:+.1f}"), Column("interval_high", "{:+.1f}"),
               Column("gains"))
    body = tuple((r.model, r.task, r.technique, r.kl_coef, r.category, r.runs, r.before, r.after,
                  r.mean, r.sd, r.low, r.high, " ".join(f"{g:+.1f}" for g in r.gains)) for r in rows)
    return Table(f"Gains over seeds: mean and {level:.0%} t interval over runs (percentage points)",
                 columns, body)
