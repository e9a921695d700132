"""What to distrust in a fitted pass@k curve: the goodness of fit, the warnings, and the one line
that says where the samples stop identifying pass@k.

The goodness-of-fit test compares the histogram of correct counts with the model's prediction
for a fixed number of samples per problem. After adaptive rounds n_i depends on the problem's
earlier outcomes, and the histogram has no such distribution (the test fired on every adaptive
run, in family or not); there the test is run on the opening round, which every problem got in
full before any allocation, with the chosen model refitted to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from scipy import stats

from mta_probe.estimators import successdist as sd
from mta_probe.estimators.passk_bounds import PassKBounds


class Thresholds(Protocol):
    """The warning thresholds of `passk_fit.FitSettings` (documented there)."""

    min_problems: int
    gof_alpha: float
    max_extrapolation: float
    min_weight: float


def gof_pvalue(dist: sd.SuccessDistribution, n: np.ndarray, c: np.ndarray) -> float | None:
    """Pearson chi-square of the histogram of c/n against the fitted model's prediction.

    Bins are c = 0, c = n, and quantiles of the observed c/n in between (about 20 problems
    each, at most 8); problems of the same n share one predictive distribution. None when the
    bins leave no degree of freedom. Valid for counts from a fixed design (n_i set in advance).
    """
    inner = (c > 0) & (c < n)
    num_inner = min(8, int(inner.sum()) // 20)
    edges = np.quantile(c[inner] / n[inner], np.linspace(0, 1, num_inner + 1)[1:-1]) if num_inner else np.zeros(0)

    def bin_of(cc: np.ndarray, nn: np.ndarray) -> np.ndarray:
        inside = 1 + np.searchsorted(edges, cc / nn, side="left")
        return np.where(cc == 0, 0, np.where(cc == nn, num_inner + 1, inside))

    num_bins = num_inner + 2
    observed = np.bincount(bin_of(c, n), minlength=num_bins).astype(np.float64)
    expected = np.zeros(num_bins)
    for size, count in zip(*np.unique(n, return_counts=True)):
        grid = np.arange(size + 1)
        pmf = sd.predictive_pmf(dist, int(size))
        expected += count * np.bincount(bin_of(grid, np.full_like(grid, size)), weights=pmf,
                                        minlength=num_bins)
    keep = expected > 1e-9
    dof = int(keep.sum()) - 1 - dist.spec.num_parameters
    if dof < 1:
        return None
    stat = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
    return float(stats.chi2.sf(stat, dof))


def design_gof(best: sd.SuccessDistribution, n: np.ndarray, c: np.ndarray,
               opening: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    """The goodness of fit on a fixed design: the counts themselves, or an adaptive run's opening
    round (`opening`: its per-problem n and c) with the chosen model refitted to it."""
    if opening is None:
        return gof_pvalue(best, n, c)
    n0, c0 = opening
    return gof_pvalue(sd.fit(best.spec, sd.Counts.of(n0, c0)), n0, c0)


def fit_warnings(best: sd.SuccessDistribution, weights: dict[str, float], pvalue: float | None,
                 n: np.ndarray, c: np.ndarray, ks: list[int], settings: Thresholds,
                 outside: Sequence[int], converged: bool) -> list[str]:
    """Readable reasons to distrust the fitted curve.

    Args:
        outside: the ks at which the model's own pass@k lies outside the bounds.
        converged: whether every bound's solver converged.
    """
    out = []
    if n.size < settings.min_problems:
        out.append(f"too few problems: {n.size} < {settings.min_problems}; the fitted distribution rests on few points")
    if (c == 0).all() or (c == n).all():
        out.append("every problem has the same outcome (all solved or none): "
                   "the fit cannot tell the spread of success rates")
    if pvalue is not None and pvalue < settings.gof_alpha:
        out.append(f"poor fit: chi-square p = {pvalue:.2g} on the histogram of correct counts ({best.spec.name})")
    if best.spec.name == "beta-mixture" and min(best.w) >= 0.1:
        means = best.a / (best.a + best.b)
        out.append(f"bimodal: two groups of problems (success rates near {means.min():.2g} and {means.max():.2g}); "
                   "pass@k beyond n rests on the lower group's shape below 1/n")
    if best.at_bound:
        out.append(f"degenerate fit: a parameter of {best.spec.name} reached the edge of its range")
    # Only unsolved problems depend on the fit's tail, so their samples set how far k reaches.
    reach = float(np.median(n[c == 0])) if (c == 0).any() else float(np.median(n))
    if ks[-1] > settings.max_extrapolation * reach:
        out.append(f"far extrapolation: k = {ks[-1]} is more than {settings.max_extrapolation:g} times "
                   f"the median n ({reach:g}) of the unsolved problems")
    if max(weights.values()) < 0.5:
        out.append("no model is clearly best: the interval spans " + ", ".join(
            name for name, w in weights.items() if w >= settings.min_weight))
    if outside:
        out.append(f"{best.spec.name}'s pass@k lies outside what the samples allow at k = "
                   f"{', '.join(map(str, outside))}: its shape is rejected there, and the point is moved to the "
                   "interval's nearer end")
    if not converged:
        out.append("the bounds' solver stopped before converging: the interval may be too narrow")
    return out


def identification_line(bounds: PassKBounds, wide: float, measured: int) -> str | None:
    """One line where, beyond the k every problem was measured at (`measured`, the smallest n),
    the interval is wider than `wide`: from which k the samples leave pass@k open, and how open
    at the largest k. None when no such interval is that wide. (Within n a wide interval is the
    noise of few problems, which the unbiased interval shows as well.)"""
    first = next((k for k, lo, hi in zip(bounds.ks, bounds.low, bounds.high) if k > measured and hi - lo > wide), None)
    if first is None:
        return None
    return (f"not identified from k = {first} on: the samples allow pass@{bounds.ks[-1]} anywhere in "
            f"[{bounds.low[-1]:.3f}, {bounds.high[-1]:.3f}] (any population of success rates; a fitted shape "
            "picks one of them, more samples per problem narrow it)")
