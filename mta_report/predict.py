"""Was this gain predictable? Per technique, a linear model of RL gain on alignment.

The model, for each technique separately, fit by least squares:

    gain = a + b * base + c * strong + e

where `base` is the base accuracy in percent, `strong` is 1 for a strongly aligned pair (the
paper's red and green, the user's `align.json` category or the pass@k rule of `mta probe align`)
and 0 for a weakly aligned one (gray), and e is the scatter of results around the fit. Without a
known category for the result (or with fewer than two fit points of either class) the `strong`
term is dropped and the model is a line on base accuracy.

The prediction interval is a bootstrap over points (Davison & Hinkley 1997, Algorithm 6.4 in its
simplest form): resample the points with replacement, refit, and add one residual of that refit
drawn at random, scaled by sqrt(n / (n - p)) (p coefficients) because in-sample residuals
understate the scatter a new result meets. The interval is the central `level` share of those
predictions, clipped to the gains that are possible at the result's base accuracy (-base to
100 - base: accuracy stays within 0..100%).

Why this model: each technique has 6 to 81 points in the paper, over three models and 13
tasks. Base accuracy alone ranks the paper's gains no better than chance (Spearman's rho near 0,
`mta report correlation`); the paper's point is that pass@k at large k, not pass@1, measures
alignment, and the paper's categories were read off its pass@k curves and contamination checks.
The category is therefore the term that carries pass@k here. Three coefficients are few enough
for 20-40 points and read at a glance; a bootstrap interval needs no normality of the scatter,
which is wide and skewed (gains pile up near 0 for weakly aligned pairs).

Which measure: the paper prints base accuracy (avg@k, a pass@1-like number), never pass@k, so
the model fit on the paper's points uses base accuracy for every point, the user's included
(their gains.json "before"). When the user has at least `min_run_points` other runs of the
technique with pass@k at the report's k, a line on pass@k fit on those runs alone is used
instead. Each row records its measure and model. Limits (docs/report.md): the paper's points come
from 7-8B models trained for hundreds of steps, so a small model or a short run lies outside the
data the fit saw; points of one model share its quirks and are not independent, which makes
the interval optimistic; a result predicted from the paper must be one of the paper's
techniques.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mta_probe.errors import BadInputError
from mta_report.points import BASE_MEASURE, GainPoint, passk_measure

STRONG = ("red", "green")


@dataclass(frozen=True)
class PredictSettings:
    """How gains are predicted.

    Attributes:
        level: the share of the prediction interval (0.9: 5% of results fall below, 5% above).
        resamples: bootstrap resamples of the points.
        seed: of the bootstrap; one seed gives the same intervals on every run.
        min_points: the fewest points a model is fit on; fewer and no prediction is made.
        min_run_points: the fewest of the user's runs with pass@k for a line on pass@k alone; a
            bootstrap over fewer points gives intervals too narrow to trust.
    """

    level: float = 0.9
    resamples: int = 2000
    seed: int = 0
    min_points: int = 5
    min_run_points: int = 8

    def __post_init__(self) -> None:
        check_bootstrap(self.level, self.resamples)


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


@dataclass(frozen=True)
class Prediction:
    """A predicted gain (points) with its interval, and what it was fit on.

    Attributes:
        value, low, high: the fitted gain and the prediction interval, in points.
        measure: the x of the model ("base-accuracy" or "pass@K").
        model: the model's formula, e.g. "gain ~ base-accuracy + strong".
        coefficients: term -> least-squares coefficient ("1" is the intercept).
        fit_points: points the model was fit on.
    """

    value: float
    low: float
    high: float
    measure: str
    model: str
    coefficients: dict[str, float]
    fit_points: int


@dataclass(frozen=True)
class GainRow:
    """One row of `mta report gains`: a result, its alignment, and whether its gain was predictable.

    Attributes:
        point: the result (model, task, technique, base accuracy, pass@k, gain, category).
        prediction: the predicted gain, None with too few points to fit on.
        held: whether the actual gain lies inside the interval; None without a prediction.
        note: why there is no prediction, or what the fit used.
    """

    point: GainPoint
    prediction: Prediction | None
    held: bool | None
    note: str


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


def _solve(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched least squares: coefficients per resample, and which resamples had a unique fit."""
    gram = np.einsum("bni,bnj->bij", design, design)
    scale = np.prod(np.diagonal(gram, axis1=1, axis2=2), axis=1)
    # A resample with one repeated x, or one class only, has a singular normal matrix.
    ok = np.abs(np.linalg.det(gram)) > 1e-9 * np.where(scale > 0, scale, 1.0)
    coefficients = np.zeros(design.shape[::2])
    rhs = np.einsum("bni,bn->bi", design[ok], y[ok])[..., None]
    coefficients[ok] = np.linalg.solve(gram[ok], rhs)[..., 0]
    return coefficients, ok


def predict_gain(design: np.ndarray, y: Sequence[float], target: Sequence[float], *, base: float,
                 measure: str, terms: Sequence[str],
                 settings: PredictSettings = PredictSettings()) -> Prediction | None:
    """Fit gain on the design's columns and predict the target row, with a bootstrap interval.

    Args:
        design: n x p matrix of the fit points, first column all ones.
        y: their gains (points).
        target: the p values of the result to predict.
        base: its base accuracy (percent), which bounds the gain to -base .. 100 - base.
        measure: the name of the x column, recorded in the prediction.
        terms: names of the p columns ("1", "base-accuracy", "strong").
        settings: interval level, resamples, seed, fewest points.

    Returns:
        The prediction, or None with fewer than `min_points` (or p + 2) points or a singular fit.
    """
    X, ys, x0 = np.asarray(design, float), np.asarray(y, float), np.asarray(target, float)
    n, p = X.shape
    if n < max(settings.min_points, p + 2):
        return None
    full, ok = _solve(X[None], ys[None])
    if not ok[0]:
        return None
    rng = np.random.default_rng(settings.seed)
    idx = rng.integers(0, n, size=(settings.resamples, n))
    coef, ok = _solve(X[idx], ys[idx])
    coef, idx = coef[ok], idx[ok]
    residuals = (ys[idx] - np.einsum("bni,bi->bn", X[idx], coef)) * np.sqrt(n / (n - p))
    drawn = residuals[np.arange(len(coef)), rng.integers(0, n, size=len(coef))]
    tail = 100.0 * (1.0 - settings.level) / 2.0
    low, high = np.percentile(coef @ x0 + drawn, [tail, 100.0 - tail])
    floor, ceiling = -base, 100.0 - base
    model = "gain ~ " + " + ".join(terms[1:])
    return Prediction(value=float(np.clip(full[0] @ x0, floor, ceiling)), low=float(np.clip(low, floor, ceiling)),
                      high=float(np.clip(high, floor, ceiling)), measure=measure, model=model,
                      coefficients={t: float(c) for t, c in zip(terms, full[0])}, fit_points=n)


def _fit_set(target: GainPoint, pool: Sequence[GainPoint]) -> list[GainPoint]:
    """The points a target is predicted from: its technique, never its own result; for a paper
    point, none of its (model, task) pair (one-shot's variants share a pair)."""
    return [p for p in pool if p.technique == target.technique and p is not target
            and not (target.source == p.source == "paper" and (p.model, p.task) == (target.model, target.task))]


def _strong(point: GainPoint) -> float:
    return 1.0 if point.category in STRONG else 0.0


def _passk_prediction(target: GainPoint, fit: list[GainPoint], settings: PredictSettings) -> GainRow | None:
    runs = [p for p in fit if p.source == "run" and p.passk is not None and p.k == target.k]
    if target.passk is None or len(runs) < max(settings.min_points, settings.min_run_points):
        return None
    design = np.array([[1.0, p.passk] for p in runs])
    measure = passk_measure(target.k)
    prediction = predict_gain(design, [p.gain for p in runs], [1.0, target.passk], base=target.base,
                              measure=measure, terms=("1", measure), settings=settings)
    return None if prediction is None else _row(target, prediction, f"fit on {len(runs)} of your runs")


def predict_point(target: GainPoint, pool: Sequence[GainPoint], settings: PredictSettings) -> GainRow:
    """Predict one result from the others (the module docstring gives the model).

    Args:
        target: the result to predict.
        pool: every point, the target included (it is left out of its own fit).
        settings: the predictor's settings.

    Returns:
        The row: a line on pass@k from the user's runs when enough of them have pass@k, else
        the base-accuracy model (with the alignment class when known) on paper and user points.
    """
    fit = _fit_set(target, pool)
    on_passk = _passk_prediction(target, fit, settings)
    if on_passk is not None:
        return on_passk
    classes = [_strong(p) for p in fit if p.category is not None]
    use_class = (target.category is not None and sum(classes) >= 2 and len(classes) - sum(classes) >= 2
                 and all(p.category is not None for p in fit))
    if not use_class:
        fit_rows = [[1.0, p.base] for p in fit]
        terms: tuple[str, ...] = ("1", BASE_MEASURE)
        target_row = [1.0, target.base]
    else:
        fit_rows = [[1.0, p.base, _strong(p)] for p in fit]
        terms = ("1", BASE_MEASURE, "strong")
        target_row = [1.0, target.base, _strong(target)]
    prediction = predict_gain(np.array(fit_rows).reshape(len(fit), len(terms)), [p.gain for p in fit], target_row,
                              base=target.base, measure=BASE_MEASURE, terms=terms, settings=settings)
    if prediction is None:
        return GainRow(target, None, None, f"too few {target.technique} points to fit ({len(fit)}; "
                                           f"{settings.min_points} needed)")
    paper = sum(p.source == "paper" for p in fit)
    left_out = "; its own pair left out" if target.source == "paper" else ""
    return _row(target, prediction, f"fit on {paper} paper + {len(fit) - paper} run points{left_out}")


def _row(target: GainPoint, prediction: Prediction, note: str) -> GainRow:
    return GainRow(target, prediction, prediction.low <= target.gain <= prediction.high, note)


def gains_table(targets: Sequence[GainPoint], pool: Sequence[GainPoint],
                settings: PredictSettings = PredictSettings()) -> list[GainRow]:
    """Predict each target's gain from the pool of points, each leaving itself out.

    Args:
        targets: the results to report (the user's runs, and the paper's if asked).
        pool: the points the predictor may use (paper and user points).
        settings: the predictor's settings.

    Returns:
        One row per target, in target order.
    """
    return [predict_point(t, pool, settings) for t in targets]


def coverage(rows: Sequence[GainRow]) -> dict[str, tuple[int, int]]:
    """Per technique, (rows whose gain fell inside the interval, rows with a prediction)."""
    counts: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.held is None:
            continue
        held, total = counts.get(row.point.technique, (0, 0))
        counts[row.point.technique] = (held + int(row.held), total + 1)
    return counts
