"""mta's answer rules before and after a change, on the samples of real runs: what each accepts.

    python bench/answer_rules.py RUN_DIR [RUN_DIR ...] [--before REV] [--show N]

Each RUN_DIR is a finished pass@k run (its `run.json` names the task, `samples.jsonl` holds the
completions). Every completion is judged twice by the task's own verifier, through
`verify_one` (so the rules of `mta_probe.verify.rules` apply): once with `extract_answer` as it
is in this checkout, once with `extract_answer` of `mta_probe/verify/answers.py` at git revision
`--before` (read with `git show`; the verifier modules' reference to it is swapped for that
pass only). Printed per run: samples, completions in which each found an answer at all (right
or wrong), accepted before and after, accepted only before, only after, and two counts to check
by hand:

- "accepted, other answer stated": an accepted completion whose answer region states, after
  some other answer phrase, a value that is not the gold (a hedge, or a correction the rule read
  wrong); a human may not read it as a right answer;
- "accepted, no phrase": accepted with no tag, box or answer phrase in the region (only the
  last-number fallback of a lenient verifier can do that).

`--show N` prints up to N completions of each changed or flagged kind, to read them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from mta_probe.tasks import Problem, TaskOptions, load_task  # noqa: E402
from mta_probe.verify import answers, verify_one  # noqa: E402
from mta_probe.verify.rules import answer_region  # noqa: E402
from mta_probe.verify.text import normalize_answer  # noqa: E402

# The verifier modules that bind `extract_answer` by name (mta's own rules; the paper's
# benchmarks with official scorers do not use it).
READERS = ("mta_probe.verify.answers", "mta_probe.verify.text", "mta_probe.verify.gym",
           "mta_probe.verify.competition_math")


def rules_at(revision: str) -> Callable[..., str | None]:
    """`extract_answer` as `mta_probe/verify/answers.py` defines it at `revision`."""
    source = subprocess.run(["git", "show", f"{revision}:mta_probe/verify/answers.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"answers_at_{revision}")
    exec(compile(source, f"answers.py@{revision}", "exec"), module.__dict__)
    return module.extract_answer


@contextlib.contextmanager
def reading_with(extract: Callable[..., str | None]) -> Iterator[None]:
    """Every verifier module reads answers with `extract` inside the block."""
    saved = {name: sys.modules[name].extract_answer for name in READERS}
    try:
        for name in READERS:
            sys.modules[name].extract_answer = extract
        yield
    finally:
        for name, original in saved.items():
            sys.modules[name].extract_answer = original


def same_answer(value: str, gold: str) -> bool:
    return normalize_answer(value) == normalize_answer(gold)


def load_run(run: Path) -> tuple[str, dict[str, Problem], list[dict]]:
    identity = json.loads((run / "run.json").read_text())
    options = identity.get("task_options") or {}
    source = identity.get("task_source", "")
    name = source if source.endswith(".jsonl") else identity["task"]  # a JSONL task: its file
    task = load_task(name, limit=identity.get("limit"),
                     options=TaskOptions(data_dir=options.get("data_dir"), gym=options.get("gym") or {},
                                         verifier=options.get("verifier")))
    verifier = identity["verifier"]  # what the run was scored with: a lenient run names the lenient twin
    rows = [json.loads(line) for line in (run / "samples.jsonl").open() if line.strip()]
    return verifier, {p.id: p for p in task.problems}, rows


def compare(run: Path, before: Callable[..., str | None], show: int) -> dict[str, int]:
    verifier, problems, rows = load_run(run)
    counts = dict.fromkeys(("samples", "answer read before", "answer read after", "accepted before", "accepted after", "only before",
                            "only after", "accepted, other answer stated", "accepted, no phrase"), 0)
    shown: dict[str, list[str]] = {}
    for row in rows:
        problem = problems[str(row["problem_id"])]
        with reading_with(before):
            old = verify_one(verifier, row["completion"], problem)
        new = verify_one(verifier, row["completion"], problem)
        region = answer_region(row["completion"], problem.prompt, problem.statement)
        counts["samples"] += 1
        counts["answer read before"] += old.answer is not None
        counts["answer read after"] += new.answer is not None
        counts["accepted before"] += old.correct
        counts["accepted after"] += new.correct
        kinds = []
        if old.correct and not new.correct:
            kinds.append("only before")
        if new.correct and not old.correct:
            kinds.append("only after")
        if new.correct:
            gold = str(problem.meta.get("gym_entry", {}).get("answer", problem.gold))
            stated = [value for value in answers.phrased_answers(region) if value]
            if any(not same_answer(value, gold) for value in stated):
                kinds.append("accepted, other answer stated")
            if not (answers.ANSWER_TAG.search(region) or answers.last_boxed(region) is not None
                    or answers.ANSWER_LEAD.search(region)):
                kinds.append("accepted, no phrase")
        for kind in kinds:
            counts[kind] += 1
            shown.setdefault(kind, []).append(
                f"  {row['problem_id']} gold={problem.gold!r} before={old.answer!r} "
                f"after={new.answer!r}\n    {region.strip()[:400]!r}")
    print(f"{run.name} ({verifier})")
    for kind, count in counts.items():
        print(f"  {kind}: {count}")
    for kind, lines in shown.items():
        if show:
            print(f" {kind}:")
            print("\n".join(lines[:show]))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--before", default="HEAD", help="git revision of the old answer rules")
    parser.add_argument("--show", type=int, default=0, help="completions shown per kind")
    args = parser.parse_args()
    before = rules_at(args.before)
    for run in args.runs:
        compare(run, before, args.show)


if __name__ == "__main__":
    main()
