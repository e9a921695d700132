"""The fitted pass@k against exact values of known populations, and adaptive allocation's invariants.

Every expected value here is computed another way than the code under test: numerical
integration against a density (scipy.integrate.quad), scipy.stats' beta-binomial, or the exact
mean of 1 - (1 - p_i)^k over simulated problems whose p_i are known.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from mta_probe.errors import BadInputError
from mta_probe.estimators import successdist as sd
from mta_probe.estimators.allocation import (
    AdaptiveSettings,
    allocate,
    next_round,
    run_adaptive,
    variance_reduction,
)
from mta_probe.estimators.passk_checks import gof_pvalue
from mta_probe.estimators.passk_fit import FitSettings, fit_pass_at_k

BB, ZI, LN = sd.SPECS["beta-binomial"], sd.SPECS["zero-inflated"], sd.SPECS["logit-normal"]


def exact(p: np.ndarray, ks: list[int]) -> np.ndarray:
    """The true pass@k of problems with known success rates."""
    return np.array([np.mean(1.0 - (1.0 - p) ** k) for k in ks])


def quad_beta(a: float, b: float, k: int, n: int = 0, c: int = 0) -> float:
    """E[1 - (1 - p)^k] under Beta(a, b) updated by c of n, by numerical integration."""
    density = lambda p: stats.beta.pdf(p, a + c, b + n - c)
    # Split at 1/k, where (1 - p)^k turns, so quad sees the mass near zero.
    pieces = [(0.0, 1.0 / k), (1.0 / k, 1.0)]
    return sum(integrate.quad(lambda p: (1 - (1 - p) ** k) * density(p), lo, hi, limit=200)[0] for lo, hi in pieces)


def simulate(rates: np.ndarray, n: int | np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n_arr = np.broadcast_to(np.asarray(n), rates.shape).astype(np.int64)
    return n_arr, np.random.default_rng(seed).binomial(n_arr, rates)


@pytest.mark.parametrize("a, b, k", [(0.4, 0.6, 1), (0.4, 0.6, 1024), (0.2, 1.5, 256), (2.0, 5.0, 64),
                                     (0.05, 3.0, 1000)])
def test_beta_pass_at_k_matches_integration(a: float, b: float, k: int) -> None:
    dist = sd.from_theta(BB, np.log([a, b]))
    got = 1.0 - sd.failure_moments(dist, np.zeros(1), np.zeros(1), np.array([float(k)]))[0, 0]
    assert got == pytest.approx(quad_beta(a, b, k), rel=1e-7)


@pytest.mark.parametrize("n, c, k", [(64, 0, 1024), (64, 3, 256), (16, 16, 1024), (200, 1, 4096)])
def test_posterior_pass_at_k_of_one_problem_matches_integration(n: int, c: int, k: int) -> None:
    dist = sd.from_theta(BB, np.log([0.3, 0.9]))
    got = 1.0 - sd.failure_moments(dist, np.array([n]), np.array([c]), np.array([float(k)]))[0, 0]
    assert got == pytest.approx(quad_beta(0.3, 0.9, k, n, c), rel=1e-7)


def test_zero_inflation_scales_pass_at_k_and_an_unsolved_problem_may_be_a_never_solved_one() -> None:
    zero, a, b = 0.3, 0.4, 1.0
    dist = sd.from_theta(ZI, np.array([np.log((1 - zero) / zero), np.log(a), np.log(b)]))
    prior = 1.0 - sd.failure_moments(dist, np.zeros(1), np.zeros(1), np.array([1024.0]))[0, 0]
    assert prior == pytest.approx((1 - zero) * quad_beta(a, b, 1024), rel=1e-7)
    # Given 0 of 64, Bayes: P(never solvable | c=0) = zero / (zero + (1 - zero) * P(c=0 | beta)).
    p0 = stats.betabinom.pmf(0, 64, a, b)
    never = zero / (zero + (1 - zero) * p0)
    post = 1.0 - sd.failure_moments(dist, np.array([64]), np.array([0]), np.array([1024.0]))[0, 0]
    assert post == pytest.approx((1 - never) * quad_beta(a, b, 1024, 64, 0), rel=1e-6)


def test_logit_normal_pass_at_k_matches_integration() -> None:
    mu, sigma = -3.0, 3.0
    dist = sd.from_theta(LN, np.array([mu, np.log(sigma)]))
    for k in (1, 64, 1024):
        want = integrate.quad(lambda z, k=k: -np.expm1(k * np.log1p(-special.expit(mu + sigma * z))) * stats.norm.pdf(z),
                              -12, 12, limit=400, points=[(-np.log(k) - mu) / sigma])[0]
        got = 1.0 - sd.failure_moments(dist, np.zeros(1), np.zeros(1), np.array([float(k)]))[0, 0]
        assert got == pytest.approx(want, abs=2e-4)


def test_predictive_pmf_is_scipy_beta_binomial() -> None:
    dist = sd.from_theta(BB, np.log([0.7, 2.5]))
    np.testing.assert_allclose(sd.predictive_pmf(dist, 40), stats.betabinom.pmf(np.arange(41), 40, 0.7, 2.5), rtol=1e-9)


def test_maximum_likelihood_recovers_a_known_beta() -> None:
    rates = np.random.default_rng(1).beta(0.4, 0.6, 20_000)
    n, c = simulate(rates, 64, seed=2)
    dist = sd.fit(BB, sd.Counts.of(n, c))
    assert dist.a[0] == pytest.approx(0.4, rel=0.05)
    assert dist.b[0] == pytest.approx(0.6, rel=0.05)


def test_zero_inflated_population_selects_zero_inflation_and_finds_the_truth() -> None:
    rng = np.random.default_rng(3)
    rates = np.where(rng.random(3000) < 0.3, 0.0, rng.beta(0.4, 1.0, 3000))
    n, c = simulate(rates, 64, seed=4)
    fit = fit_pass_at_k(n, c, [64, 1024])
    assert fit.method == "zero-inflated"
    assert fit.parameters["zero"] == pytest.approx(0.3, abs=0.04)
    truth = exact(rates, [64, 1024])
    np.testing.assert_allclose(fit.values, truth, atol=0.01)
    assert all(lo <= t <= hi for lo, t, hi in zip(fit.low, truth, fit.high))


def test_weak_population_from_n_64_lands_near_the_exact_pass_at_1024() -> None:
    rates = np.random.default_rng(5).beta(0.2, 1.5, 500)
    n, c = simulate(rates, 64, seed=6)
    fit = fit_pass_at_k(n, c, [1, 64, 256, 1024])
    truth = exact(rates, [1, 64, 256, 1024])
    np.testing.assert_allclose(fit.values, truth, atol=0.02)
    assert all(lo <= t <= hi for lo, t, hi in zip(fit.low, truth, fit.high))
    assert fit.gof_pvalue is not None and fit.gof_pvalue > 0.01 and not fit.warnings


def test_unequal_n_per_problem_is_accepted() -> None:
    rates = np.random.default_rng(7).beta(0.4, 0.6, 600)
    sizes = np.random.default_rng(8).choice([16, 64, 200], size=600)
    n, c = simulate(rates, sizes, seed=9)
    fit = fit_pass_at_k(n, c, [16, 1024])
    np.testing.assert_allclose(fit.values, exact(rates, [16, 1024]), atol=0.02)


def test_population_target_is_the_superpopulation_value() -> None:
    rates = np.random.default_rng(10).beta(0.4, 0.6, 20_000)
    n, c = simulate(rates, 64, seed=11)
    fit = fit_pass_at_k(n, c, [1024], FitSettings(target="population", candidates=("beta-binomial",), draws=50))
    assert fit.values[0] == pytest.approx(quad_beta(0.4, 0.6, 1024), abs=0.005)
    assert fit.low[0] <= quad_beta(0.4, 0.6, 1024) <= fit.high[0]


def test_bimodal_population_is_fitted_by_the_mixture_and_warned_about() -> None:
    rng = np.random.default_rng(12)
    rates = np.where(rng.random(1000) < 0.5, rng.beta(0.5, 60.0, 1000), rng.beta(20.0, 2.0, 1000))
    n, c = simulate(rates, 64, seed=13)
    fit = fit_pass_at_k(n, c, [1024], FitSettings(draws=50))
    assert fit.method == "beta-mixture"
    assert any(w.startswith("bimodal") for w in fit.warnings)
    # Forced onto one beta, the same data fails the goodness-of-fit check.
    lone = fit_pass_at_k(n, c, [1024], FitSettings(candidates=("beta-binomial",), draws=50))
    assert lone.gof_pvalue is not None and lone.gof_pvalue < 0.01
    assert any(w.startswith("poor fit") for w in lone.warnings)


def test_goodness_of_fit_uses_every_problem_of_unequal_n() -> None:
    dist = sd.from_theta(BB, np.log([0.5, 0.5]))
    rates = np.random.default_rng(14).beta(0.5, 0.5, 800)
    n, c = simulate(rates, np.random.default_rng(15).choice([32, 64], size=800), seed=16)
    assert gof_pvalue(dist, n, c) > 0.01
    assert gof_pvalue(sd.from_theta(BB, np.log([3.0, 3.0])), n, c) < 1e-6


def test_a_handful_of_problems_is_warned_about() -> None:
    rates = np.random.default_rng(17).beta(0.5, 0.5, 20)
    n, c = simulate(rates, 64, seed=18)
    fit = fit_pass_at_k(n, c, [1024], FitSettings(draws=50))
    assert any(w.startswith("too few problems") for w in fit.warnings)


def test_json_block_keeps_k_as_keys() -> None:
    rates = np.random.default_rng(19).beta(1.0, 1.0, 200)
    n, c = simulate(rates, 32, seed=20)
    block = fit_pass_at_k(n, c, [1, 512], FitSettings(fit_to=512, draws=50)).to_json()
    assert set(block["pass_at_k"]) == {"1", "512"} and len(block["interval"]["512"]) == 2
    assert block["method"] in sd.SPECS


@pytest.mark.parametrize("n, c, ks, settings, message", [
    ([4, 4], [1, 5], [1], FitSettings(), "0 <= c <= n"),
    ([4, 0], [1, 0], [1], FitSettings(), "n >= 1"),
    ([4, 4, 4], [1, 2], [1], FitSettings(), "same length"),
    ([4, 4], [1, 2], [2048], FitSettings(), "fit_to"),
    ([4, 4], [1, 2], [0], FitSettings(), "fit_to"),
    ([4.5, 4], [1, 2], [1], FitSettings(), "integers"),
    ([4, 4], [1, 2], [1], FitSettings(candidates=("gamma",)), "unknown fit models"),
    ([4, 4], [1, 2], [1], FitSettings(target="world"), "target"),
])
def test_bad_input_raises_one_readable_error(n: list, c: list, ks: list, settings: FitSettings, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        fit_pass_at_k(n, c, ks, settings)


def test_variance_reduction_matches_scipy_beta_binomial_enumeration() -> None:
    a, b, n, c, m, k = 0.3, 1.2, 32, 0, 48, 1024
    dist = sd.from_theta(BB, np.log([a, b]))
    got = variance_reduction(dist, np.array([n]), np.array([c]), np.array([0, m, 100_000]), k)[0]
    a1, b1 = a + c, b + n - c
    outcome = stats.betabinom.pmf(np.arange(m + 1), m, a1, b1)
    cond = np.exp(special.betaln(a1 + np.arange(m + 1), b1 + m - np.arange(m + 1) + k)
                  - special.betaln(a1 + np.arange(m + 1), b1 + m - np.arange(m + 1)))
    want = outcome @ cond ** 2 - (outcome @ cond) ** 2
    prior_var = np.exp(special.betaln(a1, b1 + 2 * k) - special.betaln(a1, b1)) - np.exp(
        2 * (special.betaln(a1, b1 + k) - special.betaln(a1, b1)))
    assert got[0] == 0.0 and got[1] == pytest.approx(want, rel=1e-9)
    assert got[1] < got[2] <= prior_var * (1 + 1e-9) and got[2] == pytest.approx(prior_var, rel=0.02)


@pytest.mark.parametrize("rule", ["zeros", "variance"])
def test_a_round_hands_out_exactly_its_size_and_favours_the_unsolved(rule: str) -> None:
    rates = np.random.default_rng(21).beta(0.3, 1.0, 400)
    n, c = simulate(rates, 16, seed=22)
    extra = allocate(n, c, 3000, AdaptiveSettings(budget=40_000, rule=rule))
    assert extra.sum() == 3000 and (extra >= 0).all()
    assert extra[c == 0].mean() > 4 * extra[c >= 3].mean()
    if rule == "zeros":
        assert (extra[c > 0] == 0).all() and np.ptp(extra[c == 0]) <= 1


def test_rounds_open_with_first_samples_and_stop_at_the_budget() -> None:
    settings = AdaptiveSettings(budget=1000, first=4, rounds=3, rule="zeros")
    assert next_round(np.zeros(50, int), np.zeros(50, int), settings).tolist() == [4] * 50
    part = np.array([4] * 25 + [0] * 25)  # a killed opening round finishes first
    assert next_round(part, np.zeros(50, int), settings).tolist() == [0] * 25 + [4] * 25
    spent = np.full(50, 20)
    assert not next_round(spent, np.zeros(50, int), settings).any()
    with pytest.raises(BadInputError, match="budget"):
        next_round(np.zeros(300, int), np.zeros(300, int), settings)


@pytest.mark.parametrize("rule", ["zeros", "variance"])
def test_an_interrupted_run_resumes_to_the_same_samples(rule: str) -> None:
    # Sample j of problem i is outcome[i, j], whenever it is drawn: what a seeded probe does.
    rng = np.random.default_rng(23)
    rates = rng.beta(0.3, 1.0, 120)
    outcome = rng.random((120, 2000)) < rates[:, None]
    settings = AdaptiveSettings(budget=120 * 40, first=8, rounds=4, rule=rule)
    state = {"n": np.zeros(120, np.int64)}

    def draw(extra: np.ndarray) -> np.ndarray:
        got = np.array([outcome[i, state["n"][i]:state["n"][i] + e].sum() for i, e in enumerate(extra)])
        state["n"] = state["n"] + extra
        return got

    full = run_adaptive(draw, 120, settings)
    state["n"] = np.zeros(120, np.int64)
    n, c = np.zeros(120, np.int64), np.zeros(120, np.int64)
    for _ in range(2):  # two rounds, then the process "dies"; only (n, c) survive
        extra = next_round(n, c, settings)
        c, n = c + draw(extra), n + extra
    resumed = run_adaptive(draw, 120, settings, n, c)
    assert full[0].sum() == settings.budget
    np.testing.assert_array_equal(full[0], resumed[0])
    np.testing.assert_array_equal(full[1], resumed[1])
