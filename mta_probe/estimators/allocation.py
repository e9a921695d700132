"""Adaptive sampling: spend a budget of samples in rounds, each on the least settled problems.

A problem with a correct sample already has pass@1024 near 1; what moves a fitted pass@K is the
problems with no or few successes, whose success rate may be 0, 1e-4 or 1e-2. Two rules:

- "zeros" (Kazdan et al. 2025): each round is split evenly among the problems with no correct
  sample yet (among those with the fewest, when every problem has one).
- "variance": fit the success-rate distribution to the samples so far, and give each quantum of
  samples to the problem where it lowers most the expected posterior variance of that problem's
  pass@K, Var[1 - (1 - p_i)^K | n_i, c_i]. Problems are independent given the fit, so the sum of
  these variances is the variance of the task's pass@K, which is what the round should shrink.
  Unlike "zeros", it stops sampling a problem that looks never solvable, and it also samples the
  problems with one lucky success.

The likelihood of the fit stays correct under either rule: which problem is sampled depends
only on samples already seen, so the design drops out of the likelihood.

State is nothing but the per-problem (n_i, c_i): `next_round` is a pure function of it and of the
settings, so a run killed between or within rounds resumes by reading its samples back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from mta_probe.errors import BadInputError
from mta_probe.estimators import successdist as sd


@dataclass(frozen=True)
class AdaptiveSettings:
    """How a budget of samples is spent.

    Attributes:
        budget: total samples over all problems, the opening round included.
        first: samples every problem gets in the opening round (the unbiased pass@k is then
            defined for k up to it on every problem).
        rounds: how many later rounds the rest of the budget is split into.
        rule: "variance" or "zeros" (see the module docstring).
        target_k: the K whose pass@K the "variance" rule settles.
        quantum: samples are handed out in multiples of this (the "variance" rule).
        cap: the most samples one problem gets in one round (the "variance" rule).
        models: candidates for the fit the "variance" rule uses, best by BIC.
    """

    budget: int
    first: int = 16
    rounds: int = 6
    rule: str = "variance"
    target_k: int = 1024
    quantum: int = 8
    cap: int = 256
    models: tuple[str, ...] = ("beta-binomial", "zero-inflated")


def _check(num_samples: np.ndarray, num_correct: np.ndarray, settings: AdaptiveSettings
           ) -> tuple[np.ndarray, np.ndarray]:
    """Validated integer arrays; every complaint is one BadInputError."""
    n, c = np.asarray(num_samples), np.asarray(num_correct)
    if n.ndim != 1 or n.shape != c.shape or n.size == 0:
        raise BadInputError("num_samples and num_correct must be 1-D, non-empty and of the same length")
    if (n < 0).any() or (c < 0).any() or (c > n).any():
        raise BadInputError("every problem needs n >= 0 and 0 <= c <= n")
    if settings.rule not in ("variance", "zeros") or settings.quantum < 1 or settings.cap < settings.quantum:
        raise BadInputError("rule must be 'variance' or 'zeros', and 1 <= quantum <= cap")
    if settings.first < 1 or settings.rounds < 1 or settings.first * n.size > settings.budget:
        raise BadInputError(f"a budget of {settings.budget} cannot give {n.size} problems "
                            f"{settings.first} samples each")
    if any(name not in sd.SPECS for name in settings.models) or not settings.models:
        raise BadInputError(f"unknown fit models {list(settings.models)}; choose from {sorted(sd.SPECS)}")
    return n.astype(np.int64), c.astype(np.int64)


def next_round(num_samples: np.ndarray, num_correct: np.ndarray, settings: AdaptiveSettings) -> np.ndarray:
    """How many more samples each problem gets next; all zeros once the budget is spent.

    The opening round brings every problem to `first` samples (a partly done opening round is
    finished first); later rounds are (budget - opening) / rounds samples each, the last cut to
    what is left.

    Args:
        num_samples: n_i so far (0 for a problem not sampled yet).
        num_correct: c_i so far.
        settings: budget, rounds and rule.

    Returns:
        Extra samples per problem, an integer array that sums to the round's size.
    """
    n, c = _check(num_samples, num_correct, settings)
    if (n < settings.first).any():
        return np.maximum(settings.first - n, 0)
    per_round = -(-(settings.budget - settings.first * n.size) // settings.rounds)
    size = min(per_round, settings.budget - int(n.sum()))
    if size <= 0:
        return np.zeros_like(n)
    return allocate(n, c, size, settings)


def allocate(num_samples: np.ndarray, num_correct: np.ndarray, size: int, settings: AdaptiveSettings) -> np.ndarray:
    """Split `size` samples among problems by the settings' rule.

    Args:
        num_samples: n_i so far, each at least 1.
        num_correct: c_i so far.
        size: samples in this round.
        settings: the rule and its parameters.

    Returns:
        Extra samples per problem, summing to `size`.
    """
    n, c = _check(num_samples, num_correct, settings)
    if (n < 1).any():
        raise BadInputError("allocate needs every problem sampled at least once (run the opening round first)")
    if settings.rule == "zeros":
        return _spread(size, c == c.min(), n)
    steps = _variance_steps(n, c, size // settings.quantum, settings)
    extra = steps * settings.quantum
    left = size - int(extra.sum())
    return extra + (_spread(left, steps == steps.max(), n) if left else 0)


def _spread(size: int, chosen: np.ndarray, n: np.ndarray) -> np.ndarray:
    """`size` samples evenly over the chosen problems; the remainder to those with the fewest samples."""
    out = np.zeros(n.size, dtype=np.int64)
    idx = np.flatnonzero(chosen)
    out[idx] = size // idx.size
    order = idx[np.argsort(n[idx], kind="stable")]
    out[order[: size % idx.size]] += 1
    return out


def _variance_steps(n: np.ndarray, c: np.ndarray, steps: int, settings: AdaptiveSettings) -> np.ndarray:
    """Quanta per problem that most lower the summed posterior variance of pass@K (greedy on the
    concave majorant of each problem's expected reduction)."""
    counts = sd.Counts.of(n, c)
    fits = [sd.fit(sd.SPECS[name], counts) for name in settings.models]
    dist = min(fits, key=lambda d: -2.0 * d.loglik + d.spec.num_parameters * np.log(n.size))
    # The reduction is computed at 0, q, 2q, 4q, ... cap and read off its majorant at every quantum;
    # only problems whose pass@K is still uncertain are computed at all.
    points = np.unique(np.minimum(settings.quantum * 2 ** np.arange(12), settings.cap))
    points = np.concatenate([[0], points[points <= settings.cap]])
    moments = sd.failure_moments(dist, counts.n, counts.c, np.array([settings.target_k, 2 * settings.target_k]))
    open_rows = moments[:, 1] - moments[:, 0] ** 2 > 1e-8
    reduction = np.zeros((counts.n.size, points.size))
    reduction[open_rows] = variance_reduction(dist, counts.n[open_rows], counts.c[open_rows], points, settings.target_k)
    quanta = settings.quantum * np.arange(settings.cap // settings.quantum + 1)
    hull = _concave_majorant(points, reduction)
    gains = np.diff(np.stack([np.interp(quanta, points, row) for row in hull]), axis=1)  # non-increasing
    row_of = np.searchsorted(counts.n * (counts.c.max() + 1) + counts.c, n * (counts.c.max() + 1) + c)
    per_problem = gains[row_of].T  # (quanta, problems): flattened quantum-major, ties spread over problems
    if steps <= 0 or not (per_problem > 0).any():
        return np.zeros(n.size, dtype=np.int64)
    order = np.argsort(-per_problem.ravel(), kind="stable")[:steps]
    return np.bincount(order % n.size, minlength=n.size)


def variance_reduction(dist: sd.SuccessDistribution, n: np.ndarray, c: np.ndarray, extra: np.ndarray,
                       k: int) -> np.ndarray:
    """Expected drop of Var[1 - (1 - p)^k | n, c] after `extra` more samples, shape (rows, len(extra)).

    It is the variance, over the next samples' outcome c', of E[(1 - p)^k | n + extra, c + c']:
    what the samples are expected to teach about this problem's pass@k.
    """
    post, a, b = sd.posterior(dist, n, c)
    masses = dist.x.size
    out = np.zeros((n.size, extra.size))
    with np.errstate(divide="ignore"):
        log_fail_mass = np.log1p(-dist.x)
    for col, m in enumerate(extra):
        if m == 0:
            continue
        cc = np.arange(m + 1, dtype=np.float64)
        log_binom = special.gammaln(m + 1) - special.gammaln(cc + 1) - special.gammaln(m - cc + 1)
        # Joint weight of (part, outcome c') and each part's failure moment after it: (parts, rows, m + 1).
        pm_mass = special.xlogy(cc, dist.x[:, None]) + special.xlog1py(m - cc, -dist.x[:, None])
        log_joint_mass = np.broadcast_to(log_binom + pm_mass[:, None, :], (masses, n.size, m + 1))
        mom_mass = np.broadcast_to(np.exp(k * log_fail_mass)[:, None, None], log_joint_mass.shape)
        a2, b2 = a[..., None] + cc, b[..., None] + m - cc
        log_joint_comp = log_binom + special.betaln(a2, b2) - special.betaln(a, b)[..., None]
        mom_comp = np.exp(special.betaln(a2, b2 + k) - special.betaln(a2, b2))
        with np.errstate(divide="ignore"):
            joint = post[..., None] * np.exp(np.concatenate([log_joint_mass, log_joint_comp]))
        moment = np.concatenate([mom_mass, mom_comp])
        p_out = joint.sum(axis=0)
        cond = (joint * moment).sum(axis=0) / np.maximum(p_out, 1e-300)
        mean = (p_out * cond).sum(axis=1, keepdims=True)
        out[:, col] = (p_out * (cond - mean) ** 2).sum(axis=1)
    return out


def _concave_majorant(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row of y (at points x) replaced by its least concave majorant, evaluated at x.

    A problem's reduction can grow slowly at first (a success rate of 1e-3 needs hundreds of
    samples to show); the majorant's slopes rank such a problem by what a longer stretch buys.
    """
    out = np.empty_like(y)
    for row in range(y.shape[0]):
        hull = [0]
        for i in range(1, x.size):
            while len(hull) >= 2:
                i0, i1 = hull[-2], hull[-1]
                if (y[row, i1] - y[row, i0]) * (x[i] - x[i0]) <= (y[row, i] - y[row, i0]) * (x[i1] - x[i0]):
                    hull.pop()
                else:
                    break
            hull.append(i)
        out[row] = np.interp(x, x[hull], y[row, hull])
    return out


def run_adaptive(draw: Callable[[np.ndarray], np.ndarray], num_problems: int, settings: AdaptiveSettings,
                 num_samples: np.ndarray | None = None, num_correct: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Run rounds until the budget is spent, starting from nothing or from a saved state.

    Args:
        draw: samples extra[i] more completions of problem i and returns how many were correct.
        num_problems: how many problems.
        settings: budget, rounds and rule.
        num_samples, num_correct: the state to resume from (None: nothing sampled yet).

    Returns:
        The final (n_i, c_i).
    """
    n = np.zeros(num_problems, np.int64) if num_samples is None else np.array(num_samples, np.int64)
    c = np.zeros(num_problems, np.int64) if num_correct is None else np.array(num_correct, np.int64)
    while (extra := next_round(n, c, settings)).any():
        got = np.asarray(draw(extra), np.int64)
        if got.shape != extra.shape or (got < 0).any() or (got > extra).any():
            raise BadInputError("draw must return, per problem, between 0 and the samples it was asked for")
        n, c = n + extra, c + got
    return n, c
