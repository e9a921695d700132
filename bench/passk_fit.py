"""pass@1024 from 1/16 of the samples, on populations in and out of the fitted families.

    PYTHONPATH=. python3 bench/passk_fit.py --reps 200 --jobs 2
    PYTHONPATH=. python3 bench/passk_fit.py --quick

Populations of problems with known success rates p_i, so the true pass@k of a set of problems is
exact: the mean of 1 - (1 - p_i)^k over them. Five are drawn from the families the fitted model
assumes (beta, zero-inflated beta, logit-normal); eight are not (point masses, a point mass
beside a uniform, discrete mixtures, log-uniform tails down to 1e-6, a cluster of rarely solved
problems at 1e-4..1e-3). Each repetition draws 500 problems from the population and 2,048 sample
outcomes per problem, and every method reads the same outcomes:

  (a) the unbiased estimator at n = 1,024 (mta's estimator and its 95% bootstrap interval);
  (b) the old fit: the chosen parametric model's pass@k and its own 95% interval, from the
      first 64 samples of every problem (`PassKFit.model_values`, `model_low`, `model_high`);
  (c) the new curve from the same 64 samples: the model's value moved into the bounds, and the
      95% interval that holds whatever the population (`PassKFit.values`, `low`, `high`);
  (d) (c) from the same total budget (64 x 500) spent adaptively: 16 per problem, then 6 rounds
      by the "variance" rule (--rules adds Kazdan et al.'s "zeros").

Printed per population and method at k = 1,024: the mean and 95th percentile of |estimate -
truth|, how often the 95% interval covers the truth, and its mean width; the mean error and
coverage at k = 256; and, for the fits, how often the goodness-of-fit check warned. Truth is the
drawn problems' exact pass@k (not the population's).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread per job: the cores are shared

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

from mta_probe.estimators import AdaptiveSettings, FitSettings, bootstrap_interval, fit_pass_at_k, pass_at_k_matrix  # noqa: E402
from mta_probe.estimators.allocation import run_adaptive  # noqa: E402
from mta_probe.estimators.passk_fit import exact_pass_at_k  # noqa: E402

KS = [256, 1024]
Sampler = Callable[[np.random.Generator, int], np.ndarray]


def _log_uniform(low: float, high: float) -> Sampler:
    return lambda rng, size: np.exp(rng.uniform(np.log(low), np.log(high), size))


def _mixture(*parts: tuple[float, Sampler]) -> Sampler:
    """Each problem's rate from one part, chosen with the parts' shares."""
    def sample(rng: np.random.Generator, size: int) -> np.ndarray:
        which = rng.choice(len(parts), size=size, p=[share for share, _ in parts])
        drawn = np.stack([part(rng, size) for _, part in parts])
        return drawn[which, np.arange(size)]
    return sample


def _const(p: float) -> Sampler:
    return lambda rng, size: np.full(size, p)


# name: (description, in one of the fitted families?, sampler)
POPULATIONS: dict[str, tuple[str, bool, Sampler]] = {
    "strong": ("Beta(0.6, 0.2)", True, lambda rng, size: rng.beta(0.6, 0.2, size)),
    "middling": ("Beta(0.4, 0.6)", True, lambda rng, size: rng.beta(0.4, 0.6, size)),
    "weak": ("Beta(0.2, 1.5)", True, lambda rng, size: rng.beta(0.2, 1.5, size)),
    "zero-inflated": ("30% p=0, 70% Beta(0.4, 1.0)", True,
                      _mixture((0.3, _const(0.0)), (0.7, lambda rng, size: rng.beta(0.4, 1.0, size)))),
    "heavy-left-tail": ("logit p ~ Normal(-3, 3)", True, lambda rng, size: special.expit(rng.normal(-3.0, 3.0, size))),
    "never+uniform": ("30% p=0, 70% uniform on [0.001, 0.05]", False,
                      _mixture((0.3, _const(0.0)), (0.7, lambda rng, size: rng.uniform(0.001, 0.05, size)))),
    "three-rates": ("p in {0.002, 0.03, 0.4}, a third each", False,
                    _mixture((1 / 3, _const(0.002)), (1 / 3, _const(0.03)), (1 / 3, _const(0.4)))),
    "log-uniform-1e-5": ("log-uniform on [1e-5, 1e-1]", False, _log_uniform(1e-5, 1e-1)),
    "hard-cluster": ("50% Beta(2, 3), 40% log-uniform on [1e-4, 1e-3], 10% p=0", False,
                     _mixture((0.5, lambda rng, size: rng.beta(2.0, 3.0, size)), (0.4, _log_uniform(1e-4, 1e-3)),
                              (0.1, _const(0.0)))),
    "point-mass": ("every p = 0.002", False, _const(0.002)),
    "mass+uniform": ("50% p=5e-4, 50% uniform on [0, 1]", False,
                     _mixture((0.5, _const(5e-4)), (0.5, lambda rng, size: rng.uniform(0.0, 1.0, size)))),
    "four-rates": ("p in {0, 0.001, 0.02, 0.5}, a quarter each", False,
                   _mixture((0.25, _const(0.0)), (0.25, _const(0.001)), (0.25, _const(0.02)), (0.25, _const(0.5)))),
    "log-uniform-1e-6": ("log-uniform on [1e-6, 1]", False, _log_uniform(1e-6, 1.0)),
}
METHODS = ["(a) unbiased n=1024", "(b) old fit n=64", "(c) bounds n=64", "(d) adaptive, variance",
           "(d') adaptive, zeros"]


def _fit(n: np.ndarray, c: np.ndarray, opening: tuple[np.ndarray, np.ndarray] | None) -> dict:
    """The fit's new and old readings at KS, its CPU time and its goodness-of-fit warning."""
    start = time.process_time()
    fit = fit_pass_at_k(n, c, KS, FitSettings(), opening=opening)
    return {"new": (fit.values, [fit.low, fit.high]), "old": (fit.model_values, [fit.model_low, fit.model_high]),
            "cpu": time.process_time() - start, "poor_fit": any(w.startswith("poor fit") for w in fit.warnings),
            "unidentified": fit.identification is not None,
            "unconverged": any(w.startswith("the bounds' solver") for w in fit.warnings)}


def one_repetition(name: str, problems: int, seed: int, rules: tuple[str, ...]) -> dict:
    """Every method's (estimate, interval) at KS, the truth, and the fits' diagnostics."""
    rng = np.random.default_rng(seed)
    rates = POPULATIONS[name][2](rng, problems)
    outcomes = rng.random((problems, 2048)) < rates[:, None]  # sample j of problem i, whoever draws it
    out: dict = {"truth": exact_pass_at_k(rates, np.array(KS)).tolist()}
    per_problem = pass_at_k_matrix(np.full(problems, 1024), outcomes[:, :1024].sum(axis=1), KS)
    low, high = bootstrap_interval(per_problem, seed=seed)
    out[METHODS[0]] = (per_problem.mean(axis=0).tolist(), [low.tolist(), high.tolist()])
    uniform = _fit(np.full(problems, 64), outcomes[:, :64].sum(axis=1), None)
    out[METHODS[1]], out[METHODS[2]] = uniform["old"], uniform["new"]
    out["diagnostics"] = {"uniform": {k: uniform[k] for k in ("cpu", "poor_fit", "unidentified", "unconverged")}}
    for rule, method in (("variance", METHODS[3]), ("zeros", METHODS[4])):
        if rule not in rules:
            continue
        taken = np.zeros(problems, np.int64)

        def draw(extra: np.ndarray) -> np.ndarray:
            nonlocal taken
            got = np.array([outcomes[i, taken[i]:taken[i] + e].sum() for i, e in enumerate(extra)])
            # Past the stored 2,048 outcomes (the "zeros" rule can pile thousands on one problem),
            # further samples are fresh draws.
            beyond = np.maximum(taken + extra - outcomes.shape[1], 0) - np.maximum(taken - outcomes.shape[1], 0)
            taken = taken + extra
            return got + rng.binomial(beyond, rates)

        settings = AdaptiveSettings(budget=64 * problems, rule=rule)
        n, c = run_adaptive(draw, problems, settings)
        adaptive = _fit(n, c, (np.full(problems, settings.first), outcomes[:, :settings.first].sum(axis=1)))
        out[method] = adaptive["new"]
        out[method + " [model]"] = adaptive["old"]
        out["diagnostics"][rule] = {k: adaptive[k] for k in ("cpu", "poor_fit", "unidentified", "unconverged")}
        out["diagnostics"][rule]["most_samples"] = int(n.max())
    return out


def summarise(name: str, reps: list[dict]) -> list[str]:
    """One table block: the population, then a row per method."""
    description, in_family, _ = POPULATIONS[name]
    truth = np.array([r["truth"] for r in reps])
    lines = [f"\n{name}: {description} ({'in' if in_family else 'outside'} the fitted families); true pass@256 "
             f"{truth[:, 0].mean():.3f}, pass@1024 {truth[:, 1].mean():.3f} (mean over {len(reps)} draws)",
             f"  {'method':30s} {'|err|@1024':>10s} {'p95@1024':>9s} {'cover@1024':>10s} {'width@1024':>10s} "
             f"{'|err|@256':>9s} {'cover@256':>9s}"]
    methods = [m for m in METHODS for m in (m, m + " [model]") if m in reps[0]]
    for method in methods:
        est = np.array([r[method][0] for r in reps])
        bands = np.array([r[method][1] for r in reps])  # (reps, 2, ks)
        err = np.abs(est - truth)
        cover = ((bands[:, 0] <= truth + 1e-9) & (truth - 1e-9 <= bands[:, 1])).mean(axis=0)
        width = (bands[:, 1, 1] - bands[:, 0, 1]).mean()
        lines.append(f"  {method:30s} {err[:, 1].mean():10.4f} {np.quantile(err[:, 1], 0.95):9.4f} {cover[1]:10.3f} "
                     f"{width:10.4f} {err[:, 0].mean():9.4f} {cover[0]:9.3f}")
    for design, diag in reps[0]["diagnostics"].items():
        rows = [r["diagnostics"][design] for r in reps]
        most = f", most samples on one problem: median {np.median([d['most_samples'] for d in rows]):.0f}" \
            if "most_samples" in rows[0] else ""
        lines.append(f"  {design}: poor-fit warning in {np.mean([d['poor_fit'] for d in rows]):.0%}, "
                     f"'not identified' line in {np.mean([d['unidentified'] for d in rows]):.0%}, "
                     f"solver unconverged in {np.mean([d['unconverged'] for d in rows]):.0%}, "
                     f"fit {np.mean([d['cpu'] for d in rows]):.2f} CPU s{most}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="repetitions per population")
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--populations", default=",".join(POPULATIONS), help="comma-separated subset")
    parser.add_argument("--rules", default="variance", help="adaptive rules to run: variance, zeros or both")
    parser.add_argument("--quick", action="store_true", help="20 repetitions, for a smoke run")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write every repetition's numbers to this file")
    args = parser.parse_args()
    reps = 20 if args.quick else args.reps
    rules = tuple(args.rules.split(","))
    names = args.populations.split(",")
    print(f"problems={args.problems} reps={reps} ks={KS} rules={','.join(rules)} jobs={args.jobs}", flush=True)
    start, results = time.perf_counter(), {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for name in names:
            index = list(POPULATIONS).index(name)  # seeds follow the population, not its place in --populations
            seeds = [args.seed + 100_000 * index + rep for rep in range(reps)]
            results[name] = list(pool.map(one_repetition, [name] * reps, [args.problems] * reps, seeds,
                                          [rules] * reps))
            print("\n".join(summarise(name, results[name])), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle)
    print(f"\n{time.perf_counter() - start:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()
