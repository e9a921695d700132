"""What a run bought: the model scored before and after training on the evaluation tasks.

Both evaluations follow the run's evaluation protocol (mta_train/evaluation.py: the paper's by
default: training prompt, first `<answer>`, temperature 1.0, top_p 0.7, avg@k with the paper's
k per benchmark), the same protocol the in-training validation uses, so the local trainer's
last validation and gains.json's "after" are the same number for the same weights. Each
evaluation is kept under the run's `eval/` folder as `samples.jsonl` and a `passk.json` that
`mta report` reads like a probe run (it names its protocol); a finished evaluation is read back,
not redone, when the run is resumed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mta_probe.estimators import default_ks, estimate
from mta_probe.runs import RecordWriter, prepare_run_dir, write_json_atomic
from mta_train.evaluation import (
    EvalSet,
    Scored,
    avg_at_k,
    eval_sampling,
    eval_sets,
    get_protocol,
    score_set,
)
from mta_train.progress import ProgressCallback, reporter
from mta_train.settings import TrainSettings

GAINS_FILE = "gains.json"
EVAL_SAMPLES = "samples.jsonl"
EVAL_RESULT = "passk.json"


@dataclass(frozen=True)
class Evaluation:
    """avg@k of one model on one task, and the folder that holds its samples."""

    task: str
    accuracy: float
    num_problems: int
    k: int
    run_dir: Path


def evaluate(model: str, label: str, settings: TrainSettings, run_dir: Path, *, chat: bool,
             on_status: Callable[[str], None] | None = None,
             on_progress: ProgressCallback | None = None) -> dict[str, Evaluation]:
    """avg@k of `model` on every evaluation task of the run, under the run's protocol.

    Args:
        model: what mta_probe can load (an alias, or the trained model's folder).
        label: "before" or "after": names the folders under `run_dir/eval/`.
        settings: eval tasks, protocol, k, limit, max tokens, seed.
        run_dir: the train run.
        chat: render prompts through the chat template: the INITIAL model's setting, so a saved
            model (whose folder may carry a template its base model was not tuned on) is
            prompted as in training.
        on_status: one-line status messages.
        on_progress: problems scored so far, per task ("before: TASK", "after: TASK").

    Returns:
        One Evaluation per task.
    """
    from mta_probe.sampling import open_sampler, prepare_model, resolve_model
    from mta_probe.verify import VerifierPool

    say = on_status or (lambda _message: None)
    ref = resolve_model(model)
    results: dict[str, Evaluation] = {}
    pending = []
    for eval_set in eval_sets(settings):
        out = run_dir / "eval" / f"{label}__{_slug(eval_set.task)}"
        prepare_run_dir(out, _identity(settings, eval_set, str(ref.path), chat))
        done = _finished(out)
        if done is not None:
            results[eval_set.task] = Evaluation(eval_set.task, done, len(eval_set.problems), eval_set.k, out)
        else:
            pending.append((eval_set, out))
    if not pending:
        return results
    prepare_model(ref, on_status=say)
    sampler = open_sampler(settings.backend_options.get("eval_backend"), ref, chat=chat)
    try:
        with VerifierPool(workers=settings.verify_workers) as pool:
            for eval_set, out in pending:
                say(f"evaluating {label} on {eval_set.task}: {_extent(eval_set, settings)}, "
                    f"avg@{eval_set.k}, {settings.eval_protocol} protocol")
                report = reporter(on_progress, f"{label}: {Path(eval_set.task).name}",
                                  len(eval_set.problems), "problems")
                report(0)
                scored = score_set(sampler, pool, eval_set, settings, on_done=report)
                accuracy = _write(out, scored, settings, eval_set, ref, chat)
                results[eval_set.task] = Evaluation(eval_set.task, accuracy, len(scored), eval_set.k, out)
    finally:
        sampler.close()
    return results


def _extent(eval_set: EvalSet, settings: TrainSettings) -> str:
    """Which problems are scored, as the screen says it ("the first 20 problems (--eval-limit)")."""
    count = len(eval_set.problems)
    if count < eval_set.available:
        return f"the first {count} of {eval_set.available} problems (--eval-limit {settings.eval_count})"
    return f"all {count} problems"


def _identity(settings: TrainSettings, eval_set: EvalSet, model_path: str, chat: bool) -> dict[str, Any]:
    return {"kind": "eval", "model_path": model_path, "task": eval_set.task,
            "protocol": settings.eval_protocol, "k": eval_set.k, "chat": chat,
            "sampling": asdict(eval_sampling(settings)), "seed": settings.dapo.seed,
            "limit": settings.eval_count}


def _finished(out: Path) -> float | None:
    path = out / EVAL_RESULT
    if not path.is_file():
        return None
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["avg_at_k"])
    except (ValueError, KeyError, TypeError):
        return None  # damaged: evaluate again


def _write(out: Path, scored: list[Scored], settings: TrainSettings, eval_set: EvalSet,
           ref: Any, chat: bool) -> float:
    """samples.jsonl and passk.json (the fields `mta report` reads from a probe run)."""
    (out / EVAL_SAMPLES).unlink(missing_ok=True)  # an unfinished evaluation is redone whole
    with RecordWriter(out / EVAL_SAMPLES) as writer:
        for s in scored:
            writer.append({"problem_id": s.problem.id, "sample_index": i, "completion": c.text,
                           "answer": v.answer, "correct": bool(v.correct), "tokens": c.tokens,
                           "finish_reason": c.finish_reason, "reason": v.reason, "seed": s.seed}
                          for i, (c, v) in enumerate(zip(s.completions, s.verdicts, strict=True)))
    accuracy = avg_at_k(scored)
    curve = estimate([len(s.verdicts) for s in scored], [sum(v.correct for v in s.verdicts) for s in scored],
                     default_ks(eval_set.k), num_choices=[s.problem.num_choices for s in scored],
                     seed=settings.dapo.seed)
    keys = [str(k) for k in curve.ks]
    protocol = get_protocol(settings.eval_protocol)
    write_json_atomic(out / EVAL_RESULT, {
        "model": ref.name, "model_path": str(ref.path), "task": eval_set.task,
        "verifier": eval_set.verifier, "n": eval_set.k, "num_problems": curve.num_problems,
        "avg_at_k": accuracy, "metric": f"avg@{eval_set.k}", "protocol": protocol.name,
        "protocol_source": protocol.source, "chat_template": chat,
        "pass_at_k": dict(zip(keys, curve.values)),
        "interval": {k: [lo, hi] for k, lo, hi in zip(keys, curve.low, curve.high)},
        "chance_pass_at_k": dict(zip(keys, curve.chance)) if curve.chance else None,
        "sampling": asdict(eval_sampling(settings)), "seed": settings.dapo.seed,
        "limit": settings.eval_count})
    return accuracy


def write_gains(run_dir: Path, settings: TrainSettings, model_name: str,
                before: dict[str, Evaluation], after: dict[str, Evaluation]) -> dict[str, Any]:
    """Write gains.json (format in docs/train.md) and return its payload."""
    protocol = get_protocol(settings.eval_protocol)
    tasks = {
        task: {"before": before[task].accuracy, "after": after[task].accuracy,
               "gain": after[task].accuracy - before[task].accuracy,
               "metric": f"avg@{before[task].k}", "k": before[task].k,
               "num_problems": before[task].num_problems,
               "before_run": str(before[task].run_dir), "after_run": str(after[task].run_dir)}
        for task in before
    }
    sampling = eval_sampling(settings)
    payload = {"model": model_name, "technique": settings.technique, "variant": settings.variant,
               "task": settings.task, "protocol": protocol.name,
               "protocol_settings": {"prompt": protocol.prompt, "answer": protocol.answer,
                                     "temperature": sampling.temperature, "top_p": sampling.top_p,
                                     "max_tokens": sampling.max_tokens, "source": protocol.source},
               "tasks": tasks}
    write_json_atomic(run_dir / GAINS_FILE, payload)
    return payload


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "task"
