"""pass@k for any k: a fitted model of the per-problem success rates, and bounds that need none.

The unbiased estimator needs n >= k samples of every problem. Beyond that, pass@k follows from
the distribution of success rates p over problems (Schaeffer et al. 2025): fit it to the
per-problem (n_i, c_i) of a run (`successdist`), then

    pass@k = mean over problems of E[1 - (1 - p_i)^k | n_i, c_i]

where each problem's expectation is under its posterior given its own samples and the fitted
distribution (empirical Bayes, as in Verine et al. 2026). This estimates pass@k of *these*
problems: a problem with a correct sample already has pass@1024 close to 1 whatever the model,
so only the unsolved and rarely solved problems depend on the fit. With `target="population"`
it is instead pass@k of the distribution the problems were drawn from, 1 - E[(1 - p)^k]
(for one Beta(a, b), exactly 1 - B(a, b + k) / B(a, b)).

n samples identify the distribution only through its first n moments, so beyond n every model
is an assumption about rates below 1/n. The reported interval is therefore not the model's: it
is the range of pass@k over every distribution of rates the samples allow (`passk_bounds`),
valid whatever the population, and the point is the model's value moved into it where the
samples reject it. The model's own interval (`model_low`, `model_high`) says how precise the
curve is *if* the model's shape holds (bench/passk_fit.py measures both, in and out of family).

The candidate models are fitted by maximum likelihood and ranked by BIC (the zero atom, a
parameter on its boundary, is charged the boundary likelihood-ratio test's 2.71 instead of
ln N); the point estimate is the best model's. The model interval carries the fit's
uncertainty, the problems' own uncertainty and the choice of model, and stays valid for
adaptive runs (where which problem got more samples depended on its earlier ones, so a
bootstrap that redraws c_i at the final n_i is wrong):

1. per candidate, parameters are drawn from their posterior given the run (importance sampling
   around the maximum-likelihood fit; a likelihood-based draw, so the adaptive design drops out);
2. given the parameters, the target is a sum of independent problems, whose mean and variance
   follow exactly from the posterior moments E[(1-p)^k] and E[(1-p)^2k];
3. the candidates are mixed by their criterion weights exp(-delta/2), and the interval is the
   quantiles of that mixture of normals (Laird and Louis 1987 in spirit: an empirical-Bayes
   interval that does not pretend the fitted distribution is known).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from mta_probe.errors import BadInputError
from mta_probe.estimators import successdist as sd
from mta_probe.estimators.passk_bounds import pass_at_k_bounds
from mta_probe.estimators.passk_checks import design_gof, fit_warnings, identification_line


@dataclass(frozen=True)
class FitSettings:
    """How a pass@k curve is fitted.

    Attributes:
        fit_to: the largest k reported; the default ks are powers of two up to it, and it.
        level: coverage of the interval (0.95 for a 95% interval).
        target: "problems" (pass@k of the run's problems, the default) or "population" (of the
            distribution they were drawn from).
        candidates: the models fitted and compared (names in `successdist.SPECS`).
        criterion: "bic" or "aic", to rank the candidates and weight them in the interval.
        zero_penalty: what the zero atom's weight costs in the criterion instead of ln(N) or 2:
            2.71, the 5% critical value of the likelihood-ratio test of a parameter on its
            boundary (chi-bar-square, Self and Liang 1987); None charges it like any parameter.
        draws: parameter draws per candidate that enters the interval.
        min_weight: a candidate whose criterion weight is below this is left out of the interval.
        seed: seed of the parameter draws.
        min_problems: fewer problems than this is warned about.
        gof_alpha: a goodness-of-fit p-value below this is warned about.
        max_extrapolation: a k more than this many times the median n of the unsolved problems
            is warned about.
        wide: an interval beyond the smallest n wider than this is called not identified (one
            line says from which k).
    """

    fit_to: int = 1024
    level: float = 0.95
    target: str = "problems"
    candidates: tuple[str, ...] = tuple(sd.SPECS)
    criterion: str = "bic"
    zero_penalty: float | None = 2.71
    draws: int = 400
    min_weight: float = 0.01
    seed: int = 0
    min_problems: int = 50
    gof_alpha: float = 0.01
    max_extrapolation: float = 32.0
    wide: float = 0.10


@dataclass(frozen=True)
class PassKFit:
    """A fitted pass@k curve and the bounds that hold whatever the population.

    Attributes:
        method: the chosen model (a name in `successdist.SPECS`).
        criterion: what chose it ("bic" or "aic").
        target: "problems" or "population" (see `FitSettings`).
        parameters: the chosen model's parameters by name.
        scores: the criterion's value for every candidate (lower is better).
        weights: every candidate's criterion weight, exp(-delta/2) normalised.
        ks: the k values, ascending.
        values: the point, one per k: the model's pass@k, moved to the nearer end of the
            interval where it lies outside (the samples reject the model's shape there).
        low, high: the interval, one per k: the range of pass@k over every distribution of
            success rates the samples allow at the given level (`passk_bounds`).
        level: the interval's coverage.
        num_problems: how many problems were fitted.
        gof_pvalue: chi-square goodness of fit of the chosen model to the histogram of c, on a
            fixed design (an adaptive run's opening round); None when there are too few bins.
        model_values, model_low, model_high: the model's own pass@k and interval, one per k
            (what the curve would be if the model's shape held below 1/n).
        identification: one line saying from which k beyond the smallest n the interval is wider
            than `FitSettings.wide` (the samples do not identify pass@k there), or None.
        warnings: readable reasons to distrust the curve (too few problems, a poor fit, a
            bimodal population, a degenerate fit, far extrapolation, a rejected model).
    """

    method: str
    criterion: str
    target: str
    parameters: dict[str, float]
    scores: dict[str, float]
    weights: dict[str, float]
    ks: list[int]
    values: list[float]
    low: list[float]
    high: list[float]
    level: float
    num_problems: int
    gof_pvalue: float | None
    model_values: list[float] = field(default_factory=list)
    model_low: list[float] = field(default_factory=list)
    model_high: list[float] = field(default_factory=list)
    identification: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The `fit` block of passk.json: {method, pass_at_k: {k: v}, interval: {k: [lo, hi]}, ...}."""
        def by_k(values: list) -> dict[str, Any]:
            return {str(k): v for k, v in zip(self.ks, values)}

        return {"method": self.method, "criterion": self.criterion, "target": self.target,
                "parameters": self.parameters, "scores": self.scores, "weights": self.weights,
                "pass_at_k": by_k(self.values), "interval": by_k([list(b) for b in zip(self.low, self.high)]),
                "interval_method": INTERVAL_METHOD, "level": self.level,
                "model_pass_at_k": by_k(self.model_values),
                "model_interval": by_k([list(b) for b in zip(self.model_low, self.model_high)]),
                "identification": self.identification, "num_problems": self.num_problems,
                "gof_pvalue": self.gof_pvalue, "warnings": self.warnings}


# What `interval` is, for a reader of passk.json.
INTERVAL_METHOD = ("range of pass@k over every distribution of per-problem success rates whose likelihood is "
                   "at least (1 - level) times the largest (nonparametric, valid whatever the population; "
                   "docs/passk.md)")


def _check(num_samples: Sequence[int] | np.ndarray, num_correct: Sequence[int] | np.ndarray,
           ks: Sequence[int] | None, settings: FitSettings) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Validated per-problem arrays and sorted ks; every complaint is one BadInputError."""
    n = np.asarray(num_samples)
    c = np.asarray(num_correct)
    if n.ndim != 1 or n.shape != c.shape:
        raise BadInputError("num_samples and num_correct must be 1-D and of the same length")
    if n.size < 2:
        raise BadInputError(f"fitting pass@k needs at least 2 problems, got {n.size}")
    if not (np.issubdtype(n.dtype, np.integer) and np.issubdtype(c.dtype, np.integer)):
        raise BadInputError("num_samples and num_correct must be integers")
    if (n < 1).any() or (c < 0).any() or (c > n).any():
        raise BadInputError("every problem needs n >= 1 and 0 <= c <= n")
    if n.max() < 2:
        raise BadInputError("n = 1: one sample a problem tells the mean success rate, not how it spreads over "
                            "problems, so pass@k beyond k = 1 is not estimated (sample n >= 2)")
    unknown = [name for name in settings.candidates if name not in sd.SPECS]
    if unknown or not settings.candidates:
        raise BadInputError(f"unknown fit models {unknown}; choose from {sorted(sd.SPECS)}")
    if settings.target not in ("problems", "population") or settings.criterion not in ("bic", "aic"):
        raise BadInputError("target must be 'problems' or 'population', criterion 'bic' or 'aic'")
    if not 0.5 <= settings.level < 1.0 or settings.draws < 20 or settings.fit_to < 1:
        raise BadInputError("level must lie in [0.5, 1), draws be at least 20, fit_to at least 1")
    ks = sorted({int(k) for k in ks}) if ks is not None else _default_ks(settings.fit_to)
    if not ks or ks[0] < 1 or ks[-1] > settings.fit_to:
        raise BadInputError(f"every k must lie between 1 and fit_to={settings.fit_to}")
    return n.astype(np.int64), c.astype(np.int64), ks


def _default_ks(fit_to: int) -> list[int]:
    """Powers of two up to fit_to, and fit_to itself."""
    ks = [1 << i for i in range(fit_to.bit_length()) if (1 << i) <= fit_to]
    return ks if ks[-1] == fit_to else ks + [fit_to]


def estimate(dist: sd.SuccessDistribution, counts: sd.Counts, ks: np.ndarray, target: str) -> np.ndarray:
    """Fitted pass@k for every k: of the counted problems (empirical Bayes) or of the population."""
    if target == "population":
        return 1.0 - sd.failure_moments(dist, np.zeros(1), np.zeros(1), ks)[0]
    return 1.0 - counts.m @ sd.failure_moments(dist, counts.n, counts.c, ks) / counts.m.sum()


def exact_pass_at_k(rates: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Mean of 1 - (1 - p)^k over the last axis of `rates`, for every k (last axis of the result)."""
    with np.errstate(divide="ignore"):
        log_fail = np.log1p(-np.asarray(rates, np.float64))
    return -np.expm1(log_fail[..., None] * np.asarray(ks, np.float64)).mean(axis=-2)


def _hessian(nll: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Observed information over the free parameters: finite differences of the analytic gradient."""

    def grad(sub: np.ndarray) -> np.ndarray:
        full = theta.copy()
        full[free] = sub
        return nll(full)[1][free]

    jac = np.atleast_2d(optimize.approx_fprime(theta[free], grad, 1e-5))
    return (jac + jac.T) / 2.0


def parameter_draws(dist: sd.SuccessDistribution, counts: sd.Counts, draws: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Draws of a model's parameters from their posterior given the run, and their weights.

    The proposal is a multivariate t (4 degrees of freedom) around the maximum-likelihood fit,
    scaled by the inverse observed information over the parameters not at a bound; each draw is
    then weighted by its exact likelihood over the proposal density (importance sampling with a
    flat prior on the unconstrained parameters), which corrects the proposal where the
    likelihood is far from normal (a zero-inflation weight near 0, a shape near its bound).

    Returns:
        (draws, parameters) unconstrained parameters and (draws,) weights summing to 1.
    """
    nll, box = sd.objective(dist.spec, counts)
    lo, hi = np.array(box).T
    free = np.flatnonzero((dist.theta - lo > 1e-3) & (hi - dist.theta > 1e-3))
    if free.size == 0:
        return dist.theta[None, :], np.ones(1)
    vals, vecs = np.linalg.eigh(_hessian(nll, dist.theta, free))
    vals = np.maximum(vals, 1e-6 * max(float(vals.max()), 1e-6))  # a flat direction gets a wide, finite spread
    dof = 4.0
    z = rng.standard_normal((draws, free.size)) / np.sqrt(rng.chisquare(dof, draws) / dof)[:, None]
    thetas = np.repeat(dist.theta[None, :], draws, axis=0)
    thetas[:, free] = np.clip(dist.theta[free] + (z / np.sqrt(vals)) @ vecs.T, lo[free], hi[free])
    log_like = -np.array([nll(theta)[0] for theta in thetas]) - dist.loglik
    log_w = log_like + 0.5 * (dof + free.size) * np.log1p((z ** 2).sum(axis=1) / dof)
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    weights = np.exp(log_w - log_w.max())
    keep = weights > 1e-6  # draws that cannot move a quantile are not worth their moments
    return thetas[keep], weights[keep] / weights[keep].sum()


def _target_draws(dist: sd.SuccessDistribution, counts: sd.Counts, ks: np.ndarray, settings: FitSettings,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each parameter draw, the mean and standard deviation of the target pass@k given it.

    Given the parameters, the problems' success rates are independent draws from their
    posteriors, so the mean over problems of 1 - (1 - p_i)^k has mean 1 - mean(M1) and variance
    sum(M2 - M1^2) / N^2, with M1, M2 the posterior moments E[(1-p)^k], E[(1-p)^2k]: exact, no
    sampling of the problems. For the population target the standard deviation is 0.
    """
    thetas, weights = parameter_draws(dist, counts, settings.draws, rng)
    mean = np.empty((weights.size, ks.size))
    spread = np.zeros_like(mean)
    total = counts.m.sum()
    for row, theta in enumerate(thetas):
        drawn = sd.from_theta(dist.spec, theta)
        if settings.target == "population":
            mean[row] = estimate(drawn, counts, ks, "population")
            continue
        moments = sd.failure_moments(drawn, counts.n, counts.c, np.concatenate([ks, 2.0 * ks]))
        m1, m2 = moments[:, :ks.size], moments[:, ks.size:]
        mean[row] = 1.0 - counts.m @ m1 / total
        spread[row] = np.sqrt(np.maximum(counts.m @ (m2 - m1 ** 2), 0.0)) / total
    return mean, spread, weights


def _mixture_quantiles(mean: np.ndarray, spread: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of the weighted mixture of normals N(mean, spread^2), per column; (len(qs), columns)."""
    out = np.empty((len(qs), mean.shape[1]))
    for col in range(mean.shape[1]):
        mu, sigma = mean[:, col], spread[:, col]
        if not (sigma > 0).any():  # point masses: weighted quantiles
            order = np.argsort(mu)
            cum = np.cumsum(weights[order])
            out[:, col] = mu[order][np.minimum(np.searchsorted(cum, np.asarray(qs) * cum[-1]), mu.size - 1)]
            continue
        sigma = np.maximum(sigma, 1e-12)
        lo, hi = float((mu - 12 * sigma).min()), float((mu + 12 * sigma).max())
        for i, q in enumerate(qs):
            out[i, col] = optimize.brentq(
                lambda x, mu=mu, sigma=sigma, q=q: float(weights @ stats.norm.cdf((x - mu) / sigma)) - q, lo, hi)
    return out


def _scores(fits: dict[str, sd.SuccessDistribution], settings: FitSettings, num_problems: int
            ) -> tuple[dict[str, float], dict[str, float]]:
    """Each candidate's criterion value and its weight exp(-delta/2), normalised.

    The zero atom's weight is a parameter on the edge of its range (0 means no atom); it is
    charged `zero_penalty` instead of the criterion's per-parameter cost.
    """
    penalty = np.log(num_problems) if settings.criterion == "bic" else 2.0
    scores = {}
    for name, dist in fits.items():
        cost = penalty * dist.spec.num_parameters
        if dist.spec.zero and settings.zero_penalty is not None:
            cost += settings.zero_penalty - penalty
        scores[name] = -2.0 * dist.loglik + cost
    best = min(scores.values())
    raw = {name: float(np.exp(-(s - best) / 2.0)) for name, s in scores.items()}
    total = sum(raw.values())
    return scores, {name: r / total for name, r in raw.items()}


def fit_pass_at_k(num_samples: Sequence[int] | np.ndarray, num_correct: Sequence[int] | np.ndarray,
                  ks: Sequence[int] | None = None, settings: FitSettings = FitSettings(), *,
                  opening: tuple[Sequence[int], Sequence[int]] | None = None) -> PassKFit:
    """Fit the distribution of success rates to a run, read pass@k off it for any k, and bound it.

    Args:
        num_samples: n_i of each problem; may differ between problems (an adaptive run).
        num_correct: c_i of each problem, 0 <= c_i <= n_i.
        ks: the k values (each at most settings.fit_to); None for powers of two up to fit_to.
        settings: models, criterion, interval and warning thresholds.
        opening: for an adaptive run, each problem's (n_i, c_i) in the opening round (a fixed
            design), on which the goodness of fit is tested; None: the counts are a fixed design.

    Returns:
        The fitted curve with its interval, the chosen model and its diagnostics.

    Raises:
        BadInputError: malformed counts, n = 1 for every problem, an unknown model, or k outside
            1..fit_to.
    """
    n, c, ks = _check(num_samples, num_correct, ks, settings)
    k_arr = np.asarray(ks, np.float64)
    counts = sd.Counts.of(n, c)
    fits = {name: sd.fit(sd.SPECS[name], counts) for name in settings.candidates}
    scores, weights = _scores(fits, settings, n.size)
    best = fits[min(scores, key=scores.get)]
    rng = np.random.default_rng(settings.seed)
    parts = [(_target_draws(fits[name], counts, k_arr, settings, rng), weight)
             for name, weight in weights.items() if weight >= settings.min_weight]
    mean = np.vstack([draws[0] for draws, _ in parts])
    spread = np.vstack([draws[1] for draws, _ in parts])
    pooled = np.concatenate([draws[2] * weight for draws, weight in parts])
    tail = (1.0 - settings.level) / 2.0
    model_low, model_high = np.clip(_mixture_quantiles(mean, spread, pooled / pooled.sum(), [tail, 1.0 - tail]),
                                    0.0, 1.0)
    model = estimate(best, counts, k_arr, settings.target)
    bounds = pass_at_k_bounds(n, c, ks, settings.level)
    point = np.clip(model, bounds.low, bounds.high)
    outside = [k for k, v, p in zip(ks, model, point) if abs(v - p) > 1e-9]
    if opening is not None:
        opening = (np.asarray(opening[0], np.int64), np.asarray(opening[1], np.int64))
    pvalue = design_gof(best, n, c, opening)
    return PassKFit(method=best.spec.name, criterion=settings.criterion, target=settings.target,
                    parameters=best.parameters, scores=scores, weights=weights, ks=ks, values=point.tolist(),
                    low=bounds.low, high=bounds.high, level=settings.level, num_problems=int(n.size),
                    gof_pvalue=pvalue, model_values=model.tolist(), model_low=model_low.tolist(),
                    model_high=model_high.tolist(),
                    identification=identification_line(bounds, settings.wide, int(n.min())),
                    warnings=fit_warnings(best, weights, pvalue, n, c, ks, settings, outside, bounds.converged))


def problem_pass_at_k(num_samples: Sequence[int] | np.ndarray, num_correct: Sequence[int] | np.ndarray,
                      ks: Sequence[int], method: str) -> np.ndarray:
    """Each problem's fitted pass@k, E[1 - (1 - p_i)^k | n_i, c_i] under `method` fitted to these
    problems by maximum likelihood: the terms whose mean is `fit_pass_at_k`'s value (target
    "problems") when `method` is the one it chose; shape (problems, len(ks)).

    Raises:
        BadInputError: malformed counts, an unknown model, or k < 1.
    """
    n, c, ks = _check(num_samples, num_correct, ks, FitSettings(fit_to=max(max(ks, default=1), 1), candidates=(method,)))
    dist = sd.fit(sd.SPECS[method], sd.Counts.of(n, c))
    return 1.0 - sd.failure_moments(dist, n, c, np.asarray(ks, np.float64))
