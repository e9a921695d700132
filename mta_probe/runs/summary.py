"""What a pass@k run says about itself in `passk.json`, gathered from `samples.jsonl` in one pass,
and the fitted curve it holds beside the unbiased one (the `fit` block)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mta_probe.errors import BadInputError
from mta_probe.estimators import (
    FitSettings,
    PassAtK,
    PassKFit,
    chance_pass_at_k,
    fit_pass_at_k,
)
from mta_probe.verify import extract_answer, get_verifier, uses_code

# What the fit block says about k beyond n, for a reader of passk.json who has not read the docs.
FIT_NOTE = ("pass@k beyond the run's n (docs/passk.md): `interval` is the range every distribution of "
            "per-problem success rates consistent with the samples allows, whatever its shape; `pass_at_k` is "
            "the chosen model's value kept inside it, `model_interval` the model's own interval if its shape "
            "holds; at k <= n compare with the unbiased pass_at_k, which the fit never replaces")
GREEDY_SKIP = ("greedy decoding: every sample of a problem is the same completion, so pass@k = pass@1 at every k; "
               "there is no curve to fit")


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
        "correct_only_by_last_number": summary.by_last_number if get_verifier(task.verifier).last_number else None,
        "code_usage": summary.with_code / summary.samples if summary.samples else None,
        "code_usage_rule": "mta_probe/verify/codeuse.py (Tables 8 and 9)",
        "versions": versions,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def per_problem_counts(correct: dict[str, dict[int, bool]], problem_ids: Sequence[str],
                       below: int | None = None) -> tuple[list[int], list[int]]:
    """(n_i, c_i) of each problem from its sample outcomes, counting sample indices below `below`
    only (None: all of them)."""
    kept = [{j: ok for j, ok in correct[pid].items() if below is None or j < below} for pid in problem_ids]
    return [len(k) for k in kept], [sum(k.values()) for k in kept]


def answer_choices(num_choices: Iterable[int | None]) -> dict[str, int]:
    """How many problems have each number of possible answers ("open": none to guess from), so
    that the chance level can be computed at any k later (a fit reaches beyond n)."""
    counts = Counter("open" if m is None else str(m) for m in num_choices)
    return dict(sorted(counts.items()))


def chance_from_choices(choices: dict[str, int], ks: Sequence[int]) -> list[float] | None:
    """The chance-level pass@k (`chance_pass_at_k`) of a task given by `answer_choices`."""
    expanded = [None if m == "open" else int(m) for m, count in choices.items() for _ in range(count)]
    return chance_pass_at_k(expanded, ks)


def fit_ks(unbiased_ks: Sequence[int], fit_to: int) -> list[int]:
    """The k values of a fit: powers of two up to fit_to, fit_to, and the unbiased ones up to it."""
    powers = [1 << i for i in range(fit_to.bit_length()) if (1 << i) <= fit_to]
    return sorted(set(powers) | {fit_to} | {k for k in unbiased_ks if k <= fit_to})


def fit_block(num_samples: Sequence[int], num_correct: Sequence[int], unbiased_ks: Sequence[int],
              settings: FitSettings, choices: dict[str, int] | None, *, max_n: int | None = None,
              greedy: bool = False, opening: tuple[Sequence[int], Sequence[int]] | None = None
              ) -> tuple[dict[str, Any], PassKFit | None]:
    """The `fit` block of passk.json and the fit itself (None when it cannot be fitted: then the
    block holds only `skipped`, the reason: greedy decoding, n = 1, a single problem).

    Args:
        num_samples, num_correct: (n_i, c_i) of every problem; n may differ between problems.
        unbiased_ks: the k values of the unbiased curve, also reported by the fit.
        settings: the fit's settings (`fit_to` is the largest k).
        choices: `answer_choices` of the task, for the chance level at the fit's k (None: unknown).
        max_n: the fit used only each problem's samples below this index (recorded).
        greedy: the run decoded greedily (no curve: pass@k is pass@1).
        opening: an adaptive run's opening-round (n_i, c_i), where the goodness of fit is tested.
    """
    if greedy:
        return {"skipped": GREEDY_SKIP}, None
    try:
        fit = fit_pass_at_k(np.asarray(num_samples, np.int64), np.asarray(num_correct, np.int64),
                            fit_ks(unbiased_ks, settings.fit_to), settings, opening=opening)
    except BadInputError as exc:
        return {"skipped": str(exc)}, None
    block = fit.to_json()
    block.update({"fit_to": settings.fit_to, "max_n": max_n,
                  "samples": int(sum(num_samples)), "n_range": [int(min(num_samples)), int(max(num_samples))],
                  "chance_pass_at_k": None, "note": FIT_NOTE})
    chance = chance_from_choices(choices, fit.ks) if choices else None
    if chance is not None:
        block["chance_pass_at_k"] = dict(zip(block["pass_at_k"], chance))
    return block, fit
