"""mta's "math" verifier against MATH's own `grade_answer`, on the real MATH-500 / AIME / AMC golds.

    MTA_PRM800K_CLONE=PATH/prm800k MTA_BENCHMARKS=PATH/benchmarks python bench/math_grader.py

For every gold of math500, aime24 and amc23 (read from the local files in $MTA_BENCHMARKS), the
realistic answer forms of `tests/mathforms.py` are graded by PRM800K's `grade_answer(form, gold)`
(the official grader, imported from the clone) and by mta's verifier on a completion that states
the form (`\\boxed{form}`, or "The answer is $form$."). Printed, per benchmark and wrapper:

- recall: of the forms the official grader accepts, the share mta accepts (the target is >= 99%);
- false accepts: of the wrong answers near each gold (`mathforms.wrong_answers`) that the
  official grader rejects, the share mta accepts (the target is ~0);
- mta-only: equivalent forms mta accepts and the official grader rejects (math-verify's extra
  reach; not an error).

A last row per benchmark scores the published solutions themselves (MATH-500's and AIME's
`solution` fields, written by people): the official grader judges the solution's last
`\\boxed{}` against the `answer` field, mta judges the whole solution text.

`--show N` lists up to N disagreements of each kind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
from mathforms import answer_forms, completions, official_grader, wrong_answers  # noqa: E402

from mta_probe.tasks import TaskOptions, load_task  # noqa: E402
from mta_probe.verify import verify_one  # noqa: E402


def grader_folder() -> Path:
    root = Path(os.environ["MTA_PRM800K_CLONE"])
    return root / "prm800k" if (root / "prm800k" / "grading").is_dir() else root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["math500", "aime24", "amc23"])
    parser.add_argument("--show", type=int, default=0, help="list up to N disagreements of each kind")
    args = parser.parse_args()
    grade = official_grader(grader_folder())
    data = Path(os.environ.get("MTA_BENCHMARKS", ROOT.parent / "shared" / "benchmarks"))
    print(f"{'task':8} {'wrapper':7} {'official accepts':>16} {'mta recall':>10} "
          f"{'wrong':>6} {'false accepts':>13} {'mta-only':>8}")
    for name in args.tasks:
        problems = load_task(name, options=TaskOptions(data_dir=data)).problems
        started = time.perf_counter()
        for wrapper in ("boxed", "phrase"):
            report(name, wrapper, problems, grade, args.show)
        solutions(name, data, problems, grade, args.show)
        print(f"  ({time.perf_counter() - started:.0f} s)")


def report(name: str, wrapper: str, problems: list, grade, show: int) -> None:
    accepted = missed = wrong = false = extra = 0
    misses, falses = [], []
    for problem in problems:
        for form in answer_forms(problem.gold):
            official = grade(form, problem.gold)
            ours = verify_one("math", completions(form)[wrapper], problem).correct
            accepted += official
            missed += official and not ours
            extra += ours and not official
            if official and not ours:
                misses.append((problem.gold, form))
        for form in wrong_answers(problem.gold):
            if grade(form, problem.gold):
                continue
            wrong += 1
            if verify_one("math", completions(form)[wrapper], problem).correct:
                false += 1
                falses.append((problem.gold, form))
    recall = 1 - missed / accepted if accepted else float("nan")
    print(f"{name:8} {wrapper:7} {accepted:16d} {100 * recall:9.2f}% {wrong:6d} "
          f"{100 * false / max(wrong, 1):12.2f}% {extra:8d}")
    for gold, form in misses[:show]:
        print(f"    missed: gold {gold!r}  form {form!r}")
    for gold, form in falses[:show]:
        print(f"    false accept: gold {gold!r}  answer {form!r}")


def solutions(name: str, data: Path, problems: list, grade, show: int) -> None:
    """The published solutions as completions (rows without a solution are skipped)."""
    from mta_probe.tasks import read_jsonl_objects
    from mta_probe.verify.answers import last_boxed

    texts = [row.get("solution") for _, row in read_jsonl_objects(data / name / "test.jsonl")]
    accepted = missed = extra = 0
    misses = []
    for problem, text in zip(problems, texts):
        boxed = last_boxed(text) if text else None
        if boxed is None:
            continue
        official = grade(boxed, problem.gold)
        ours = verify_one("math", text, problem).correct
        accepted += official
        missed += official and not ours
        extra += ours and not official
        if official != ours:
            misses.append((problem.gold, boxed, official))
    if accepted:
        print(f"{name:8} {'solution':8} {accepted:15d} {100 * (1 - missed / accepted):9.2f}% "
              f"{'':6} {'':13} {extra:8d}")
    for gold, boxed, official in misses[:show]:
        print(f"    {'missed' if official else 'mta-only'}: gold {gold!r}  boxed {boxed!r}")


if __name__ == "__main__":
    main()
