"""What the probes send to experiment trackers when asked (`--logger`): the curve, the verdict.

A pass@k run logs, once its `passk.json` is written: the curve over k with its 95% interval (and
the chance level where the task has one) as `passk` (TensorBoard: scalars `passk/pass@k`,
`passk/ci_low`, ... with k as the step; wandb: a line chart and its table), the run's totals as
the summary `passk/...`, and one sample of each problem as the table `passk/samples`.
`mta probe align` logs its verdict (category, alignment score, stability, ...) as the summary
`align/...`. The trackers name the run after its directory, as train runs (mta_probe/runs/trackers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from mta_probe.runs import open_trackers

SAMPLE_ROWS = 100  # problems shown in the samples table: enough to read, small enough to upload
COMPLETION_CHARS = 400  # of each completion in that table
SAMPLE_COLUMNS = ["problem_id", "correct_of_n", "answer", "correct", "completion"]
VERDICT_KEYS = ("category", "alignment_score", "k_used", "strongly_aligned", "contaminated",
                "contamination_exact_match", "contamination_rouge_l", "stability")


def curve_rows(payload: dict[str, Any]) -> list[dict[str, float]]:
    """passk.json's curve, one row per k: pass@k, its interval and, where known, the chance level."""
    chance = payload.get("chance_pass_at_k") or {}
    rows = []
    for key in sorted(payload["pass_at_k"], key=int):
        low, high = payload["interval"][key]
        row = {"k": int(key), "pass@k": payload["pass_at_k"][key], "ci_low": low, "ci_high": high}
        if key in chance:
            row["chance"] = chance[key]
        rows.append(row)
    return rows


def sample_rows(records: Iterable[dict[str, Any]], correct: dict[str, dict[int, bool]]) -> list[list[Any]]:
    """The first sample of each problem (at most SAMPLE_ROWS problems), with the problem's
    correct samples out of its n."""
    rows: dict[str, list[Any]] = {}
    for record in records:
        pid = record["problem_id"]
        if pid in rows or pid not in correct:
            continue
        outcomes = correct[pid]
        rows[pid] = [pid, f"{sum(outcomes.values())}/{len(outcomes)}", record.get("answer"),
                     bool(record["correct"]), record["completion"][:COMPLETION_CHARS]]
        if len(rows) == SAMPLE_ROWS:
            break
    return list(rows.values())


def log_passk(loggers: Sequence[str], run_dir: Path, payload: dict[str, Any], samples: list[list[Any]],
              config: dict[str, Any], on_status: Callable[[str], None] | None = None) -> None:
    """Send a finished pass@k run to the trackers `loggers`."""
    rows = curve_rows(payload)
    totals = {"model": payload["model"], "task": payload["task"], "n": payload["n"],
              "num_problems": payload["num_problems"], "num_samples": payload["num_samples"],
              **{f"pass@{row['k']}": row["pass@k"] for row in rows}}
    with open_trackers(loggers, run_dir, config=config, on_status=on_status) as trackers:
        trackers.curve("passk", "k", rows)
        trackers.summary("passk", totals)
        trackers.table("passk/samples", SAMPLE_COLUMNS, samples)


def log_alignment(loggers: Sequence[str], out: Path, payload: dict[str, Any],
                  on_status: Callable[[str], None] | None = None) -> None:
    """Send `align.json`'s verdict to the trackers `loggers`, named after `out` (nothing when
    there are none)."""
    if not loggers:
        return
    verdict = {key: payload[key] for key in VERDICT_KEYS}
    verdict["tasks"] = ", ".join(payload["tasks"])
    with open_trackers(loggers, out, config={"model": payload["model"], "rule": payload["rule"]},
                       on_status=on_status) as trackers:
        trackers.summary("align", verdict)
