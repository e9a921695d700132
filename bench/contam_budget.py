"""Contamination probe on real statements: does the generation budget hold every remainder, and
how many remainders are shared boilerplate?

    MTA_BENCHMARKS=PATH/benchmarks python bench/contam_budget.py [--model smollm2-135m]

For every problem of MATH-500, AIME 2024, AMC 2023 and the five KOR-Bench categories (local files
in $MTA_BENCHMARKS), cut at 0.4, 0.6 and 0.8 as `mta probe contam` cuts, this counts the tokens
a model that recites the statement must generate (the remainder with its leading space, in the
model's own tokenizer; the larger of that and the full statement's tokens minus the prefix's, in
case the cut changes the tokenization) and prints the share of items whose need exceeds

- the former budget, min(512, 2 x remaining words + 16), and
- mta's budget, `mta_probe.contam.generation_budget` (tokens + a tenth + 16, no cap);

and the items `mta_probe.contam.shared_remainders` leaves out (a remainder two or more problems
share), with the most shared one. No model is run: only its tokenizer is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mta_probe.contam import (  # noqa: E402
    generation_budget,
    remainder_counter,
    remainder_key,
    shared_remainders,
    truncate,
)
from mta_probe.sampling import prepare_model, resolve_model  # noqa: E402
from mta_probe.tasks import TaskOptions, load_task  # noqa: E402

TASKS = ("math500", "aime24", "amc23", "kor-op", "kor-cf", "kor-cipher", "kor-puzzle", "kor-logic")
FORMER_CAP = 512  # the former default of --max-tokens


def measure(name: str, data: Path, count) -> tuple[int, int, int, int, dict[str, set[str]]]:
    """(items, cut by the former budget, cut by mta's, left out as shared, the shared remainders)."""
    folder = data / "kor-bench" if name.startswith("kor") else data
    records, former, ours = [], 0, 0
    for problem in load_task(name, options=TaskOptions(data_dir=folder)).problems:
        whole = count(problem.statement)
        for portion in (0.4, 0.6, 0.8):
            split = truncate(problem.statement, portion)
            if split is None:
                continue
            prefix, reference = split
            rest = count(problem.statement[len(prefix):])
            need = max(rest, whole - count(prefix))
            former += need > min(FORMER_CAP, 2 * len(reference.split()) + 16)
            ours += need > generation_budget(rest, None)
            records.append({"problem_id": problem.id, "portion": portion, "reference": reference})
    shared = shared_remainders(records)
    left_out = sum(1 for r in records if remainder_key(r) in shared)
    return len(records), former, ours, left_out, shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    args = parser.parse_args()
    counter = remainder_counter(prepare_model(resolve_model(args.model)))
    data = Path(os.environ.get("MTA_BENCHMARKS", ROOT.parent / "shared" / "benchmarks"))
    print(f"counting {counter.unit} of {args.model}")
    print(f"{'task':11} {'items':>5} {'former cuts':>11} {'mta cuts':>8} {'shared, left out':>16} "
          f"{'distinct':>8}  most shared remainder")
    for name in args.tasks:
        items, former, ours, left_out, shared = measure(name, data, counter.count)
        key, ids = max(shared.items(), key=lambda kv: len(kv[1]), default=("", set()))
        print(f"{name:11} {items:5d} {100 * former / items:10.1f}% {100 * ours / items:7.1f}% "
              f"{left_out:9d} ({100 * left_out / items:3.0f}%) {len(shared):8d}  {len(ids)} x {key[:50]!r}")


if __name__ == "__main__":
    main()
