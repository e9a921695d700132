"""Scoring completions produced elsewhere (`mta probe passk --from-samples FILE.jsonl`).

The file holds one JSON object per line with at least `problem_id` and `completion` (other
fields are ignored); each problem may have any number of completions, and pass@k is estimated
up to the smallest such number. The task's own verifier scores them, in killable workers, and
the run directory gets the same `samples.jsonl`, `passk.json` and `passk.png` as a sampled run.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from mta_probe.collect import SAMPLES_FILE, sampled_outcomes
from mta_probe.errors import BadInputError
from mta_probe.estimators import check_ks, default_ks
from mta_probe.passk import finish_passk
from mta_probe.passk_settings import PassKResult, PassKSettings, check_verification, load_scored_task
from mta_probe.runs import RecordWriter, check_loggers, default_run_dir, prepare_run_dir
from mta_probe.tasks import Problem, read_jsonl_objects


def read_completions(path: Path) -> list[dict[str, Any]]:
    """Read and check a completions file; every problem is one line's `problem_id`.

    Raises:
        BadInputError: unreadable, not UTF-8, empty, a line that is not a JSON object, or one
            without `problem_id` / `completion` (the message names the line).
    """
    rows = []
    for number, row in read_jsonl_objects(path):
        if not isinstance(row.get("completion"), str) or "problem_id" not in row:
            raise BadInputError(f"{path}, line {number}: needs the fields problem_id and completion (a string)")
        rows.append(row)
    if not rows:
        raise BadInputError(f"{path} holds no completions")
    return rows


def score_completions(settings: PassKSettings, path: Path) -> PassKResult:
    """Verify the completions of `path` with the task's verifier and estimate pass@k.

    The model name recorded is `settings.model` as given (it is not loaded).

    Raises:
        BadInputError: settings that sample (an adaptive budget), a bad file, or problem ids
            that are not the task's.
    """
    from mta_probe.verify import VerifierPool

    if settings.adaptive is not None:
        raise BadInputError("an adaptive budget samples in rounds; completions made elsewhere are scored as they are "
                            "(--budget with --from-samples)")
    check_verification(settings)
    check_loggers(settings.loggers, local=True)
    rows = read_completions(path)
    task = load_scored_task(settings)
    by_id: dict[str, Problem] = {p.id: p for p in task.problems}
    unknown = sorted({str(r["problem_id"]) for r in rows} - by_id.keys())
    if unknown:
        raise BadInputError(f"{path}: {len(unknown)} problem ids are not in task {task.name}, e.g. {unknown[0]!r}")
    grouped: dict[str, list[str]] = {}
    for r in rows:
        grouped.setdefault(str(r["problem_id"]), []).append(r["completion"])
    missing = [p.id for p in task.problems if p.id not in grouped]
    if missing:
        raise BadInputError(f"{path}: no completions for {len(missing)} problems of {task.name}, e.g. {missing[0]!r}"
                            " (use --limit to score a prefix of the task)")
    n = min(len(v) for v in grouped.values())
    ks = check_ks(settings.ks or default_ks(n), n)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    out = settings.out or default_run_dir("passk", f"scored-{settings.model}", task.name, n, settings.seed,
                                          source=f"{path.resolve()}|{task.source}")
    prepare_run_dir(out, {"kind": "passk-scored", "model": settings.model, "task": task.name,
                          "task_source": task.source, "verifier": task.verifier,
                          "verify_timeout": settings.verify_timeout,
                          "samples_sha256": digest, "limit": settings.limit})
    writer = RecordWriter(out / SAMPLES_FILE)
    have = sampled_outcomes(out / SAMPLES_FILE)
    with writer, VerifierPool(workers=settings.verify_workers, timeout=settings.verify_timeout) as pool:
        for pid, completions in grouped.items():
            todo = [i for i in range(len(completions)) if i not in have.get(pid, {})]
            verdicts = pool.verify(task.verifier, [(completions[i], by_id[pid]) for i in todo])
            writer.append({"problem_id": pid, "sample_index": i, "completion": completions[i],
                           "answer": v.answer, "correct": bool(v.correct), "tokens": None,
                           "finish_reason": None, "reason": v.reason} for i, v in zip(todo, verdicts))
    return finish_passk(out, replace(settings, n=n), task, settings.model, "external", ks)
