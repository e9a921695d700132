"""Was this gain predictable? Per technique, a linear model of RL gain on alignment.

The model, for each technique separately, fit by least squares:

    gain = a + b * base + c * strong + e

where `base` is the base accuracy in percent, `strong` is 1 for a strongly aligned pair (the
paper's red and green, the user's `align.json` category or the pass@k rule of `mta probe align`)
and 0 for a weakly aligned one (gray), and e is the scatter of results around the fit, modelled
per alignment class (mta_report/scatter.py): the interval is the fit plus or minus Student's t
times the class's leave-one-pair-out residual scale for that technique, clipped to the gains
possible at the result's base accuracy (-base to 100 - base).

Which points a result is predicted from (`fit_set`):
- its technique, never itself; for a paper result, none of its (model, task) pair (one-shot's
  three example variants share a pair);
- its KL regime: results trained with a KL penalty (`kl_coef > 0`, Table 13) never enter the fit
  of a KL-free result, and a KL result is predicted from KL results only;
- with a category: only points with a category (an uncategorized run never changes the model of
  the categorized rows); without one: the category-free line `gain = a + b * base` on every
  point of the technique, with the scatter of all classes, and the row says so.
Fewer than `min_points` fit points, a fit without two points of each class, or a class pool of
fewer than `min_pairs` pairs: "too few to predict", no interval.

Why this model: base accuracy alone ranks the paper's gains no better than chance (Spearman's
rho near 0, `mta report correlation`); the paper's categories were read off its pass@k curves
and contamination checks, so the category is the term that carries pass@k here. Three
coefficients suit 22-81 points per technique. Which measure: the paper prints base accuracy
(avg@k), never pass@k, so the model uses base accuracy for every point, the user's included
(their gains.json "before"). When the user has at least `min_run_points` other runs of the
technique with pass@k at the report's k, a line on pass@k fit on those runs alone is used
instead. Limits (docs/report.md): the paper's points come from 7-8B models trained for hundreds
of steps, so a small model or a short run lies outside the data the fit saw.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from mta_probe.errors import BadInputError
from mta_report.points import BASE_MEASURE, GainPoint, passk_measure
from mta_report.scatter import (
    ResidualPool,
    Scatter,
    alignment_class,
    class_scatter,
    least_squares,
    pair_of,
)


@dataclass(frozen=True)
class PredictSettings:
    """How gains are predicted.

    Attributes:
        level: the share of the prediction interval (0.9: 5% of results fall below, 5% above).
        min_points: the fewest points a technique's model is fit on (3 coefficients + 5).
        min_pairs: the fewest (model, task) pairs in a class's residual pool.
        prior_points: the weight, in points, of the class-wide scatter in a technique's own
            (mta_report/scatter.py).
        min_run_points: the fewest of the user's runs with pass@k for a line on pass@k alone.
    """

    level: float = 0.9
    min_points: int = 8
    min_pairs: int = 3
    prior_points: float = 5.0
    min_run_points: int = 8

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise BadInputError(f"the interval level must lie strictly between 0 and 1, got {self.level}")
        if self.min_points < 4 or self.min_pairs < 2 or self.prior_points < 0:
            raise BadInputError("min_points must be at least 4, min_pairs at least 2, prior_points >= 0")


@dataclass(frozen=True)
class Prediction:
    """A predicted gain (points) with its interval, and what it was fit on.

    Attributes:
        value, low, high: the fitted gain and the prediction interval, in points.
        measure: the x of the model ("base-accuracy" or "pass@K").
        model: the model's formula, e.g. "gain ~ base-accuracy + strong".
        coefficients: term -> least-squares coefficient ("1" is the intercept).
        fit_points: points the model was fit on.
        alignment_class: whose scatter the interval uses: "strong", "weak" or "all".
        scatter: the residual scale (points) and t degrees of freedom behind the interval.
    """

    value: float
    low: float
    high: float
    measure: str
    model: str
    coefficients: dict[str, float]
    fit_points: int
    alignment_class: str
    scatter: Scatter


@dataclass(frozen=True)
class GainRow:
    """One row of `mta report gains`: a result, its alignment, and whether its gain was predictable.

    Attributes:
        point: the result (model, task, technique, base accuracy, pass@k, gain, category).
        prediction: the predicted gain, None when there are too few points to predict.
        held: whether the actual gain lies inside the interval; None without a prediction.
        note: why there is no prediction, or what the fit used.
    """

    point: GainPoint
    prediction: Prediction | None
    held: bool | None
    note: str


def _row_of(with_class: bool) -> Callable[[GainPoint], list[float]]:
    if with_class:
        return lambda p: [1.0, p.base, 1.0 if alignment_class(p, True) == "strong" else 0.0]
    return lambda p: [1.0, p.base]


def _left_out(target: GainPoint) -> tuple[Hashable, Callable[[GainPoint], bool]]:
    """What a target's prediction may not see: its pair (paper rows), or itself (your runs)."""
    if target.source == "paper":
        return ("pair", pair_of(target)), lambda p: pair_of(p) == pair_of(target)
    return ("point", id(target)), lambda p: p is target


def fit_set(target: GainPoint, pool: Sequence[GainPoint]) -> list[GainPoint]:
    """The points a target is predicted from (module docstring)."""
    _, excluded = _left_out(target)
    return [p for p in pool if p.technique == target.technique and not excluded(p)
            and (p.kl_coef > 0) == (target.kl_coef > 0)
            and (target.category is None or p.category is not None)]


class Predictor:
    """Predicts targets from a pool of points, sharing the residual pools between them."""

    def __init__(self, pool: Sequence[GainPoint], settings: PredictSettings) -> None:
        self.pool, self.settings = list(pool), settings
        self._pools: dict[tuple[bool, bool], ResidualPool] = {}

    def _residual_pool(self, kl: bool, with_class: bool) -> ResidualPool:
        key = (kl, with_class)
        if key not in self._pools:
            points = [p for p in self.pool if (p.kl_coef > 0) == kl and (not with_class or p.category is not None)]
            self._pools[key] = ResidualPool(points, _row_of(with_class), self.settings.min_points)
        return self._pools[key]

    def predict(self, target: GainPoint) -> GainRow:
        """The target's row: a line on pass@k from your runs when enough have pass@k, else the
        class model (or, without a category, the category-free line) on paper and run points."""
        fit = fit_set(target, self.pool)
        on_passk = self._passk_row(target, fit)
        if on_passk is not None:
            return on_passk
        with_class = target.category is not None
        cls = alignment_class(target, with_class)
        s = self.settings
        if len(fit) < s.min_points:
            return _too_few(target, f"{len(fit)} {target.technique} points to fit on ({s.min_points} needed)")
        if with_class and min(sum(alignment_class(p, True) == c for p in fit) for c in ("strong", "weak")) < 2:
            return _too_few(target, f"fewer than 2 strong or 2 weak {target.technique} points to fit on")
        row = _row_of(with_class)
        coef = least_squares(np.array([row(p) for p in fit]), np.array([p.gain for p in fit]))
        key, excluded = _left_out(target)
        residuals = self._residual_pool(target.kl_coef > 0, with_class).residuals(key, excluded)
        scatter = class_scatter(residuals, target.technique, cls, with_class, s.prior_points)
        if coef is None or scatter is None or scatter.pairs < s.min_pairs:
            return _too_few(target, f"residuals of fewer than {s.min_pairs} {cls} pairs")
        terms = ("1", BASE_MEASURE, "strong")[:len(coef)]
        prediction = _interval(target, coef, row(target), terms, BASE_MEASURE, len(fit), cls, scatter, s.level)
        paper = sum(p.source == "paper" for p in fit)
        note = f"fit on {paper} paper + {len(fit) - paper} run points"
        note += "; its own pair left out" if target.source == "paper" else ""
        note += "" if with_class else "; category unknown: category-free line, scatter of all classes"
        return _row(target, prediction, note)

    def _passk_row(self, target: GainPoint, fit: list[GainPoint]) -> GainRow | None:
        s = self.settings
        runs = [p for p in fit if p.source == "run" and p.passk is not None and p.k == target.k]
        if target.passk is None or len(runs) < max(s.min_points, s.min_run_points):
            return None
        measure = passk_measure(target.k)
        row = lambda p: [1.0, p.passk]  # noqa: E731 - the design row of this model
        coef = least_squares(np.array([row(p) for p in runs]), np.array([p.gain for p in runs]))
        residuals = []
        for left in runs:  # leave-one-out: a run is its own pair here
            rest = [p for p in runs if p is not left]
            c = least_squares(np.array([row(p) for p in rest]), np.array([p.gain for p in rest]))
            if c is not None:
                residuals.append((left, left.gain - float(np.dot(c, row(left)))))
        scatter = class_scatter(residuals, target.technique, "all", False, 0.0)
        if coef is None or scatter is None:
            return None
        prediction = _interval(target, coef, row(target), ("1", measure), measure, len(runs), "all", scatter, s.level)
        return _row(target, prediction, f"fit on {len(runs)} of your runs")


def _interval(target: GainPoint, coef: np.ndarray, x0: list[float], terms: Sequence[str], measure: str,
              fit_points: int, cls: str, scatter: Scatter, level: float) -> Prediction:
    value, half = float(np.dot(coef, x0)), scatter.half_width(level)
    floor, ceiling = -target.base, 100.0 - target.base  # accuracy stays within 0..100%
    clip = lambda v: float(np.clip(v, floor, ceiling))  # noqa: E731
    return Prediction(value=clip(value), low=clip(value - half), high=clip(value + half), measure=measure,
                      model="gain ~ " + " + ".join(terms[1:]),
                      coefficients={t: float(c) for t, c in zip(terms, coef)}, fit_points=fit_points,
                      alignment_class=cls, scatter=scatter)


def _too_few(target: GainPoint, why: str) -> GainRow:
    return GainRow(target, None, None, f"too few to predict: {why}")


def _row(target: GainPoint, prediction: Prediction, note: str) -> GainRow:
    return GainRow(target, prediction, prediction.low <= target.gain <= prediction.high, note)


def gains_table(targets: Sequence[GainPoint], pool: Sequence[GainPoint],
                settings: PredictSettings = PredictSettings()) -> list[GainRow]:
    """Predict each target's gain from the pool of points, each leaving itself out.

    Args:
        targets: the results to report (the user's runs, and the paper's if asked).
        pool: the points the predictor may use (paper and user points, KL ones included).
        settings: the predictor's settings.

    Returns:
        One row per target, in target order.
    """
    predictor = Predictor(pool, settings)
    return [predictor.predict(t) for t in targets]


def coverage(rows: Sequence[GainRow], by: str = "technique") -> dict[str, tuple[int, int]]:
    """Per technique (or `by="category"`), (rows inside the interval, rows with a prediction)."""
    counts: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.held is None:
            continue
        key = row.point.technique if by == "technique" else (row.point.category or "unknown")
        held, total = counts.get(key, (0, 0))
        counts[key] = (held + int(row.held), total + 1)
    return counts
