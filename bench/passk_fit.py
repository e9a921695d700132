"""pass@k at large k from 1/16 of the samples: the fit against the unbiased estimator and a power law.

    nice -n 10 python bench/passk_fit.py --reps 200
    python bench/passk_fit.py --quick

Populations of problems with known success rates p_i, so the true pass@k of a set of problems is
exact: the mean of 1 - (1 - p_i)^k over them. Each repetition draws 500 problems from the
population and 2,048 sample outcomes per problem, and every method reads the same outcomes:

  (a) the unbiased estimator at n = 1,024 (mta's estimator and its 95% bootstrap interval);
  (b) the fit (mta_probe.estimators.passk_fit) from the first 64 samples of every problem;
  (c) the fit from the same total budget (64 x 500) spent adaptively: 16 per problem, then 6
      rounds by the "variance" rule; (c') the same with Kazdan et al.'s "zeros" rule;
  (d) an exponentiated power law fitted to the unbiased curve at n = 64 and extrapolated
      (Brown et al. 2024, Large Language Monkeys: -log pass@k = exp(alpha) * k^beta, least squares
      in log-log over 20 log-spaced k in 1..64); it has no interval.

Printed per population and method: the mean and 95th percentile of |estimate - truth| at k = 256
and 1,024, the share of repetitions within 0.02 at 1,024, and how often the 95% interval covers
the truth. Truth is the drawn problems' exact pass@k (not the population's).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import special

from mta_probe.estimators.allocation import AdaptiveSettings, run_adaptive
from mta_probe.estimators.passk_fit import FitSettings, exact_pass_at_k, fit_pass_at_k

from mta_probe.estimators.passk import bootstrap_interval, pass_at_k_matrix

KS = [256, 1024]
POPULATIONS: dict[str, tuple[str, Callable[[np.random.Generator, int], np.ndarray]]] = {
    "strong": ("Beta(0.6, 0.2)", lambda rng, size: rng.beta(0.6, 0.2, size)),
    "middling": ("Beta(0.4, 0.6)", lambda rng, size: rng.beta(0.4, 0.6, size)),
    "weak": ("Beta(0.2, 1.5)", lambda rng, size: rng.beta(0.2, 1.5, size)),
    "zero-inflated": ("30% p=0, 70% Beta(0.4, 1.0)",
                      lambda rng, size: np.where(rng.random(size) < 0.3, 0.0, rng.beta(0.4, 1.0, size))),
    "heavy-left-tail": ("logit p ~ Normal(-3, 3)", lambda rng, size: special.expit(rng.normal(-3.0, 3.0, size))),
}
TIMES: dict[str, list[float]] = {"fit_pass_at_k, n=64": [], "run_adaptive, variance rule": [],
                                 "run_adaptive, zeros rule": []}
MOST_SAMPLES: dict[str, list[int]] = {"variance": [], "zeros": []}  # the largest n_i of each adaptive run
METHODS = ["(a) unbiased n=1024", "(b) fit n=64", "(c) adaptive variance", "(c') adaptive zeros",
           "(d) power law n=64"]


def power_law(curve_ks: np.ndarray, curve: np.ndarray, ks: list[int]) -> np.ndarray:
    """Brown et al.'s fit: log(-log pass@k) linear in log k, read off at ks."""
    keep = (curve > 0) & (curve < 1)
    slope, intercept = np.polyfit(np.log(curve_ks[keep]), np.log(-np.log(curve[keep])), 1)
    return np.exp(-np.exp(intercept) * np.asarray(ks, np.float64) ** slope)


def one_repetition(sample: Callable[[np.random.Generator, int], np.ndarray], problems: int, seed: int,
                   fit_settings: FitSettings) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """(estimate, interval or None) of every method, and the truth under the key 'truth'."""
    rng = np.random.default_rng(seed)
    rates = sample(rng, problems)
    outcomes = rng.random((problems, 2048)) < rates[:, None]  # sample j of problem i, whoever draws it
    results: dict[str, tuple[np.ndarray, np.ndarray | None]] = {"truth": (exact_pass_at_k(rates, np.array(KS)), None)}

    c_full = outcomes[:, :1024].sum(axis=1)
    per_problem = pass_at_k_matrix(np.full(problems, 1024), c_full, KS)
    low, high = bootstrap_interval(per_problem, seed=seed)
    results[METHODS[0]] = (per_problem.mean(axis=0), np.stack([low, high]))

    c64 = outcomes[:, :64].sum(axis=1)
    start = time.process_time()  # CPU time: the wall clock depends on who else shares the cores
    fit = fit_pass_at_k(np.full(problems, 64), c64, KS, fit_settings)
    TIMES["fit_pass_at_k, n=64"].append(time.process_time() - start)
    results[METHODS[1]] = (np.array(fit.values), np.array([fit.low, fit.high]))

    for method, rule in ((METHODS[2], "variance"), (METHODS[3], "zeros")):
        taken = np.zeros(problems, np.int64)

        def draw(extra: np.ndarray) -> np.ndarray:
            nonlocal taken
            got = np.array([outcomes[i, taken[i]:taken[i] + e].sum() for i, e in enumerate(extra)])
            # Past the stored 2,048 outcomes (the "zeros" rule can pile thousands on one problem),
            # further samples are fresh draws.
            beyond = np.maximum(taken + extra - outcomes.shape[1], 0) - np.maximum(taken - outcomes.shape[1], 0)
            taken = taken + extra
            return got + rng.binomial(beyond, rates)

        start = time.process_time()
        n, c = run_adaptive(draw, problems, AdaptiveSettings(budget=64 * problems, rule=rule))
        TIMES[f"run_adaptive, {rule} rule"].append(time.process_time() - start)
        MOST_SAMPLES[rule].append(int(n.max()))
        fit = fit_pass_at_k(n, c, KS, fit_settings)
        results[method] = (np.array(fit.values), np.array([fit.low, fit.high]))

    curve_ks = np.unique(np.round(np.geomspace(1, 64, 20)).astype(int))
    curve = pass_at_k_matrix(np.full(problems, 64), c64, curve_ks.tolist()).mean(axis=0)
    results[METHODS[4]] = (power_law(curve_ks.astype(np.float64), curve, KS), None)
    return results


def summarise(name: str, description: str, reps: list[dict]) -> None:
    """One table block: the population, then a row per method."""
    truth = np.array([r["truth"][0] for r in reps])
    print(f"\n{name}: {description}; true pass@256 {truth[:, 0].mean():.3f}, pass@1024 {truth[:, 1].mean():.3f} "
          f"(mean over {len(reps)} draws of the problems)")
    print(f"  {'method':24s} {'|err|@256':>9s} {'|err|@1024':>10s} {'p95@1024':>9s} {'<=0.02':>7s} "
          f"{'cover@256':>9s} {'cover@1024':>10s} {'width@1024':>10s}")
    for method in METHODS:
        err = np.abs(np.array([r[method][0] for r in reps]) - truth)
        line = (f"  {method:24s} {err[:, 0].mean():9.4f} {err[:, 1].mean():10.4f} "
                f"{np.quantile(err[:, 1], 0.95):9.4f} {np.mean(err[:, 1] <= 0.02):7.2f}")
        if reps[0][method][1] is not None:
            bands = np.array([r[method][1] for r in reps])  # (reps, 2, ks)
            cover = ((bands[:, 0] <= truth) & (truth <= bands[:, 1])).mean(axis=0)
            line += f" {cover[0]:9.3f} {cover[1]:10.3f} {(bands[:, 1, 1] - bands[:, 0, 1]).mean():10.4f}"
        else:
            line += f" {'-':>9s} {'-':>10s} {'-':>10s}"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="repetitions per population")
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--populations", default=",".join(POPULATIONS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="20 repetitions, for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zero-penalty", default="2.71",
                        help="what the zero atom costs in the BIC ('none': ln N, like any parameter)")
    args = parser.parse_args()
    reps = 20 if args.quick else args.reps
    settings = FitSettings(zero_penalty=None if args.zero_penalty == "none" else float(args.zero_penalty))
    print(f"problems={args.problems} reps={reps} ks={KS} fit: {settings.criterion} "
          f"(zero atom costs {settings.zero_penalty or 'ln N'}), candidates {', '.join(settings.candidates)}")
    start, cpu = time.perf_counter(), time.process_time()
    for name in args.populations.split(","):
        description, sample = POPULATIONS[name]
        index = list(POPULATIONS).index(name)  # seeds follow the population, not its place in --populations
        results = [one_repetition(sample, args.problems, args.seed + 100_000 * index + rep, settings)
                   for rep in range(reps)]
        summarise(name, description, results)
        print("  most samples on one problem: " + ", ".join(
            f"{rule} rule median {np.median(most):.0f}, max {max(most)}" for rule, most in MOST_SAMPLES.items()))
        for most in MOST_SAMPLES.values():
            most.clear()
    for what, seconds in TIMES.items():
        print(f"\n{what}: {np.mean(seconds):.2f} CPU s a call "
              f"(median {np.median(seconds):.2f}, max {np.max(seconds):.2f})", end="")
    print(f"\n\n{time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} CPU s in all")


if __name__ == "__main__":
    main()
