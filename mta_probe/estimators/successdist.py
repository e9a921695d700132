"""The distribution of per-problem success rates, and its fit to a run's (n_i, c_i).

Each problem i has a success probability p_i drawn from a distribution, and c_i of its n_i
samples are correct: c_i ~ Binomial(n_i, p_i). Every candidate distribution is written as one
shape, a mixture of point masses and beta components,

    p ~ sum_g v_g * delta_{x_g} + sum_j w_j * Beta(a_j, b_j),

so that the posterior of a problem given (n, c), pass@k, sampling and the predictive
distribution of c are computed once for all of them:

- beta-binomial: one beta component (Kazdan et al. 2025).
- zero-inflated: a point mass at p = 0 (problems the model never solves) and one beta
  (Verine et al. 2026).
- beta-mixture: two beta components, for a bimodal population.
- logit-normal: logit(p) ~ Normal(mu, sigma), the item-response view (success = ability minus a
  normally distributed difficulty), held as point masses on a fixed grid of normal quantiles.

The candidates differ in what they assume below 1/n, where no sample can tell problems apart:
a beta's density falls like p^(a - 1), a logit-normal's like a Gaussian in log p, and an atom
puts a share at exactly zero.

pass@k needs only the moments E[(1 - p)^t]: for a Beta(a, b) it is B(a, b + t) / B(a, b),
computed with betaln, so pass@k is exact for any k. The likelihood is evaluated on the distinct
(n, c) pairs with their multiplicities (a run at one n has at most n + 1 of them), which makes a
warm-started refit cost about a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

# Beta shapes live in [1e-3, 1e4]: below, Beta(a, b) is numerically an atom at 0 (which the
# zero-inflated model states explicitly); above, an atom at a/(a+b).
_LOG_SHAPE = (float(np.log(1e-3)), float(np.log(1e4)))
_LOGIT = (-12.0, 12.0)
_MU, _LOG_SIGMA = (-25.0, 25.0), (float(np.log(0.05)), float(np.log(10.0)))
# The logit-normal's grid: 301 normal quantiles 0.05 sd apart out to 7.5 sd (trapezoid weights
# on a smooth integrand; a likelihood from n = 1,000 samples still spans several nodes).
_Z = np.linspace(-7.5, 7.5, 301)
_LOG_V = -0.5 * _Z ** 2 - np.log(np.exp(-0.5 * _Z ** 2).sum())


@dataclass(frozen=True)
class ModelSpec:
    """One candidate model of the success rates.

    Attributes:
        name: how results and settings call it.
        family: "beta" (beta components, optionally an atom at zero) or "logit-normal".
        components: the number of beta components (0 for the logit-normal).
        zero: whether an atom at p = 0 (problems never solved) is part of the model.
    """

    name: str
    family: str
    components: int
    zero: bool

    @property
    def num_parameters(self) -> int:
        """Free parameters: two shapes per component and a weight per component or atom beyond the first."""
        if self.family == "logit-normal":
            return 2
        return 3 * self.components + int(self.zero) - 1


SPECS = {spec.name: spec for spec in (ModelSpec("beta-binomial", "beta", 1, False),
                                      ModelSpec("zero-inflated", "beta", 1, True),
                                      ModelSpec("beta-mixture", "beta", 2, False),
                                      ModelSpec("logit-normal", "logit-normal", 0, False))}


@dataclass(frozen=True)
class Counts:
    """Distinct (n, c) pairs of a run and how many problems have each (m)."""

    n: np.ndarray
    c: np.ndarray
    m: np.ndarray

    @classmethod
    def of(cls, num_samples: np.ndarray, num_correct: np.ndarray) -> Counts:
        """Collapse per-problem (n_i, c_i) into distinct pairs."""
        pairs, m = np.unique(np.stack([num_samples, num_correct], axis=1), axis=0, return_counts=True)
        return cls(n=pairs[:, 0].astype(np.float64), c=pairs[:, 1].astype(np.float64), m=m.astype(np.float64))


@dataclass(frozen=True)
class SuccessDistribution:
    """A fitted model: point masses (x, v) and beta components (w, a, b).

    Attributes:
        spec: the model this is a fit of.
        x, v: success rates and weights of the point masses.
        w, a, b: weights and shapes of the beta components.
        loglik: log-likelihood of the data it was fitted to, without the binomial coefficients
            (the same for every model, so comparisons between models are unaffected).
        theta: the unconstrained parameters, to warm-start refits.
        at_bound: a parameter ended at the edge of its range (a degenerate fit).
        parameters: the parameters by name, for reports.
    """

    spec: ModelSpec
    x: np.ndarray
    v: np.ndarray
    w: np.ndarray
    a: np.ndarray
    b: np.ndarray
    loglik: float
    theta: np.ndarray
    at_bound: bool
    parameters: dict[str, float]


def _logsumexp(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """log(sum(exp(x))) along an axis; scipy's costs 130 us a call in a 1 ms refit."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axis) + np.log(np.exp(x - top).sum(axis=axis))


def _log_terms(log_v: np.ndarray, x: np.ndarray, log_w: np.ndarray, a: np.ndarray, b: np.ndarray,
               n: np.ndarray, c: np.ndarray) -> np.ndarray:
    """log(weight * P(c | n, p)) of every point mass, then every component, without the binomial
    coefficient: shape (masses + components, rows)."""
    masses = log_v[:, None] + special.xlogy(c, x[:, None]) + special.xlog1py(n - c, -x[:, None])
    comps = (log_w[:, None] + special.betaln(a[:, None] + c, b[:, None] + n - c)
             - special.betaln(a, b)[:, None])
    return np.vstack([masses, comps])


def _beta_unpack(theta: np.ndarray, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-weights of (atom, components...) and the shapes; the first logit is fixed at 0."""
    free = spec.components + int(spec.zero) - 1
    logits = np.concatenate([[0.0], theta[:free]])
    return (logits - _logsumexp(logits), np.exp(theta[free:free + spec.components]),
            np.exp(theta[free + spec.components:]))


def _beta_nll(theta: np.ndarray, spec: ModelSpec, counts: Counts) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of a beta-family model and its gradient."""
    log_w, a, b = _beta_unpack(theta, spec)
    n, c, m = counts.n, counts.c, counts.m
    zero = int(spec.zero)
    terms = _log_terms(log_w[:zero], np.zeros(zero), log_w[zero:], a, b, n, c)
    log_s = _logsumexp(terms, axis=0)
    resp = np.exp(terms - log_s) * m  # problems each atom or component accounts for, per row
    # Softmax with the first logit fixed: d/d logit_j = sum_r m_r (resp_jr - w_j).
    grad_w = resp.sum(axis=1)[1:] - m.sum() * np.exp(log_w[1:])
    comp = resp[zero:]
    dig_ab = special.digamma(a[:, None] + b[:, None]) - special.digamma(a[:, None] + b[:, None] + n)
    grad_a = a * (comp * (special.digamma(a[:, None] + c) - special.digamma(a)[:, None] + dig_ab)).sum(axis=1)
    grad_b = b * (comp * (special.digamma(b[:, None] + n - c) - special.digamma(b)[:, None] + dig_ab)).sum(axis=1)
    return -float(m @ log_s), -np.concatenate([grad_w, grad_a, grad_b])


def _ln_nll(theta: np.ndarray, counts: Counts) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the logit-normal (mu, log sigma) and its gradient."""
    sigma = np.exp(theta[1])
    logit = theta[0] + sigma * _Z
    p = special.expit(logit)
    n, c, m = counts.n, counts.c, counts.m
    terms = (_LOG_V[:, None] - c * np.logaddexp(0.0, -logit)[:, None]
             - (n - c) * np.logaddexp(0.0, logit)[:, None])
    log_s = _logsumexp(terms, axis=0)
    score = np.exp(terms - log_s) * (c - n * p[:, None])  # d log-lik / d logit at each node
    d_mu = score.sum(axis=0)
    d_sigma = (score * (sigma * _Z)[:, None]).sum(axis=0)
    return -float(m @ log_s), -np.array([m @ d_mu, m @ d_sigma])


def _moment_start(counts: Counts) -> tuple[float, float]:
    """Beta shapes by the method of moments, corrected for binomial noise; a starting point only."""
    x, m = counts.c / counts.n, counts.m
    mean = float(np.clip((m * x).sum() / m.sum(), 0.02, 0.98))
    var = float((m * (x - mean) ** 2).sum() / m.sum())
    inv_n = float((m / counts.n).sum() / m.sum())
    rho = float(np.clip((var / (mean * (1 - mean)) - inv_n) / (1 - inv_n + 1e-12), 0.05, 0.95))
    return mean * (1.0 / rho - 1.0), (1 - mean) * (1.0 / rho - 1.0)


def _starts(spec: ModelSpec, counts: Counts) -> list[np.ndarray]:
    """A few deterministic starting points; mixtures have several local optima."""
    a0, b0 = _moment_start(counts)
    if spec.family == "logit-normal":
        mean = np.log(a0 / b0)
        return [np.array([mean, 0.5]), np.array([mean - 2.0, 1.0]), np.array([mean + 1.0, 0.0])]
    if spec.components == 1:
        one = np.log([a0, b0])
        return [one] if not spec.zero else [np.concatenate([[np.log(9.0)], one]),
                                            np.concatenate([[np.log(2.0)], one + [0.5, 0.0]])]
    # (odds of the second component, (a1, b1), (a2, b2)): a hard mode and an easy one.
    shapes = [(1.0, (0.2, 5.0), (a0, b0)), (1.0, (a0 / np.e, b0), (a0 * np.e, b0)),
              (1.0, (0.5, 20.0), (2.0, 2.0))]
    starts = [np.log([odds, s1[0], s2[0], s1[1], s2[1]]) for odds, s1, s2 in shapes]
    if spec.zero:
        starts = [np.concatenate([[np.log(9.0)], s[:1] + np.log(9.0), s[1:]]) for s in starts]
    return starts


def _build(spec: ModelSpec, theta: np.ndarray, loglik: float, box: list[tuple[float, float]]
           ) -> SuccessDistribution:
    """The fitted distribution from its unconstrained parameters."""
    lo, hi = np.array(box).T
    edge = (theta - lo < 1e-4) | (hi - theta < 1e-4)
    if spec.family == "logit-normal":
        mu, sigma = float(theta[0]), float(np.exp(theta[1]))
        return SuccessDistribution(spec, special.expit(mu + sigma * _Z), np.exp(_LOG_V), np.zeros(0),
                                   np.zeros(0), np.zeros(0), loglik, theta, bool(edge.any()),
                                   {"mu": mu, "sigma": sigma})
    log_w, a, b = _beta_unpack(theta, spec)
    zero = int(spec.zero)
    weights = np.exp(log_w)
    names = {"zero": float(weights[0])} if zero else {}
    for j in range(spec.components):
        if spec.components > 1 or zero:
            names[f"w{j + 1}"] = float(weights[zero + j])
        names[f"a{j + 1}"], names[f"b{j + 1}"] = float(a[j]), float(b[j])
    free = spec.components + zero - 1
    return SuccessDistribution(spec, np.zeros(zero), weights[:zero], weights[zero:], a, b, loglik, theta,
                               bool(edge[free:].any()), names)


Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def objective(spec: ModelSpec, counts: Counts) -> tuple[Objective, list[tuple[float, float]]]:
    """The negative log-likelihood theta -> (value, gradient) of a model on a run, and its bounds."""
    if spec.family == "logit-normal":
        return (lambda theta: _ln_nll(theta, counts)), bounds(spec)
    return (lambda theta: _beta_nll(theta, spec, counts)), bounds(spec)


def bounds(spec: ModelSpec) -> list[tuple[float, float]]:
    """The range of each unconstrained parameter."""
    if spec.family == "logit-normal":
        return [_MU, _LOG_SIGMA]
    return [_LOGIT] * (spec.components + int(spec.zero) - 1) + [_LOG_SHAPE] * (2 * spec.components)


def fit(spec: ModelSpec, counts: Counts, start: np.ndarray | None = None) -> SuccessDistribution:
    """Maximum-likelihood fit of one model (SLSQP with the analytic gradient).

    Args:
        spec: the model.
        counts: the run's distinct (n, c) pairs.
        start: a previous fit's `theta` to warm-start from; when None, a few deterministic
            starts are tried and the best kept.

    Returns:
        The fitted distribution.
    """
    nll, box = objective(spec, counts)
    lo, hi = np.array(box).T
    best = None
    for theta0 in ([start] if start is not None else _starts(spec, counts)):
        # SLSQP, not L-BFGS-B: on these 2-5 parameters L-BFGS-B spent 10x longer inside BLAS
        # calls whose threads fight over shared cores (18 ms against 1 ms a refit, measured).
        res = optimize.minimize(nll, np.clip(theta0, lo, hi), jac=True, method="SLSQP", bounds=box)
        if best is None or res.fun < best.fun:
            best = res
    return from_theta(spec, best.x, -float(best.fun))


def from_theta(spec: ModelSpec, theta: np.ndarray, loglik: float = float("nan")) -> SuccessDistribution:
    """The distribution with the given unconstrained parameters (a fit, or a draw around one)."""
    return _build(spec, np.asarray(theta, np.float64), loglik, bounds(spec))


def posterior(dist: SuccessDistribution, n: np.ndarray, c: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's posterior given (n, c): weights of (masses..., components...) as (parts, rows),
    and the components' updated shapes a + c, b + n - c as (components, rows)."""
    n, c = np.asarray(n, np.float64), np.asarray(c, np.float64)
    with np.errstate(divide="ignore"):
        terms = _log_terms(np.log(dist.v), dist.x, np.log(dist.w), dist.a, dist.b, n, c)
    post = np.exp(terms - _logsumexp(terms, axis=0))
    return post, dist.a[:, None] + c, dist.b[:, None] + n - c


def failure_moments(dist: SuccessDistribution, n: np.ndarray, c: np.ndarray, t: np.ndarray) -> np.ndarray:
    """E[(1 - p)^t | n, c] for every row (n, c) and every t, shape (rows, len(t)).

    With n = c = 0 it is the prior moment, so 1 - failure_moments(dist, [0], [0], k) is the
    population's pass@k; with a problem's (n, c) it is that problem's expected pass@k given its samples.
    """
    post, a, b = posterior(dist, n, c)
    t = np.asarray(t, np.float64)
    masses = dist.x.size
    with np.errstate(divide="ignore"):  # a logit-normal node can round to p = 1
        out = post[:masses].T @ np.exp(t[None, :] * np.log1p(-dist.x)[:, None])
    ratio = np.exp(special.betaln(a[..., None], b[..., None] + t) - special.betaln(a, b)[..., None])
    return out + (post[masses:, :, None] * ratio).sum(axis=0)


def predictive_pmf(dist: SuccessDistribution, n: int) -> np.ndarray:
    """P(c = 0..n) for a new problem sampled n times, shape (n + 1,)."""
    c = np.arange(n + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        terms = _log_terms(np.log(dist.v), dist.x, np.log(dist.w), dist.a, dist.b, np.full_like(c, n), c)
    log_binom = special.gammaln(n + 1) - special.gammaln(c + 1) - special.gammaln(n - c + 1)
    return np.exp(_logsumexp(terms, axis=0) + log_binom)
