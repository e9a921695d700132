"""The pass@k probe: sample n completions per problem, verify them, estimate the pass@k curve.

Phases of `probe_passk`, in order:
1. validate the numbers (n, k) before anything slow is loaded;
2. load the task and resolve the model;
3. open the run directory (or check that it holds this very run) and read what it already holds;
4. for every problem still missing samples: sample its n completions with a seed derived from the
   run seed and the problem id alone (`draw`: in order from one engine, as they finish from
   data-parallel replicas), verify them in killable worker processes while sampling goes on,
   append the missing records;
5. estimate pass@k with bootstrap intervals from the records and write `passk.json`, `passk.png`.

Because a problem's completions depend only on (prompt, n, settings, its seed), a run that is
killed and started again regenerates exactly what it lost and appends only those records: it
ends with the same pass@k as an uninterrupted run on the same backend and machine.

A generation that failed (finish reason abort, error, repetition, ...: the engine already drew
it again) is never scored: it goes to `failures.jsonl`, stays missing from `samples.jsonl`,
and the next run of the same command draws it again. Greedy decoding draws one completion
per problem: n is forced to 1, and the probe says so.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.estimators import PassAtK, check_ks, default_ks, estimate
from mta_probe.runs import (
    ProbeProgress,
    RecordWriter,
    default_run_dir,
    package_versions,
    prepare_run_dir,
    read_records,
    write_json_atomic,
)
from mta_probe.runs.summary import passk_payload, summarize_samples
from mta_probe.sampling import (
    SEED_SCHEME,
    Completion,
    SamplingSettings,
    is_greedy,
    problem_seed,
)
from mta_probe.tasks import LoadedTask, Problem, TaskOptions, load_task
from mta_probe.verify import Verdict

SAMPLES_FILE = "samples.jsonl"
FAILURES_FILE = "failures.jsonl"  # generations that ended abnormally: never scored, drawn again
# Engine options that place work or bound memory without changing what is drawn: left out of
# run.json's identity, so a run that ran out of memory resumes with a smaller setting. (A
# max_model_len too small for a prompt fails that request; it never changes a completion.)
PLACEMENT_OPTIONS = frozenset({"data_parallel_size", "nodes", "ray_address", "problems_per_batch",
                               "gpu_memory_utilization", "max_model_len", "problems_per_call", "threads"})
PASSK_FILE = "passk.json"
PLOT_FILE = "passk.png"


@dataclass(frozen=True)
class PassKSettings:
    """Everything that defines a pass@k probe.

    Attributes:
        model: an alias (`qwen`, `llama`, `mistral`, `smollm2-135m`), a hub ID or a local path.
        task: a TASKS key, `gym:NAME`, or a JSONL file.
        n: samples per problem. The paper estimates pass@k up to k = 512 (Figure 10); 16 is what
            2 CPU cores sample in minutes on the embedded model.
        ks: the k values; None means powers of two up to n (Figure 2's axis).
        sampling: temperature 1.0 and top-p 1.0 as in Section 3; max_tokens per completion;
            stop strings (None: the continuation markers for raw prompts, none for chat; the
            resolved list is what the run identity records).
        seed: the run seed; each problem samples with a seed derived from it and the problem id.
        backend: "hf", "vllm", "openai", ...; None picks vLLM with a GPU, else hf.
        chat: apply the chat template; None follows the model (instruct models yes, base no).
        limit: keep the first N problems of the task.
        task_options: data paths, reasoning-gym generator options, a JSONL file's verifier.
        out: the run directory; None means `$MTA_HOME/runs/<model>__<task>__n<n>__s<seed>`.
        lenient: score unmarked answers by the last number in the text ("math-lenient",
            "gym-lenient"); off by default because a rambling weak model hits small numbers by luck.
        verify_workers: verifier processes (0 runs them in-process: no timeout protection).
        verify_timeout: seconds one verification may take before its worker is killed.
        engine_options: passed to the backend (e.g. `base_url` for openai, `tensor_parallel_size`).
    """

    model: str = "smollm2-135m"
    task: str = "arith-quick"
    n: int = 16
    ks: tuple[int, ...] | None = None
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    seed: int = 0
    backend: str | None = None
    chat: bool | None = None
    limit: int | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)
    out: Path | None = None
    lenient: bool = False
    verify_workers: int = 2
    verify_timeout: float = 10.0
    engine_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PassKResult:
    """A finished probe: where it lives and what it measured."""

    run_dir: Path
    curve: PassAtK
    payload: dict[str, Any]


def check_verification(s: PassKSettings) -> None:
    """Refuse verifier settings that cannot work, before anything slow starts."""
    if s.verify_workers < 0:
        raise BadInputError(f"--verify-workers must be 0 or more, got {s.verify_workers}")
    if not s.verify_timeout > 0:  # also refuses nan
        raise BadInputError(f"--verify-timeout must be positive, got {s.verify_timeout}")


def load_scored_task(s: PassKSettings) -> LoadedTask:
    """The task, with the lenient variant of its verifier when asked for and one exists."""
    from mta_probe.verify import VERIFIERS

    task = load_task(s.task, limit=s.limit, options=s.task_options)
    if s.lenient:
        if f"{task.verifier}-lenient" not in VERIFIERS:
            raise BadInputError(f"--lenient applies to the math and gym verifiers, not {task.verifier!r}")
        task = replace(task, verifier=f"{task.verifier}-lenient")
    return task


def _identity(s: PassKSettings, task: LoadedTask, model_name: str, model_path: str,
              backend: str) -> dict[str, Any]:
    # Where replicas run does not change what a problem draws (its seed travels with it), so a
    # run started on 8 GPUs may resume on 4.
    engine = {k: v for k, v in s.engine_options.items() if k not in PLACEMENT_OPTIONS}
    return {"kind": "passk", "model": model_name, "model_path": model_path, "task": task.name,
            "task_source": task.source, "verifier": task.verifier, "n": s.n,
            "verify_timeout": s.verify_timeout, "engine_options": _jsonable(engine), "seed": s.seed,
            "seed_scheme": SEED_SCHEME,
            "backend": backend, "chat": s.chat, "limit": s.limit,
            "sampling": _jsonable(asdict(s.sampling)), "task_options": _jsonable(asdict(s.task_options))}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _records_for(problem: Problem, scored: list[tuple[int, Completion]], verdicts: list[Verdict],
                 seed: int) -> list[dict[str, Any]]:
    return [{"problem_id": problem.id, "sample_index": i, "completion": c.text,
             "answer": v.answer, "correct": bool(v.correct), "tokens": c.tokens,
             "finish_reason": c.finish_reason, "reason": v.reason, "seed": seed}
            for (i, c), v in zip(scored, verdicts)]


def _failures_for(problem: Problem, failed: list[tuple[int, Completion]], seed: int) -> list[dict[str, Any]]:
    return [{"problem_id": problem.id, "sample_index": i, "finish_reason": c.finish_reason,
             "tokens": c.tokens, "completion": c.text, "seed": seed, "at": time.time()} for i, c in failed]


def forced_n(s: PassKSettings, say: Callable[[str], None]) -> PassKSettings:
    """The settings with n = 1 when decoding is greedy (every sample would be the same, and
    vLLM refuses n > 1 at temperature 0), saying so."""
    if not is_greedy(s.sampling) or s.n == 1:
        return s
    say(f"greedy decoding gives one completion per problem: n forced from {s.n} to 1")
    return replace(s, n=1)


def sampled_indices(path: Path) -> dict[str, set[int]]:
    """Which sample indices of which problems `samples.jsonl` already holds (streamed)."""
    have: dict[str, set[int]] = {}
    for r in read_records(path):
        have.setdefault(r["problem_id"], set()).add(int(r["sample_index"]))
    return have


def probe_passk(settings: PassKSettings, *,
                progress: Callable[[ProbeProgress], None] | None = None,
                on_status: Callable[[str], None] | None = None) -> PassKResult:
    """Run (or resume) a pass@k probe and write its run directory.

    Args:
        settings: what to probe; see PassKSettings.
        progress: called after each problem is sampled, for a progress display.
        on_status: called with one-line status messages (model conversion, resuming, ...).

    Returns:
        The run directory, the pass@k curve and the `passk.json` payload.

    Raises:
        MtaError: bad input, unknown model or task, a run directory holding another run, a
            backend that cannot run here.
    """
    from mta_probe.sampling import (
        check_engine_options,
        resolve_backend,
        resolve_model,
        resolve_stop,
    )

    say = on_status or (lambda _msg: None)
    settings = forced_n(settings, say)
    ks = check_ks(settings.ks or default_ks(max(settings.n, 1)), settings.n)
    check_verification(settings)
    ref = resolve_model(settings.model)
    chat = ref.chat if settings.chat is None else settings.chat
    settings = replace(settings, sampling=resolve_stop(settings.sampling, chat))
    task = load_scored_task(settings)
    backend = resolve_backend(settings.backend)
    check_engine_options(backend, settings.engine_options)
    out = settings.out or default_run_dir("passk", ref.name, task.name, settings.n, settings.seed,
                                          source=f"{ref.path}|{task.source}")
    resumed = prepare_run_dir(out, _identity(settings, task, ref.name, ref.path, backend))
    with RecordWriter(out / SAMPLES_FILE) as writer:  # cuts a partial last line first
        have = sampled_indices(out / SAMPLES_FILE)
        if resumed:
            say(f"resuming {out}: {sum(map(len, have.values()))} samples already on disk")
        _sample_missing(settings, task, ref, backend, have, writer, progress, say)
    return finish_passk(out, settings, task, ref.name, backend, ks)


def _sample_missing(s: PassKSettings, task: LoadedTask, ref: Any, backend: str,
                    have: dict[str, set[int]], writer: RecordWriter,
                    progress: Callable[[ProbeProgress], None] | None,
                    say: Callable[[str], None]) -> None:
    from mta_probe.sampling import check_seed_streams, draw, open_sampler, prepare_model
    from mta_probe.verify import VerifierPool

    todo = [p for p in task.problems if len(have.get(p.id, set())) < s.n]
    total = s.n * len(task.problems)
    done = total - s.n * len(todo) + sum(len(have.get(p.id, set())) for p in todo)
    if not todo:
        return
    seeds = [problem_seed(s.seed, p.id) for p in todo]
    check_seed_streams(seeds, s.n)
    if backend != "openai":  # a server holds its own model; the others load (or fetch) it here first
        prepare_model(ref, on_status=say)
    sampler = open_sampler(backend, ref, chat=s.chat, **s.engine_options)
    refuse_beyond_context(sampler, todo)
    start, tokens, resumed = time.monotonic(), 0, done
    if progress:
        progress(ProbeProgress(done, total, 0, 0.0, resumed))
    # Verification runs on one thread, in arrival order, while sampling goes on; at most one
    # call's worth of problems waits for it, so a kill loses little and memory stays bounded.
    backlog = max(1, getattr(sampler, "prompts_per_call", 1))
    pending: deque[Future[Any]] = deque()
    try:
        with VerifierPool(workers=s.verify_workers, timeout=s.verify_timeout) as pool, \
                RecordWriter(writer.path.with_name(FAILURES_FILE)) as failures, \
                ThreadPoolExecutor(max_workers=1) as verifier_thread:
            def verify_and_write(p: Problem, scored: list[tuple[int, Completion]],
                                 failed: list[tuple[int, Completion]], seed: int) -> None:
                verdicts = pool.verify(task.verifier, [(c.text, p) for _, c in scored])
                writer.append(_records_for(p, scored, verdicts, seed))
                failures.append(_failures_for(p, failed, seed))

            for index, comps in draw(sampler, [p.prompt for p in todo], s.n, s.sampling, seeds):
                p = todo[index]
                missing = [(i, c) for i, c in enumerate(comps) if i not in have.get(p.id, set())]
                scored, failed = [m for m in missing if m[1].scored], [m for m in missing if not m[1].scored]
                pending.append(verifier_thread.submit(verify_and_write, p, scored, failed, seeds[index]))
                while len(pending) > backlog:
                    pending.popleft().result()
                done += len(missing)
                tokens += sum(c.tokens for _, c in missing)
                if progress:
                    progress(ProbeProgress(done, total, tokens, time.monotonic() - start, resumed))
            while pending:
                pending.popleft().result()
    finally:
        sampler.close()


def failed_generations(out: Path, scored: dict[str, dict[int, bool]]) -> Counter:
    """Finish reasons of the failed generations in `failures.jsonl` that no scored sample
    replaced since (a later run drew them again)."""
    reasons: dict[tuple[str, int], str] = {}
    for r in read_records(out / FAILURES_FILE):
        key = (r["problem_id"], int(r["sample_index"]))
        if key[1] not in scored.get(key[0], {}):
            reasons[key] = r["finish_reason"]
    return Counter(reasons.values())


def _counts(counter: Counter) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(counter.items()))


def refuse_beyond_context(sampler: Any, problems: list[Problem]) -> None:
    """Stop before sampling when some prompt leaves the model no room to generate, naming them.

    Raises:
        BadInputError: the ids of those problems, their length and the window (the sampler is
            closed first).
    """
    from mta_probe.sampling import beyond_context

    long = beyond_context(sampler, [p.prompt for p in problems])
    if long:
        sampler.close()
        ids = ", ".join(f"{problems[i].id} ({length} tokens)" for i, length, _ in long[:5])
        more = f" and {len(long) - 5} more" if len(long) > 5 else ""
        raise BadInputError(f"{len(long)} prompts fill the model's context window of {long[0][2]} tokens, "
                            f"leaving no room for an answer: {ids}{more}; drop them from the task, or raise "
                            "the window (vLLM: --max-model-len)")


def finish_passk(out: Path, s: PassKSettings, task: LoadedTask, model_name: str, backend: str,
                 ks: list[int]) -> PassKResult:
    """Estimate pass@k from `samples.jsonl` and write `passk.json` and `passk.png`."""
    from mta_probe.runs.plot import plot_passk

    summary = summarize_samples(read_records(out / SAMPLES_FILE), {p.id for p in task.problems})
    counts_n = [len(summary.correct[p.id]) for p in task.problems]
    counts_c = [sum(summary.correct[p.id].values()) for p in task.problems]
    failed = failed_generations(out, summary.correct)
    if min(counts_n) < max(ks):
        short = sum(1 for n in counts_n if n < max(ks))
        why = (f"; {sum(failed.values())} generations failed ({_counts(failed)}, see {FAILURES_FILE}): "
               "run the same command again to draw them again") if failed else ""
        raise BadInputError(f"{short} problems have fewer than k={max(ks)} samples in {out}{why}")
    curve = estimate(counts_n, counts_c, ks, num_choices=[p.num_choices for p in task.problems],
                     seed=s.seed)
    payload = passk_payload(curve, summary, model=model_name, task=task, n=s.n, seed=s.seed,
                            backend=backend, chat=s.chat, limit=s.limit,
                            sampling=asdict(s.sampling), versions=package_versions())
    # Problems that kept >= k of their n samples are estimated from what they kept (each
    # problem's estimator is unbiased for its own n); the failures are reported, not hidden.
    payload["failed_generations"] = dict(failed)
    write_json_atomic(out / PASSK_FILE, payload)
    plot_passk(out / PLOT_FILE, curve, title=f"{model_name} on {task.name} (n={s.n})")
    return PassKResult(run_dir=out, curve=curve, payload=payload)
