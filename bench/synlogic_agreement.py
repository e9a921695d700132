"""mta's "synlogic" verifier against SynLogic's own verifiers, on items its own generators make.

    python bench/synlogic_agreement.py --clone PATH [--per-task 20] [--seed 0] [--words FILE]

For every task type with a generator in the clone (bench/synlogic_items.py): generate items
until `--per-task` of them are valid, i.e. SynLogic's own verifier accepts the item's reference
solution written the way its prompt asks for it (the verifier is the class the clone's
task2verifier.py maps the task to, called directly in this process on the clone's untouched code;
SynLogic's calcudoko_verifier.py filters generated data the same way). On the valid items, mta
scores through VerifierPool ("synlogic", `<think>..</think><answer>\n{solution}\n</answer>`):

- reference: the item's solution; done when mta accepts all of them, per task;
- swapped: the next item's solution for each item (a wrong answer of the right form), scored by
  SynLogic's verifier directly and by mta; the counts must agree;
- empty: `<answer></answer>` through mta (never correct), and the empty answer given to SynLogic's
  verifier directly (where it passes, mta's empty-answer rule is what refuses it);
- verdicts differing: over those 3 x valid verdicts, where mta and SynLogic's verifier disagree.

Prints a markdown table (docs/verifiers.md, "## SynLogic") and, with --json, writes the rows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synlogic_items  # noqa: E402

from mta_probe.tasks import synlogic  # noqa: E402
from mta_probe.verify import VerifierPool  # noqa: E402

# task2verifier.py has no game_of_24 key: it names that verifier's rows "mathador".
OFFICIAL_KEY = {"game_of_24": "mathador"}
COLUMNS = ("task", "valid / generated", "scored", "reference: mta", "swapped: SynLogic", "swapped: mta",
           "empty: SynLogic", "empty: mta", "verdicts differing")


def official_verifiers(clone: Path) -> dict[str, Any]:
    """The clone's own task -> Verifier class table (task2verifier.py), imported as it is."""
    synlogic_items.on_path(clone)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its folder
        import task2verifier
    return task2verifier.verifier_classes


def official(verifier: Any, data_class: Any, item: str, answer: str) -> bool:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            score = verifier.verify(data_class.from_json_str(item), answer)
        except Exception:  # noqa: BLE001 - an exception is the official verifier's "wrong"
            return False
    return score is not None and float(score) >= 1.0


def valid_items(task: str, clone: Path, classes: dict[str, Any], count: int, seed: int,
                words: list[str] | None) -> tuple[list[Any], int, int]:
    """`count` generated items whose stored solution SynLogic's verifier accepts (as SynLogic
    filters its data); how many items were generated to find them (at most 50 batches of
    `count`; a generator may return fewer than asked) and how many of those were valid."""
    from base.data import Data

    verifier = classes[OFFICIAL_KEY.get(task, task)]()
    kept: list[Any] = []
    generated = 0
    for batch in range(50):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            items = synlogic_items.generate(clone, task, count, seed + batch, words)
        generated += len(items)
        kept += [d for d in items if official(verifier, Data, synlogic_items.game_data_str(d),
                                              synlogic_items.RENDER[task](d))]
        if len(kept) >= count or not items:
            break
    return kept[:count], generated, len(kept)


def completion(answer: str) -> str:
    return f"<think>\nreasoning\n</think>\n<answer>\n{answer}\n</answer>"


def measure(task: str, items: list[Any], clone: Path, classes: dict[str, Any],
            pool: VerifierPool) -> dict[str, Any]:
    """One row of the table for the generated `items` of `task`."""
    from base.data import Data

    stored = [synlogic_items.game_data_str(d) for d in items]
    answers = [synlogic_items.RENDER[task](d) for d in items]
    swapped = answers[1:] + answers[:1]
    verifier = classes[OFFICIAL_KEY.get(task, task)]()
    problems = [synlogic.synlogic_problem({"data_source": task, "prompt": [{"content": d.question}],
                                           "extra_info": {"game_data_str": s}}, i, clone)
                for i, (d, s) in enumerate(zip(items, stored))]
    batch = ([(completion(a), p) for a, p in zip(answers, problems)]
             + [(completion(a), p) for a, p in zip(swapped, problems)]
             + [("<answer></answer>", p) for p in problems])
    verdicts = pool.verify("synlogic", batch)
    n = len(items)
    mta = [v.correct for v in verdicts]
    theirs = ([True] * n  # valid items: SynLogic accepts every reference, by construction
              + [official(verifier, Data, s, a) for s, a in zip(stored, swapped)]
              + [official(verifier, Data, s, "") for s in stored])
    reasons = sorted({v.reason for v in verdicts[:n] if not v.correct and v.reason})
    return {"scored": n, "reference: mta": sum(mta[:n]),
            "swapped: SynLogic": sum(theirs[n:2 * n]), "swapped: mta": sum(mta[n:2 * n]),
            "empty: SynLogic": sum(theirs[2 * n:]), "empty: mta": sum(mta[2 * n:]),
            "verdicts differing": sum(a != b for a, b in zip(mta, theirs)), "mta reasons": reasons}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clone", type=Path, required=True, help="a clone of MiniMax-AI/SynLogic")
    parser.add_argument("--per-task", type=int, default=20, help="items generated per task type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", type=Path, help="a word list (one per line) for word_sorting "
                        "and word_sorting_mistake when the clone lacks their words_alpha.txt")
    parser.add_argument("--tasks", help="comma-separated task types (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="VerifierPool workers for mta")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    clone = args.clone.resolve()
    words = args.words.read_text().split() if args.words else None
    classes = official_verifiers(clone)
    tasks = args.tasks.split(",") if args.tasks else list(synlogic_items.TASK_TYPES)
    rows = []
    with VerifierPool(workers=args.workers, timeout=30.0) as pool:
        for task in tasks:
            start = time.monotonic()
            try:
                items, generated, valid = valid_items(task, clone, classes, args.per_task, args.seed,
                                                      words)
            except Exception as error:  # noqa: BLE001 - a generator that cannot run here
                rows.append({"task": task, "generator failed": f"{type(error).__name__}: {error}"})
                print(f"{task}: generator failed: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            try:
                rows.append({"task": task, "valid / generated": f"{valid} / {generated}",
                             **measure(task, items, clone, classes, pool)})
            except Exception as error:  # noqa: BLE001 - e.g. a solution this bench cannot write
                rows.append({"task": task, "generator failed": f"scoring: {type(error).__name__}: {error}"})
            print(f"{task}: {rows[-1]} ({time.monotonic() - start:.1f}s)", file=sys.stderr)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        if "generator failed" in row:
            lines.append(f"| {row['task']} | generator failed: {row['generator failed']} |")
        else:
            lines.append("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
