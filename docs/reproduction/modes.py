"""docs/reproduction.md, "The prediction": per task, greedy accuracy, sampled accuracy (avg@n at
temperature 1.0) and the share of problems whose mode answer is right, from two `mta probe
passk` runs on the same problems: one greedy (-n 1 --temperature 0), one sampled (-n 32).

The mode answer is read two ways: the greedy answer, and the most frequent answer among the
sampled ones the verifier reads (answers compared lower-cased, spaces collapsed, trailing
punctuation dropped; every right answer counts as one answer). A tie for most frequent is
counted apart ("tied"), neither right nor wrong.

Usage: python docs/reproduction/modes.py [--per-problem] GREEDY_RUN SAMPLED_RUN [GREEDY SAMPLED ...]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

RIGHT = "(right)"


def samples(run: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for line in (run / "samples.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows.setdefault(row["problem_id"], []).append(row)
    return rows


def key(row: dict) -> str:
    if row["correct"]:
        return RIGHT
    return " ".join(row["answer"].lower().split()).rstrip(".,;:!?")


def mode(rows: list[dict]) -> tuple[str, int, bool]:
    """The most frequent readable answer, its count, and whether it is tied for first."""
    counts = Counter(key(r) for r in rows if r["answer"] is not None)
    if not counts:
        return "(no answer)", 0, False
    (top, count), *rest = counts.most_common()
    return top, count, bool(rest) and rest[0][1] == count


def summary(greedy_run: Path, sampled_run: Path, per_problem: bool) -> str:
    greedy, sampled = samples(greedy_run), samples(sampled_run)
    assert greedy.keys() == sampled.keys(), "the two runs must score the same problems"
    lines, right_greedy, right_mode, tied, accs, unread = [], 0, 0, 0, [], 0
    for pid, rows in sampled.items():
        g = greedy[pid][0]
        top, count, tie = mode(rows)
        acc = sum(r["correct"] for r in rows) / len(rows)
        accs.append(acc)
        right_greedy += bool(g["correct"])
        right_mode += top == RIGHT and not tie
        tied += tie
        unread += sum(r["answer"] is None for r in rows)
        lines.append(f"| {pid} | {g['answer']} ({'right' if g['correct'] else 'wrong'}) | {acc:.3f} | "
                     f"{top}{' (tied)' if tie else ''} x{count} | {sum(r['answer'] is None for r in rows)} |")
    n, total = len(sampled), sum(len(r) for r in sampled.values())
    name = greedy_run.name
    head = (f"| {name} | {n} | {right_greedy / n:.1%} | {sum(accs) / n:.1%} | {right_greedy}/{n} | "
            f"{right_mode}/{n} (tied {tied}) | {unread / total:.1%} |")
    if not per_problem:
        return head
    table = ["| problem | greedy answer | avg@n | most frequent sampled answer | unreadable |",
             "|---|---|---|---|---|"]
    return "\n".join([head, "", *table, *lines, ""])


if __name__ == "__main__":
    args = sys.argv[1:]
    per_problem = "--per-problem" in args
    runs = [Path(a) for a in args if a != "--per-problem"]
    print("| greedy run | problems | greedy accuracy | avg@n (T = 1.0) | mode right: greedy | "
          "mode right: most frequent sampled | sampled answers unreadable |")
    print("|---|---|---|---|---|---|---|")
    for first in range(0, len(runs), 2):
        print(summary(runs[first], runs[first + 1], per_problem))
