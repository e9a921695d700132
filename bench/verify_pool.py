"""math-verify through mta's `VerifierPool` against a sequential in-process loop, side by side.

    python bench/verify_pool.py --items 400 --timeout 2

Items are (completion, gold) pairs of the kind a math probe scores: a few sentences of reasoning
ending in `\\boxed{...}`, with golds that are integers, fractions, multiples of square roots and
of pi, and predictions that are the gold written another way (0.75 for \\frac{3}{4}, \\sqrt{12}
for 2\\sqrt{3}, \\dfrac, a/b) or a wrong value (about a third of them).

1. Scaling: the same items through `verify_one("math", ...)` in a loop, then through
   `VerifierPool(workers=w)` for w = 1 and 2 (more with --workers). Pool start-up is timed
   apart from scoring. Verdicts must equal the loop's.
2. Pathological inputs: the same items with a few answers that make math-verify (sympy) run
   until its own 5 s SIGALRM budget (power towers, 10^{10^{10}}, a factorial of 10^8, a
   fraction nested 300 deep) mixed in. The pool kills each after --timeout seconds; the run
   must end near (normal pool time + a timeout per pathological item per worker), and every
   normal item's verdict must be unchanged. The sequential loop over the same mix is timed too.

Only os.cpu_count() cores exist to scale over; a concurrent job on the machine shows in the
absolute times and the scaling ratio.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mta_probe.tasks import Problem
from mta_probe.verify import (
    Verdict,  # noqa: E402
    VerifierPool,  # noqa: E402
    verify_one,  # noqa: E402
)

PATHOLOGICAL = [
    r"2^{2^{2^{2^{2^{2}}}}}",
    r"10^{10^{10}}",
    r"(10^{8})!",
    r"\frac{1}{1+" * 300 + "1" + "}" * 600,
]
REASONING = ["We simplify the expression step by step.", "Substituting back gives the value.",
             "Checking the boundary cases, none of them change the result.",
             "Multiplying both sides by the denominator, we get a linear equation."]


def gold_and_forms(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """One gold, some equivalent ways to write it, and some wrong answers."""
    kind = rng.randrange(4)
    if kind == 0:
        value = rng.randint(-50, 999)
        return str(value), [str(value), f"{value}.0", f"\\frac{{{2 * value}}}{{2}}"], [str(value + 1)]
    if kind == 1:
        den = rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 12])
        num = rng.choice([k for k in range(1, 3 * den) if math.gcd(k, den) == 1])
        forms = [f"\\frac{{{2 * num}}}{{{2 * den}}}", f"\\dfrac{{{num}}}{{{den}}}", f"{num}/{den}"]
        if den in (2, 4, 5, 8):
            forms.append(str(num / den))
        return f"\\frac{{{num}}}{{{den}}}", forms, [f"\\frac{{{den}}}{{{num + den}}}"]
    if kind == 2:
        k, m = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
        return f"{k}\\sqrt{{{m}}}", [f"\\sqrt{{{k * k * m}}}", f"{k} \\sqrt {m}"], [f"{m}\\sqrt{{{k}}}"]
    den = rng.choice([2, 3, 4, 6])
    return (f"\\frac{{\\pi}}{{{den}}}", [f"\\pi/{den}", f"\\frac{{2\\pi}}{{{2 * den}}}"],
            [f"\\frac{{\\pi}}{{{den + 1}}}"])


def build_items(count: int, seed: int) -> list[tuple[str, Problem]]:
    """`count` (completion, problem) items; about a third have a wrong answer."""
    rng = random.Random(seed)
    items = []
    for index in range(count):
        gold, right, wrong = gold_and_forms(rng)
        answer = rng.choice(wrong) if rng.random() < 0.33 else rng.choice(right)
        text = " ".join(rng.sample(REASONING, 2)) + f" So the answer is $\\boxed{{{answer}}}$."
        items.append((text, Problem(id=f"p{index}", prompt="", statement="", gold=gold)))
    return items


def timed_loop(items: list[tuple[str, Problem]],
               warmup: list[tuple[str, Problem]]) -> tuple[list[Verdict], float]:
    """Verdicts and seconds of the sequential in-process loop, after scoring `warmup` untimed."""
    for text, problem in warmup:
        verify_one("math", text, problem)
    started = time.perf_counter()
    verdicts = [verify_one("math", text, problem) for text, problem in items]
    return verdicts, time.perf_counter() - started


def timed_pool(items: list[tuple[str, Problem]], warmup: list[tuple[str, Problem]], workers: int,
               timeout: float) -> tuple[list[Verdict], float, float]:
    """Verdicts, start-up seconds and scoring seconds of a pool of `workers`.

    The pool first scores `warmup` untimed, as the loop does: sympy fills caches on first use,
    and a probe's workers live for the whole run.
    """
    started = time.perf_counter()
    with VerifierPool(workers=workers, timeout=timeout) as pool:
        startup = time.perf_counter() - started
        pool.verify("math", warmup)
        ready = time.perf_counter()
        verdicts = pool.verify("math", items)
        done = time.perf_counter()
    return verdicts, startup, done - ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=float, default=2.0, help="pool timeout per item, seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    items = build_items(args.items, args.seed)
    # Different answers from the timed ones, so no timed item hits a cache they filled.
    warmup = build_items(max(args.items // 8, 8), args.seed + 1)
    print(f"os.cpu_count()={os.cpu_count()} load average={os.getloadavg()[0]:.1f} items={len(items)}")
    expected, loop_seconds = timed_loop(items, warmup)
    print(f"sequential verify_one loop: {loop_seconds:6.2f} s, "
          f"{sum(v.correct for v in expected)} correct")
    pool_seconds = {}
    for workers in args.workers:
        verdicts, startup, seconds = timed_pool(items, warmup, workers, args.timeout)
        pool_seconds[workers] = seconds
        print(f"VerifierPool(workers={workers}): {seconds:6.2f} s scoring (+{startup:.2f} s start-up); "
              f"{loop_seconds / seconds:.2f}x the loop; verdicts equal: {verdicts == expected}")

    # Pathological answers, spread through the batch.
    mixed = list(items)
    spots = sorted(random.Random(args.seed).sample(range(len(items)), len(PATHOLOGICAL)))
    for offset, (spot, answer) in enumerate(zip(spots, PATHOLOGICAL)):
        problem = Problem(id=f"bad{offset}", prompt="", statement="", gold="\\frac{1}{2}")
        mixed.insert(spot + offset, (f"Hence $\\boxed{{{answer}}}$.", problem))
    bad = {index for index, (_, p) in enumerate(mixed) if p.id.startswith("bad")}
    workers = max(args.workers)
    verdicts, _, seconds = timed_pool(mixed, warmup, workers, args.timeout)
    normal = [v for index, v in enumerate(verdicts) if index not in bad]
    reasons = sorted({str(verdicts[index].reason) for index in bad})
    bound = pool_seconds[workers] + math.ceil(len(bad) / workers) * args.timeout
    print(f"with {len(bad)} pathological answers, VerifierPool(workers={workers}, timeout={args.timeout}): "
          f"{seconds:6.2f} s (normal {pool_seconds[workers]:.2f} s + ceil({len(bad)}/{workers}) x "
          f"{args.timeout} s timeout = {bound:.2f} s); normal verdicts unchanged: {normal == expected}; "
          f"pathological reasons: {reasons}")
    _, mixed_loop = timed_loop(mixed, [])
    print(f"sequential loop over the same mix: {mixed_loop:6.2f} s "
          f"(math-verify's own SIGALRM budget is 5 s per parse/verify call)")


if __name__ == "__main__":
    main()
