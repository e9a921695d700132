"""mta's "bbh" and "bbeh" verifiers against the official scorers, per subset and per task.

    MTA_BENCHMARKS=../shared/benchmarks MTA_BBEH_CLONE=PATH/bbeh [MTA_BBH_CLONE=PATH/BIG-Bench-Hard] \\
        python bench/bigbench_agreement.py

1. BBH forms: every one of the 6,511 real items, its answer written in the forms of
   tests/bigbench_forms.py (right answer: CoT "So the answer is (A).", direct, `<answer>` tag,
   with option text, bare letter, other case, ...; wrong answer, no answer, hedges), judged by
   BBH's paper metric, by SynLogic's BBH verifiers (from $MTA_BENCHMARKS/synlogic or
   MTA_SYNLOGIC_CLONE) and by mta. Per subset: of the forms an official scorer accepts, how many
   mta accepts; of those both reject, how many mta rejects; and each family where mta parts ways.
2. BBH, real model outputs (with MTA_BBH_CLONE, a clone of suzgunmirac/BIG-Bench-Hard): the
   published Codex (code-davinci-002) CoT and direct outputs, each judged by the three; the
   paper metric's accuracy per subset against the published `*_eval_metrics.jsonl`.
3. BBEH forms (with MTA_BBEH_CLONE, a clone of google-deepmind/bbeh): every one of the 4,520
   targets in the variants and wrappers of tests/bigbench_forms.py, judged by evaluate.py's
   `evaluate_correctness` and by mta; per task, agreement on what evaluate.py accepts and on what
   it rejects, and the share the old "normalized" verifier accepted.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from bigbench_forms import (
    MTA_ACCEPTS,
    MTA_REJECTS,
    bbeh_forms,
    bbh_forms,
    bbh_paper_metric,
    env_clone,
    load_bbeh_evaluate,
    load_synlogic_bbh,
    synlogic_bbh_verdict,
)

from mta_probe.tasks import TaskOptions, load_task
from mta_probe.verify import verify_one
from mta_probe.verify.bigbench import LETTER_GOLD


def bbh_form_table(problems: list, synlogic: Path) -> None:
    """Part 1: the form table over the real BBH items."""
    verifiers, data_class = load_synlogic_bbh(synlogic)
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    departures: collections.Counter = collections.Counter()
    for problem in problems:
        row = rows[problem.meta["subset"]]
        for family, text, _ in bbh_forms(problem):
            paper = bbh_paper_metric(text, problem.gold)
            synlogic_ok = synlogic_bbh_verdict(verifiers, data_class, text, problem)
            mta = verify_one("bbh", text, problem).correct
            official = paper or synlogic_ok
            hedge = family in MTA_REJECTS
            row["A"] += official and not hedge
            row["A mta"] += official and not hedge and mta
            row["A normalized"] += (official and not hedge
                                    and verify_one("normalized", text, problem).correct)
            row["R"] += not official
            row["R mta"] += not official and not mta
            row["H"] += official and hedge
            row["H mta"] += official and hedge and mta
            if mta != official:
                if not LETTER_GOLD.match(problem.gold) and "(A)" in problem.statement:
                    family = "text target of a choice item"
                departures[(family, "mta accepts" if mta else "mta rejects",
                            "paper" if paper else ("synlogic" if synlogic_ok else "neither"))] += 1
    print("\n## BBH answer forms (real items x forms)\n")
    print("| subset | right-answer forms an official scorer accepts | mta accepts | `normalized` "
          "accepted | forms both reject | mta rejects | hedges SynLogic accepts | mta accepts |")
    print("|---|---|---|---|---|---|---|---|")
    total: collections.Counter = collections.Counter()
    for subset, row in [*rows.items(), ("all", None)]:
        row = row if row is not None else total
        total += row if subset != "all" else collections.Counter()
        print(f"| {subset} | {row['A']} | {row['A mta']} | {row['A normalized']} | {row['R']} | "
              f"{row['R mta']} | {row['H']} | {row['H mta']} |")
    print("\nWhere mta parts ways (family, mta's verdict, which official accepted):")
    for (family, verdict, who), count in sorted(departures.items()):
        expected = MTA_ACCEPTS | {"text target of a choice item"} if verdict == "mta accepts" \
            else MTA_REJECTS
        print(f"- {family}: {verdict} ({who} accepts): {count}"
              f"{'' if family in expected else '  UNEXPECTED'}")


def codex_outputs(problems: dict, clone: Path, synlogic: Path) -> None:
    """Part 2: the published Codex outputs, judged by the three scorers."""
    verifiers, data_class = load_synlogic_bbh(synlogic)
    print("\n## BBH, published Codex outputs\n")
    print("| prompt | outputs | paper metric = published accuracy | mta = paper metric | "
          "SynLogic = paper metric | SynLogic-only accepts (mta rejects) |")
    print("|---|---|---|---|---|---|")
    for mode in ("cot", "direct"):
        counts: collections.Counter = collections.Counter()
        for path in sorted((clone / "code-davinci-002-outputs" / f"code-davinci-002-{mode}").glob(
                "*_few_shot_template_0-255000.json")):
            subset = path.name.split("_few_shot")[0]
            outputs = json.loads(path.read_text())["outputs"]
            published = json.loads(path.with_name(path.stem + "_eval_metrics.jsonl").read_text()
                                   .splitlines()[0])["accuracy"]
            paper = [bbh_paper_metric(o["prediction"], o["target"]) for o in outputs]
            counts["subsets"] += 1
            counts["reproduced"] += abs(100 * sum(paper) / len(paper) - published) < 1e-9
            for index, (output, paper_ok) in enumerate(zip(outputs, paper)):
                problem = problems[f"{subset}/{index}"]
                mta = verify_one("bbh", output["prediction"], problem).correct
                synlogic_ok = synlogic_bbh_verdict(verifiers, data_class, output["prediction"], problem)
                counts["outputs"] += 1
                counts["mta agrees"] += mta == paper_ok
                counts["synlogic agrees"] += synlogic_ok == paper_ok
                counts["synlogic only"] += synlogic_ok and not paper_ok and not mta
        print(f"| {mode} | {counts['outputs']} | {counts['reproduced']}/{counts['subsets']} subsets | "
              f"{counts['mta agrees']}/{counts['outputs']} | {counts['synlogic agrees']}/"
              f"{counts['outputs']} | {counts['synlogic only']} |")


def bbeh_form_table(problems: list, clone: Path) -> None:
    """Part 3: every BBEH target in every form, evaluate.py against mta and the old verifier."""
    evaluate = load_bbeh_evaluate(clone)
    by_task: dict[str, list] = collections.defaultdict(list)
    for problem in problems:
        by_task[problem.meta["task"]].append(problem)
    print("\n## BBEH answer forms (real targets x forms)\n")
    print("| task | evaluate.py accepts | mta accepts of those | `normalized` accepted of those | "
          "evaluate.py rejects | mta rejects of those |")
    print("|---|---|---|---|---|---|")
    total: collections.Counter = collections.Counter()
    for task, items in by_task.items():
        row: collections.Counter = collections.Counter()
        for number, problem in enumerate(items):
            other = next((p.gold for p in items[number + 1:] + items[:number]
                          if evaluate.preprocess_reference(p.gold)
                          != evaluate.preprocess_reference(problem.gold)), problem.gold + "x")
            for _, text, official_text in bbeh_forms(problem.gold, other):
                official = evaluate.evaluate_correctness(official_text, problem.gold)
                mta = verify_one("bbeh", text, problem).correct
                row["accepts"] += official
                row["mta accepts"] += official and mta
                row["normalized accepts"] += official and verify_one("normalized", text, problem).correct
                row["rejects"] += not official
                row["mta rejects"] += (not official) and not mta
        total += row
        print(f"| {task} | {row['accepts']} | {row['mta accepts']} | {row['normalized accepts']} | "
              f"{row['rejects']} | {row['mta rejects']} |")
    print(f"| all | {total['accepts']} | {total['mta accepts']} | {total['normalized accepts']} "
          f"({100 * total['normalized accepts'] / total['accepts']:.1f}%) | {total['rejects']} | "
          f"{total['mta rejects']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", type=Path, default=env_clone("MTA_BENCHMARKS")
                        or ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--synlogic", type=Path, default=env_clone("MTA_SYNLOGIC_CLONE"))
    args = parser.parse_args()
    synlogic = args.synlogic or args.benchmarks / "synlogic"
    started = time.perf_counter()
    bbh = load_task("bbh", options=TaskOptions(data_dir=args.benchmarks / "bbh")).problems
    bbh_form_table(bbh, synlogic)
    if env_clone("MTA_BBH_CLONE"):
        codex_outputs({p.id: p for p in bbh}, env_clone("MTA_BBH_CLONE"), synlogic)
    if env_clone("MTA_BBEH_CLONE"):
        bbeh = load_task("bbeh", options=TaskOptions(data_dir=args.benchmarks / "bbeh")).problems
        bbeh_form_table(bbeh, env_clone("MTA_BBEH_CLONE"))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
