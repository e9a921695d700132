"""What a pass@k run says about itself in `passk.json`, gathered from `samples.jsonl` in one pass."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mta_probe.estimators import PassAtK
from mta_probe.verify import extract_answer, uses_code


@dataclass
class SampleSummary:
    """What `passk.json` needs from `samples.jsonl`, gathered in one streaming pass.

    Completions are read one at a time and dropped, so finishing or resuming a run of 500
    problems x 512 samples of 8k tokens does not hold gigabytes of text.
    """

    correct: dict[str, dict[int, bool]] = field(default_factory=dict)
    samples: int = 0
    tokens: int = 0
    finish_reasons: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    by_last_number: int = 0
    with_code: int = 0


def summarize_samples(records: Iterable[dict[str, Any]], problem_ids: set[str]) -> SampleSummary:
    """One pass over the records of the given problems, each (problem, sample index) once."""
    summary = SampleSummary(correct={pid: {} for pid in problem_ids})
    for r in records:
        seen = summary.correct.get(r["problem_id"])
        if seen is None or int(r["sample_index"]) in seen:
            continue
        seen[int(r["sample_index"])] = bool(r["correct"])
        summary.samples += 1
        summary.tokens += int(r.get("tokens") or 0)
        summary.finish_reasons[r.get("finish_reason")] += 1
        if r.get("reason"):
            summary.failures[r["reason"]] += 1
        # Correct with no explicit answer (tag, box, "answer is"): a lenient verifier took the
        # last number of the text, which a rambling weak model hits by luck on small numbers.
        if r["correct"] and extract_answer(r["completion"]) is None:
            summary.by_last_number += 1
        summary.with_code += uses_code(r["completion"])
    return summary


def passk_payload(curve: PassAtK, summary: SampleSummary, *, model: str, task: Any, n: int,
                  seed: int, backend: str, chat: bool | None, limit: int | None,
                  sampling: dict[str, Any], versions: dict[str, str]) -> dict[str, Any]:
    """The content of `passk.json`: the curve, how it was sampled, and what was installed."""
    keys = [str(k) for k in curve.ks]
    return {
        "model": model,
        "task": task.name,
        "task_source": task.source,
        "verifier": task.verifier,
        "n": n,
        "num_problems": curve.num_problems,
        "num_samples": summary.samples,
        "pass_at_k": dict(zip(keys, curve.values)),
        "interval": {k: [lo, hi] for k, lo, hi in zip(keys, curve.low, curve.high)},
        "interval_method": "95% percentile bootstrap over problems, 1000 resamples",
        "chance_pass_at_k": dict(zip(keys, curve.chance)) if curve.chance else None,
        "sampling": sampling,
        "seed": seed,
        "backend": backend,
        "chat_template": chat,
        "limit": limit,
        "tokens": summary.tokens,
        "finish_reasons": dict(summary.finish_reasons),
        "verifier_failures": dict(summary.failures),
        "correct_only_by_last_number": summary.by_last_number if task.verifier.endswith("-lenient") else None,
        "code_usage": summary.with_code / summary.samples if summary.samples else None,
        "code_usage_rule": "mta_probe/verify/codeuse.py (Tables 8 and 9)",
        "versions": versions,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
