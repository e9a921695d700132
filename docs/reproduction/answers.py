"""docs/reproduction.md: per train run, the evaluation samples before and after that are correct
and that give no answer the verifier reads. Usage: python docs/reproduction/answers.py RUN..."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def counts(run: Path, phase: str) -> str:
    (samples,) = run.glob(f"eval/{phase}__*/samples.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines() if line.strip()]
    correct = sum(bool(r["correct"]) for r in rows)
    unread = sum(r.get("reason") == "no answer found" for r in rows)
    return f"{correct}/{len(rows)} | {unread}"


if __name__ == "__main__":
    print("| run | correct before | no answer before | correct after | no answer after |")
    print("|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        run = Path(arg)
        print(f"| {run.parent.name}/{run.name} | {counts(run, 'before')} | {counts(run, 'after')} |")
