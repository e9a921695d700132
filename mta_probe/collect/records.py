"""A run's sample records: what one holds, which are on disk, which generations failed.

`samples.jsonl` gets one record per verified sample (problem id, sample index, completion, the
verifier's answer and verdict, tokens, finish reason, seed); `failures.jsonl` one per generation
that ended abnormally (never scored; the next run draws it again). `refuse_beyond_context`
stops a run before sampling when a prompt leaves the model no room to answer.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import read_records
from mta_probe.sampling import Completion
from mta_probe.tasks import Problem
from mta_probe.verify import Verdict

SAMPLES_FILE = "samples.jsonl"
FAILURES_FILE = "failures.jsonl"  # generations that ended abnormally: never scored, drawn again


def sample_records(problem: Problem, scored: list[tuple[int, Completion]], verdicts: list[Verdict],
                   seed: int) -> list[dict[str, Any]]:
    """The `samples.jsonl` records of one problem's scored (index, completion) pairs."""
    return [{"problem_id": problem.id, "sample_index": i, "completion": c.text,
             "answer": v.answer, "correct": bool(v.correct), "tokens": c.tokens,
             "finish_reason": c.finish_reason, "reason": v.reason, "seed": seed}
            for (i, c), v in zip(scored, verdicts)]


def failure_records(problem: Problem, failed: list[tuple[int, Completion]], seed: int) -> list[dict[str, Any]]:
    """The `failures.jsonl` records of one problem's failed generations, stamped with the time."""
    return [{"problem_id": problem.id, "sample_index": i, "finish_reason": c.finish_reason,
             "tokens": c.tokens, "completion": c.text, "seed": seed, "at": time.time()} for i, c in failed]


def refuse_beyond_context(sampler: Any, problems: list[Problem], max_tokens: int = 1) -> None:
    """Stop before sampling when some prompt leaves the model no room for `max_tokens` new
    tokens in its context window, naming them (`beyond_context`).

    Raises:
        BadInputError: the ids of those problems, their length and the window (the caller closes
            the sampler).
    """
    from mta_probe.sampling import beyond_context

    long = beyond_context(sampler, [p.prompt for p in problems], max_tokens)
    if long:
        ids = ", ".join(f"{problems[i].id} ({length} tokens)" for i, length, _ in long[:5])
        more = f" and {len(long) - 5} more" if len(long) > 5 else ""
        raise BadInputError(f"{len(long)} prompts leave no room for {max_tokens} new tokens in the model's "
                            f"context window of {long[0][2]} tokens: {ids}{more}; drop them from the task, "
                            "lower --max-tokens, or raise the window (vLLM: --max-model-len)")


def sampled_outcomes(path: Path) -> dict[str, dict[int, bool]]:
    """Which sample indices of which problems `samples.jsonl` already holds, and whether each
    was correct (streamed; the first record of an index counts)."""
    have: dict[str, dict[int, bool]] = {}
    for r in read_records(path):
        have.setdefault(r["problem_id"], {}).setdefault(int(r["sample_index"]), bool(r["correct"]))
    return have


def failed_generations(out: Path, scored: dict[str, dict[int, bool]]) -> Counter:
    """Finish reasons of the failed generations in `failures.jsonl` that no scored sample
    replaced since (a later run drew them again)."""
    reasons: dict[tuple[str, int], str] = {}
    for r in read_records(out / FAILURES_FILE):
        key = (r["problem_id"], int(r["sample_index"]))
        if key[1] not in scored.get(key[0], {}):
            reasons[key] = r["finish_reason"]
    return Counter(reasons.values())
