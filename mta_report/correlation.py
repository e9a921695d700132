"""How well does alignment rank RL gains? Spearman's rho per technique, as in Figure 10.

Appendix J of the paper plots pass@K (K = 32, 128, 512) against the gain of RL per task, one
panel per RL phenomenon, "points in the first column averaged over different reward signals". The
paper publishes no pass@k numbers, so on the paper's data alone the x axis is the base accuracy
of its tables; the user's points use pass@k at the report's k from their probe runs. Rho, its
interval and the fitted line are computed per (group, measure): the two measures are never
pooled.

A point is a (model, task) pair: results of one pair within a group (one-shot's three example
variants, the reward signals of the "reward signals (mean)" group, repeated runs) are averaged
first, as the paper averages its first column.

Rho is the Pearson correlation of average ranks (ties share their mean rank), the same number
as `scipy.stats.spearmanr`. Its interval is a percentile bootstrap over points; a resample in
which every x or every gain is equal has no rho and is dropped (the count kept is reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mta_probe.errors import BadInputError
from mta_report.points import GainPoint, measure_of

# Table 2's reward signals, averaged as Figure 10's first column; the rest one technique each.
REWARD_SIGNALS = ("ground-truth", "random", "incorrect", "format", "vote", "em")
GROUPS: dict[str, tuple[str, ...]] = {
    "reward signals (mean)": REWARD_SIGNALS,
    "ground-truth": ("ground-truth",),
    "random": ("random",),
    "incorrect": ("incorrect",),
    "format": ("format",),
    "vote": ("vote",),
    "em": ("em",),
    "ttrl": ("ttrl",),
    "one-shot": ("one-shot",),
    "nsr": ("nsr",),
    "psr": ("psr",),
}


def check_bootstrap(level: float, resamples: int) -> None:
    """Refuse an interval level outside (0, 1) and bootstraps of fewer than 100 resamples."""
    if not 0 < level < 1:
        raise BadInputError(f"the interval level must lie strictly between 0 and 1, got {level}")
    if resamples < 100:
        raise BadInputError(f"the bootstrap needs at least 100 resamples, got {resamples}")


@dataclass(frozen=True)
class LineFit:
    """A least-squares line gain = intercept + slope * x over n points."""

    slope: float
    intercept: float
    n: int


def fit_line(x: Sequence[float], y: Sequence[float]) -> LineFit:
    """Least squares y = intercept + slope * x.

    Args:
        x, y: at least two points, x not all equal.

    Returns:
        The line (the same as `numpy.polyfit(x, y, 1)`).

    Examples:
        >>> fit_line([0, 1, 2], [1, 3, 5])
        LineFit(slope=2.0, intercept=1.0, n=3)
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = xs - xs.mean()
    slope = float((dx * (ys - ys.mean())).sum() / (dx * dx).sum())
    return LineFit(slope=slope, intercept=float(ys.mean() - slope * xs.mean()), n=len(xs))


@dataclass(frozen=True)
class CorrelationSettings:
    """How rho and its interval are computed.

    Attributes:
        k: pass@k of the user's probe runs is read at this k.
        resamples: bootstrap resamples of the points.
        level: share of the interval (0.95).
        seed: of the bootstrap.
        min_points: the fewest points rho is computed on.
    """

    k: int = 32
    resamples: int = 2000
    level: float = 0.95
    seed: int = 0
    min_points: int = 4

    def __post_init__(self) -> None:
        if self.k < 1:
            raise BadInputError(f"k must be at least 1, got {self.k}")
        check_bootstrap(self.level, self.resamples)


@dataclass(frozen=True)
class PairPoint:
    """One (model, task) pair of a group: its measure, mean gain, and what was averaged."""

    group: str
    source: str
    model: str
    task: str
    measure: str
    x: float
    gain: float
    category: str | None
    averaged: int


@dataclass(frozen=True)
class GroupCorrelation:
    """Spearman's rho of gain on one measure within one group, its interval, and the fitted line.

    Attributes:
        rho, low, high: None with fewer than `min_points` points or constant x or gain.
        kept_resamples: bootstrap resamples that had a rho (the rest had a constant column).
        line: the least-squares line of gain on the measure, None under 2 distinct x.
    """

    group: str
    measure: str
    n: int
    rho: float | None
    low: float | None
    high: float | None
    kept_resamples: int
    line: LineFit | None


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis, ties sharing their mean rank.

    Examples:
        >>> average_ranks(np.array([10.0, 30.0, 10.0, 20.0])).tolist()
        [1.5, 4.0, 1.5, 3.0]
    """
    a = np.asarray(values, dtype=float)
    less = (a[..., None, :] < a[..., :, None]).sum(axis=-1)
    equal = (a[..., None, :] == a[..., :, None]).sum(axis=-1)
    return less + (equal + 1) / 2.0


def _row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    norm = np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (da * db).sum(axis=-1) / np.where(norm > 0, norm, 1.0), np.nan)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation; nan when x or y is constant.

    Examples:
        >>> spearman([1, 2, 3, 4], [10, 20, 15, 40])
        0.8
    """
    return float(_row_pearson(average_ranks(np.asarray(x, float)), average_ranks(np.asarray(y, float))))


def spearman_interval(x: Sequence[float], y: Sequence[float], *, resamples: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, int]:
    """Percentile bootstrap interval of Spearman's rho over points.

    Args:
        x, y: the paired values.
        resamples: bootstrap resamples.
        level: the interval's share.
        seed: of the resampling.

    Returns:
        (low, high, resamples kept); nan bounds when no resample had a rho.
    """
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    idx = np.random.default_rng(seed).integers(0, len(xs), size=(resamples, len(xs)))
    rhos = _row_pearson(average_ranks(xs[idx]), average_ranks(ys[idx]))
    rhos = rhos[~np.isnan(rhos)]
    if len(rhos) == 0:
        return float("nan"), float("nan"), 0
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(rhos, [tail, 100.0 - tail])
    return float(low), float(high), len(rhos)


def pair_points(points: Sequence[GainPoint], groups: dict[str, tuple[str, ...]] = GROUPS) -> list[PairPoint]:
    """Average each group's results per (source, model, task, measure) into one point.

    Args:
        points: paper and user results; user points with pass@k use it, others base accuracy.
        groups: group name -> techniques averaged in it.

    Returns:
        Pair points in group order, then first appearance.
    """
    out = []
    for group, techniques in groups.items():
        cells: dict[tuple[str, str, str, str], list[tuple[float, float, str | None]]] = {}
        for p in points:
            if p.technique in techniques:
                measure, x = measure_of(p, prefer_passk=True)
                cells.setdefault((p.source, p.model, p.task, measure), []).append((x, p.gain, p.category))
        for (source, model, task, measure), members in cells.items():
            out.append(PairPoint(group=group, source=source, model=model, task=task, measure=measure,
                                 x=float(np.mean([m[0] for m in members])),
                                 gain=float(np.mean([m[1] for m in members])),
                                 category=members[0][2], averaged=len(members)))
    return out


def correlate(pairs: Sequence[PairPoint],
              settings: CorrelationSettings = CorrelationSettings()) -> list[GroupCorrelation]:
    """Rho, bootstrap interval and fitted line per (group, measure).

    Args:
        pairs: from `pair_points`.
        settings: bootstrap and the fewest points.

    Returns:
        One result per (group, measure) present, in the order they first appear.
    """
    keys = list(dict.fromkeys((p.group, p.measure) for p in pairs))
    results = []
    for group, measure in keys:
        chosen = [p for p in pairs if p.group == group and p.measure == measure]
        x, y = [p.x for p in chosen], [p.gain for p in chosen]
        line = fit_line(x, y) if len(set(x)) >= 2 else None
        rho = spearman(x, y) if len(chosen) >= settings.min_points else float("nan")
        if np.isnan(rho):
            results.append(GroupCorrelation(group, measure, len(chosen), None, None, None, 0, line))
            continue
        low, high, kept = spearman_interval(x, y, resamples=settings.resamples, level=settings.level,
                                            seed=settings.seed)
        results.append(GroupCorrelation(group, measure, len(chosen), rho, low, high, kept, line))
    return results
