"""How wide pass@1024 stays from n = 64 when the counts carry no noise: the identification limit.

    PYTHONPATH=. python3 bench/passk_identified.py

For each in-family population of bench/passk_fit.py, the expected histogram of correct counts
at n = 64 (exact: scipy's beta-binomial, or the binomial integrated over a logit-normal) is
given to mta's bounds as if N problems had produced it with no sampling noise at all, for N =
500, 10,000 and 1,000,000. What remains of the interval at N = 1,000,000 is what 64 samples a
problem cannot tell, whatever the number of problems: the range of pass@1024 over the
distributions of success rates that share the population's first 64 moments. No interval that
holds for every population can be narrower on average.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import special, stats  # noqa: E402

from mta_probe.estimators.mixing import Mixing, extreme, npmle, rate_grid  # noqa: E402
from mta_probe.estimators.passk_bounds import pass_at_k  # noqa: E402

N_SAMPLES, K, THRESHOLD = 64, 1024, float(-np.log(0.05))
COUNTS = np.arange(N_SAMPLES + 1)


def beta(a: float, b: float, zero: float = 0.0) -> tuple[np.ndarray, float]:
    """The histogram of c at n = 64 and the exact pass@1024 of `zero` at p = 0 plus Beta(a, b)."""
    pmf = (1 - zero) * stats.betabinom.pmf(COUNTS, N_SAMPLES, a, b)
    pmf[0] += zero
    return pmf, (1 - zero) * (1 - float(np.exp(special.betaln(a, b + K) - special.betaln(a, b))))


def logit_normal(mu: float, sigma: float) -> tuple[np.ndarray, float]:
    """The same for logit p ~ Normal(mu, sigma), on 20,001 normal quantiles."""
    z = np.linspace(-10, 10, 20_001)
    weight = stats.norm.pdf(z) / stats.norm.pdf(z).sum()
    p = special.expit(mu + sigma * z)
    return stats.binom.pmf(COUNTS[:, None], N_SAMPLES, p[None, :]) @ weight, float(pass_at_k(p, K) @ weight)


POPULATIONS = {"strong Beta(0.6, 0.2)": beta(0.6, 0.2), "middling Beta(0.4, 0.6)": beta(0.4, 0.6),
               "weak Beta(0.2, 1.5)": beta(0.2, 1.5), "zero-inflated 30% + Beta(0.4, 1)": beta(0.4, 1.0, 0.3),
               "heavy-left-tail logit N(-3, 3)": logit_normal(-3.0, 3.0)}


def main() -> None:
    grid = rate_grid(K)
    log_lik = special.xlogy(COUNTS[:, None], grid) + special.xlog1py((N_SAMPLES - COUNTS)[:, None], -grid)
    lik = np.exp(log_lik - log_lik.max(axis=1, keepdims=True))
    f = pass_at_k(grid, K)
    print(f"95% bounds on pass@{K} from the noise-free histogram at n = {N_SAMPLES}, as if from N problems")
    for name, (pmf, truth) in POPULATIONS.items():
        row = f"{name:32s} truth {truth:.3f}"
        for problems in (500, 10_000, 1_000_000):
            keep = pmf * problems > 1e-6
            mix = Mixing(grid, lik[keep], problems * pmf[keep])
            weights, loglik = npmle(mix)
            high = extreme(mix, f, loglik - THRESHOLD, weights)[0]
            low = 1 - extreme(mix, 1 - f, loglik - THRESHOLD, weights)[0]
            row += f" | N={problems:>9,}: [{low:.3f}, {high:.3f}] width {high - low:.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
