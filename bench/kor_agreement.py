"""mta's KOR-Bench verifier against KOR's own verdicts on KOR's released model answers.

    python bench/kor_agreement.py --kor-clone PATH/KOR-Bench [--results eval/results/0923_main]

KOR-Bench publishes, in its repository, every model answer of its paper with the verdict its
`eval/eval_utils.py` gave (`eval/results/<run>/evaluation_<model>_<category>_<mode>.jsonl.json`:
idx, response, answer, is_correct). This script loads the items through mta's own `kor-*` tasks
from the same clone (rule id and idx come from `data/<category>/sample.jsonl`), scores every
released response with `verify_one("kor", ...)` against the gold KOR scored it against (the
record's `answer`: a few golds in `data/` were corrected after the runs, counted in the last
column), and prints per category:

- agreement: share of responses where mta's verdict equals KOR's;
- false accepts: share where mta says correct and KOR says wrong;
- false rejects: share where mta says wrong and KOR says correct;
- n, and both accuracies.

`--show N` prints up to N disagreements per category.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mta_probe.tasks import Problem, TaskOptions, load_task  # noqa: E402
from mta_probe.verify import verify_one  # noqa: E402

CATEGORIES = {"operation": "kor-op", "counterfactual": "kor-cf", "cipher": "kor-cipher",
              "puzzle": "kor-puzzle", "logic": "kor-logic"}


def released(results: Path) -> dict[str, list[dict]]:
    """The released records of every evaluation file, by category (from the file name, as KOR's
    eval.py reads it)."""
    records: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(results.glob("evaluation_*.json")):
        category = path.name[len("evaluation_"):].split("_")[1]
        if category in CATEGORIES:
            records[category].extend(json.loads(path.read_text()))
    return records


def agreement(clone: Path, results: Path, show: int) -> list[tuple[str, int, int, int, int, int, int]]:
    """(category, n, agreements, false accepts, false rejects, mta correct, golds changed since)
    per category."""
    rows = []
    for category, records in released(results).items():
        task = load_task(CATEGORIES[category], options=TaskOptions(data_dir=clone))
        by_idx: dict[str, Problem] = {p.meta["idx"]: p for p in task.problems}
        agree = accepts = rejects = correct = changed = 0
        for record in records:
            problem = by_idx[str(record["idx"])]
            # A few golds in data/ were corrected after the runs; KOR judged against the released one.
            changed += problem.gold != record["answer"]
            problem = dataclasses.replace(problem, gold=record["answer"])
            verdict = verify_one("kor", record["response"], problem)
            correct += verdict.correct
            if verdict.correct == bool(record["is_correct"]):
                agree += 1
                continue
            accepts += verdict.correct
            rejects += not verdict.correct
            if accepts + rejects <= show:
                print(f"{category} idx {record['idx']}: mta {verdict.correct} ({verdict.answer!r}), "
                      f"KOR {record['is_correct']}, gold {record['answer']!r}")
        rows.append((category, len(records), agree, accepts, rejects, correct, changed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kor-clone", type=Path, required=True, help="a clone of KOR-Bench/KOR-Bench")
    parser.add_argument("--results", default="eval/results/0923_main",
                        help="the released evaluation folder, relative to the clone")
    parser.add_argument("--show", type=int, default=0, help="disagreements to print per category")
    args = parser.parse_args()
    rows = agreement(args.kor_clone, args.kor_clone / args.results, args.show)
    print(f"KOR-Bench released verdicts in {args.results}\n")
    print("| category | n | agreement | false accepts | false rejects | KOR accuracy | mta accuracy "
          "| released gold differs from data/ |")
    print("|---|---|---|---|---|---|---|---|")
    for category, n, agree, accepts, rejects, correct, changed in rows:
        kor_correct = correct - accepts + rejects
        print(f"| {category} | {n} | {agree / n:.2%} | {accepts / n:.2%} | {rejects / n:.2%} "
              f"| {kor_correct / n:.2%} | {correct / n:.2%} | {changed} |")


if __name__ == "__main__":
    main()
