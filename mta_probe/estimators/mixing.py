"""The distribution of per-problem success rates with no shape assumed: mixtures on a grid of rates.

Problem i has a success rate p_i; c_i of its n_i samples are correct. Whatever the distribution G
of the rates over problems, the likelihood of the counts is

    L(G) = prod_i  integral p^c_i (1 - p)^(n_i - c_i) dG(p),

and it holds for an adaptive run too: which problem got more samples depended only on samples
already seen, so the design drops out of the likelihood. Here G is a set of weights w on a grid
of rates (`rate_grid`: p = 0, steps of ratio 1.2 from 1e-6 to 0.05, steps of 0.02 to 0.95, then
on to p = 1), and two problems are solved:

- `npmle`: the weights of largest likelihood, the nonparametric maximum-likelihood estimate
  of the mixing distribution (Kiefer and Wolfowitz 1956; Lindsay 1983);
- `extreme`: the largest value of a linear functional f.w (pass@k is one: f = 1 - (1 - p)^k)
  over every w whose log-likelihood is at least a floor.

Both are concave programs on the simplex, solved by a log-barrier method (Boyd and
Vandenberghe 2004, ch. 11). The Hessian of the log-likelihood is -L^T diag(m / pi^2) L with one
row of L per distinct (n, c), so each Newton step solves a system the size of the distinct
counts (Woodbury), not of the grid: a few milliseconds for a run at one n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special


def rate_grid(k_max: int) -> np.ndarray:
    """Success rates the weights live on, ascending: 0; ratio-1.2 steps from min(1e-6, 0.01 / k_max)
    to 0.05 (a rate below the first moves pass@k_max by less than 0.01 from a rate of 0); steps
    of 0.02 to 0.95; ratio-1.5 steps of 1 - p down to 1e-4 (there pass@k is near 1 for every
    k > 1); and 1. Grids two and four times finer moved the bounds of five test cases by less than
    0.005 (ratios 1.1 and 1.05 against 1.2, measured) at twice to six times the cost."""
    low = min(1e-6, 0.01 / max(k_max, 1))
    small = np.exp(np.arange(np.log(low), np.log(0.05), np.log(1.2)))
    near_one = 1.0 - np.exp(np.arange(np.log(0.05), np.log(1e-4), -np.log(1.5)))
    return np.unique(np.concatenate([[0.0], small, np.arange(0.05, 0.951, 0.02), near_one, [1.0]]))


@dataclass(frozen=True)
class Mixing:
    """The likelihood of a run's counts on a grid of rates.

    Attributes:
        grid: the rates, ascending.
        lik: P(c | n, p) for every distinct (n, c) (rows) and rate (columns), each row divided by
            its largest value (a constant per row, so likelihood ratios are unchanged).
        m: how many problems have each distinct (n, c).
    """

    grid: np.ndarray
    lik: np.ndarray
    m: np.ndarray

    @classmethod
    def of(cls, num_samples: np.ndarray, num_correct: np.ndarray, grid: np.ndarray) -> Mixing:
        """The likelihood rows of per-problem (n_i, c_i) on `grid`."""
        pairs, m = np.unique(np.stack([num_samples, num_correct], axis=1), axis=0, return_counts=True)
        n, c = pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64)
        log_lik = special.xlogy(c[:, None], grid) + special.xlog1py((n - c)[:, None], -grid)
        return cls(grid, np.exp(log_lik - log_lik.max(axis=1, keepdims=True)), m.astype(np.float64))

    def loglik(self, w: np.ndarray) -> float:
        """Log-likelihood of the weights (up to the rows' constants)."""
        with np.errstate(divide="ignore"):
            return float(self.m @ np.log(self.lik @ w))


# OpenBLAS splits a matrix product over threads above about 2^18 multiply-adds; on shared cores
# the threads wait on each other (13 ms against 0.8 ms a Newton step, measured at load 12 on 2
# cores), so the Gram matrix is summed over row blocks that stay below it.
_BLOCK_FLOPS = 1 << 17


def _gram(a: np.ndarray) -> np.ndarray:
    """a^T a, summed over blocks of rows small enough to stay on one thread."""
    rows = max(1, _BLOCK_FLOPS // max(a.shape[1] ** 2, 1))
    out = np.zeros((a.shape[1], a.shape[1]))
    for start in range(0, a.shape[0], rows):
        block = a[start:start + rows]
        out += block.T @ block
    return out


def _direction(w: np.ndarray, u_low: np.ndarray, u_one: np.ndarray | None, grads: np.ndarray) -> np.ndarray:
    """Newton steps on the simplex: (W^-2 + U U^T + u u^T) dw = -grad - nu 1 with sum(dw) = 0,
    for every column of `grads` (one direction per column).

    W^-2 is the barrier's Hessian (W = diag w); U has one column per distinct count, u is the
    rank-one term of the likelihood floor. Scaled by W the system is I + (WU)(WU)^T, whose
    eigenvalues are at least 1; it is solved as a Cholesky factor the size of the distinct counts
    (Woodbury) or, when there are more distinct counts than rates, of the grid. The rank-one
    term is taken apart (Sherman-Morrison), since near the floor it dwarfs the rest and would
    swamp the factor.
    """
    scaled = w[:, None] * u_low
    rhs = np.column_stack([grads, np.ones_like(w)] + ([u_one] if u_one is not None else []))
    z = w[:, None] * rhs
    if scaled.shape[1] <= scaled.shape[0]:
        factor = linalg.cho_factor(np.eye(scaled.shape[1]) + _gram(scaled), check_finite=False)
        sol = w[:, None] * (z - scaled @ linalg.cho_solve(factor, scaled.T @ z, check_finite=False))
    else:
        factor = linalg.cho_factor(np.eye(scaled.shape[0]) + _gram(scaled.T), check_finite=False)
        sol = w[:, None] * linalg.cho_solve(factor, z, check_finite=False)
    width = grads.shape[1] + 1
    if u_one is not None:
        hu = sol[:, width]
        sol = sol[:, :width] - np.outer(hu, (u_one @ sol[:, :width]) / (1.0 + u_one @ hu))
    ones = sol[:, -1]
    return -(sol[:, :-1] - np.outer(ones, sol[:, :-1].sum(axis=0) / ones.sum()))


@dataclass(frozen=True)
class _Problem:
    """max t f.w + log(loglik(w) - floor) + sum log w (f None: max t loglik(w) + sum log w)."""

    mix: Mixing
    f: np.ndarray | None
    floor: float

    def value(self, w: np.ndarray, t: float) -> float:
        """The barrier objective, minimised (inf outside its domain)."""
        if (w <= 0).any():
            return np.inf
        ll = self.mix.loglik(w)
        if self.f is None:
            return -t * ll - float(np.log(w).sum())
        slack = ll - self.floor
        return np.inf if not slack > 0 else -t * float(self.f @ w) - float(np.log(w).sum()) - np.log(slack)

    def step(self, w: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(gradient, Newton direction) of the barrier objective at w."""
        lik, m = self.mix.lik, self.mix.m
        pi = lik @ w
        grad_ll = lik.T @ (m / pi)
        curvature = lik.T * (np.sqrt(m) / pi)
        if self.f is None:
            grad = -t * grad_ll - 1.0 / w
            return grad, _direction(w, np.sqrt(t) * curvature, None, grad[:, None])[:, 0]
        slack = float(m @ np.log(pi)) - self.floor
        grad = -t * self.f - 1.0 / w - grad_ll / slack
        return grad, _direction(w, curvature / np.sqrt(slack), grad_ll / slack, grad[:, None])[:, 0]


def _inside(problem: _Problem, w: np.ndarray, dw: np.ndarray, t: float) -> float:
    """The longest step along dw, up to 1, that keeps w > 0 and the objective finite."""
    shrinking = dw < 0
    size = min(1.0, 0.99 * float(np.min(-w[shrinking] / dw[shrinking]))) if shrinking.any() else 1.0
    while not np.isfinite(problem.value(w + size * dw, t)) and size > 1e-14:
        size *= 0.5
    return size


def _barrier(problem: _Problem, w: np.ndarray, t: float, gap: float, growth: float = 8.0,
             max_steps: int = 1500) -> tuple[np.ndarray, float, bool]:
    """Follow the central path from a strictly feasible w until the duality gap is below `gap`:
    centre by damped Newton with backtracking, then raise t by `growth` (8 took the fewest
    steps of 4, 8 and 16 on bench/passk_fit.py's populations).

    Returns:
        (weights, the gap reached (grid size / t), whether it converged within max_steps).
    """
    steps = 0
    while True:
        while steps < max_steps:
            grad, dw = problem.step(w, t)
            decrement = float(-grad @ dw)
            steps += 1
            if decrement < 1e-9:
                break
            size = _inside(problem, w, dw, t)
            start = problem.value(w, t)
            while problem.value(w + size * dw, t) > start - 0.25 * size * decrement and size > 1e-14:
                size *= 0.5
            w = w + size * dw
            if decrement < 1e-5:
                break
        reached = (w.size + 1) / t
        if reached < gap or steps >= max_steps:
            return w, reached, steps < max_steps
        t *= growth


def npmle(mix: Mixing, gap: float = 1e-3) -> tuple[np.ndarray, float]:
    """The weights of largest likelihood and that log-likelihood (within `gap` of the maximum)."""
    size = mix.grid.size
    w, _, _ = _barrier(_Problem(mix, None, 0.0), np.full(size, 1.0 / size), 1.0 / mix.m.sum(), gap)
    return w, mix.loglik(w)


def extreme(mix: Mixing, f: np.ndarray, floor: float, start: np.ndarray, gap: float = 1e-3
            ) -> tuple[float, np.ndarray, bool]:
    """The largest f.w over weights w with loglik(w) >= floor.

    Args:
        mix: the likelihood.
        f: the functional's value at every rate of the grid.
        floor: the least log-likelihood allowed.
        start: weights with loglik(start) > floor (the NPMLE's).

    Returns:
        (an upper bound on the maximum: the last f.w plus the duality gap left, the weights, and
        whether the solver converged).
    """
    size = mix.grid.size
    slack = mix.loglik(start) - floor
    mixed = 1.0 - min(1e-3, slack / (4.0 * mix.m.sum()))  # stay strictly inside both w > 0 and the floor
    w, reached, done = _barrier(_Problem(mix, f, floor), mixed * start + (1.0 - mixed) / size, 10.0, gap)
    return float(f @ w) + reached, w, done
