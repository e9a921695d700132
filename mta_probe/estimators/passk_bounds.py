"""pass@k beyond n that holds whatever the population: the range the samples allow, and their noise.

With n samples of a problem, the counts pin the distribution G of success rates over problems
down only through its first n moments E[(1 - p)^t], t <= n; pass@k = 1 - E[(1 - p)^k] for k > n
is partially identified (Manski 2003): every G with the same first n moments fits the samples
equally well, and they disagree about pass@k, most of all about rates below 1/n that no sample
of n can tell from 0. A model of G's shape (`passk_fit`) picks one of them; these bounds do not.

The interval is the range of pass@k over every G whose likelihood is at least alpha = 1 - level
times the largest (the nonparametric maximum-likelihood estimate's): a likelihood-ratio
confidence set on G, projected onto pass@k. Where the counts identify pass@k (k <= n, or a
population that the first n moments determine) it shrinks to the usual likelihood interval;
where they do not, it spans every pass@k the data cannot rule out, plus their noise. The
threshold ln(1 / alpha) (3.0 for a 95% interval) is the universal-inference threshold of
Wasserman, Ramdas and Balakrishnan (2020); with every problem unsolved it is the exact test
P(data | G) >= alpha, and where pass@k is point-identified it is more conservative than Wilks'
1.92. The same likelihood holds for an adaptive run (`mixing`), so the bounds use all of its
samples. bench/passk_fit.py measures the coverage (docs/passk.md).

Two closed forms check the solver (tests/test_passk_bounds.py): with N problems all unsolved in
n samples, pass@k <= 1 - exp(-ln(1/alpha) max(k, n) / (N n)) (Jensen: a point mass is extreme);
with n = 1, [mu_lo, 1 - (1 - mu_hi)^k] for the likelihood-ratio interval [mu_lo, mu_hi] of the
mean rate (all mass at 0 and 1, or all at mu).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mta_probe.estimators.mixing import Mixing, extreme, npmle, rate_grid


@dataclass(frozen=True)
class PassKBounds:
    """The range of pass@k over every distribution of success rates the samples allow.

    Attributes:
        ks: the k values, ascending.
        low, high: the interval, one per k (non-decreasing in k, as pass@k is).
        npmle: pass@k of the maximum-likelihood distribution, one per k (inside the interval).
        level: the interval's nominal coverage.
        threshold: the log-likelihood drop allowed, ln(1 / (1 - level)).
        converged: whether every bound's solver converged (else the interval may be too narrow).
    """

    ks: list[int]
    low: list[float]
    high: list[float]
    npmle: list[float]
    level: float
    threshold: float
    converged: bool


def pass_at_k(rates: np.ndarray, k: int) -> np.ndarray:
    """1 - (1 - p)^k at every rate, exact for tiny p."""
    with np.errstate(divide="ignore"):
        return -np.expm1(k * np.log1p(-rates))


def pass_at_k_bounds(num_samples: np.ndarray, num_correct: np.ndarray, ks: Sequence[int],
                     level: float = 0.95) -> PassKBounds:
    """The interval of pass@k at every k that holds whatever the distribution of success rates.

    Args:
        num_samples, num_correct: n_i and c_i of every problem (validated by the caller); n may
            differ between problems, adaptive runs included.
        ks: the k values, ascending.
        level: nominal coverage of each interval.

    Returns:
        The bounds, and pass@k of the maximum-likelihood distribution inside them.
    """
    mix = Mixing.of(np.asarray(num_samples, np.int64), np.asarray(num_correct, np.int64), rate_grid(max(ks)))
    weights, loglik = npmle(mix)
    threshold = float(-np.log1p(-level))
    low, high, point, converged = [], [], [], True
    for k in ks:
        f = pass_at_k(mix.grid, k)
        top, _, done_high = extreme(mix, f, loglik - threshold, weights)
        bottom, _, done_low = extreme(mix, 1.0 - f, loglik - threshold, weights)
        point.append(float(f @ weights))
        low.append(min(1.0 - bottom, point[-1]))
        high.append(max(top, point[-1]))
        converged = converged and done_high and done_low
    # pass@k is non-decreasing in k for every distribution, so are its extremes; the solver's
    # tolerance must not make them zigzag.
    low_arr = np.clip(np.maximum.accumulate(low), 0.0, 1.0)
    high_arr = np.clip(np.maximum.accumulate(high), 0.0, 1.0)
    return PassKBounds(list(ks), low_arr.tolist(), high_arr.tolist(), point, level, threshold, converged)
