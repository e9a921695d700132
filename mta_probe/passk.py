"""The pass@k probe: sample n completions per problem, verify them, estimate the pass@k curve.

Phases of `probe_passk`, in order:
1. validate the numbers (n, k) before anything slow is loaded;
2. load the task and resolve the model;
3. open the run directory (or check that it holds this very run) and read what it already holds;
4. for every problem still missing samples: sample its n completions with a seed derived from the
   run seed and the problem id alone (`draw`: in order from one engine, as they finish from
   data-parallel replicas), verify them in killable worker processes while sampling goes on,
   append the missing records;
5. estimate pass@k with bootstrap intervals from the records, fit the curve beyond n
   (`runs.summary.fit_block`), and write `passk.json`, `passk.png`.

With a budget (`adaptive`), step 4 runs in rounds planned by the allocation rule
(`mta_probe.collect.rounds`): every problem gets n samples first, then more go to the problems whose
pass@k is least settled.

Because a problem's completions depend only on (prompt, n, settings, its seed), a run that is
killed and started again regenerates exactly what it lost and appends only those records: it
ends with the same pass@k as an uninterrupted run on the same backend and machine.

A generation that failed (finish reason abort, error, repetition, ...: the engine already drew
it again) is never scored: it goes to `failures.jsonl`, stays missing from `samples.jsonl`,
and the next run of the same command draws it again. Greedy decoding draws one completion
per problem: n is forced to 1, and the probe says so.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from mta_probe.collect import (
    FAILURES_FILE,
    SAMPLES_FILE,
    Span,
    adaptive_summary,
    check_adaptive,
    failed_generations,
    failure_records,
    refuse_beyond_context,
    sample_records,
    sample_rounds,
    sampled_outcomes,
)
from mta_probe.errors import BadInputError
from mta_probe.estimators import (
    check_ks,
    default_ks,
    estimate,
)
from mta_probe.runs import (
    ProbeProgress,
    RecordWriter,
    answer_choices,
    default_run_dir,
    fit_block,
    package_versions,
    passk_payload,
    per_problem_counts,
    prepare_run_dir,
    check_loggers,
    read_records,
    summarize_samples,
    write_json_atomic,
)
from mta_probe.sampling import (
    SEED_SCHEME,
    Completion,
    is_greedy,
    problem_seed,
)
from mta_probe.passk_settings import (
    PASSK_FILE,
    PLOT_FILE,
    PassKResult,
    PassKSettings,
    check_verification,
    forced_n,
    load_scored_task,
)
from mta_probe.tasks import LoadedTask, Problem
from mta_probe.tracked import log_passk, sample_rows

# Engine options that place work or bound memory without changing what is drawn: left out of
# run.json's identity, so a run that ran out of memory resumes with a smaller setting. A
# max_model_len never changes a completion because no prompt reaches it: one whose max_tokens
# would not fit after it is refused before sampling (`refuse_beyond_context`), where vLLM would
# cut the answer at the window.
PLACEMENT_OPTIONS = frozenset({"data_parallel_size", "nodes", "ray_address", "problems_per_batch",
                               "gpu_memory_utilization", "max_model_len", "problems_per_call", "threads"})
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
            "sampling": _jsonable(asdict(s.sampling)), "task_options": _jsonable(asdict(s.task_options)),
            # None for a uniform run, also matching run.json files written before budgets existed
            "adaptive": _jsonable(asdict(s.adaptive)) if s.adaptive else None}


def _default_out(s: PassKSettings, ref: Any, task: LoadedTask, backend: str) -> Path:
    # An adaptive run's name carries its budget, and its hash the rule and the engine: two rules
    # never share a run, and an engine refused for adaptive rounds does not block another's.
    adaptive = ""
    if s.adaptive:
        engine = sorted((k, str(v)) for k, v in s.engine_options.items() if k not in PLACEMENT_OPTIONS)
        adaptive = f"|{s.adaptive}|{backend}|{engine}"
    return default_run_dir("passk", ref.name, task.name, s.n, s.seed, budget=s.adaptive.budget if s.adaptive else None,
                           source=f"{ref.path}|{task.source}{adaptive}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Path) else value


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
    if settings.adaptive and is_greedy(settings.sampling):
        raise BadInputError("adaptive sampling needs temperature sampling: greedy decoding draws one sample a problem")
    settings = forced_n(settings, say)
    ks = check_ks(settings.ks or default_ks(max(settings.n, 1)), settings.n)
    check_verification(settings)
    check_loggers(settings.loggers, local=True)
    ref = resolve_model(settings.model)
    chat = ref.chat if settings.chat is None else settings.chat
    task = load_scored_task(settings)
    # No --max-tokens: the task's own budget (one short line for capitals), else the model's.
    budget = task.max_tokens or ref.default_max_tokens
    settings = replace(settings, sampling=resolve_stop(settings.sampling.for_model(budget), chat))
    if settings.adaptive:
        check_adaptive(settings.adaptive, settings.n, len(task.problems))
    backend = resolve_backend(settings.backend)
    check_engine_options(backend, settings.engine_options)
    out = settings.out or _default_out(settings, ref, task, backend)
    resumed = prepare_run_dir(out, _identity(settings, task, ref.name, ref.path, backend))
    with RecordWriter(out / SAMPLES_FILE) as writer:  # cuts a partial last line first
        have = sampled_outcomes(out / SAMPLES_FILE)
        if resumed:
            say(f"resuming {out}: {sum(map(len, have.values()))} samples already on disk")
        drawing = _Drawing(settings, task, ref, backend, writer, have, progress, say)
        try:
            if settings.adaptive:
                rounds = sample_rounds(out, task.problems, settings.adaptive, have, drawing.fill, say)
            else:
                rounds = None
                drawing.fill([Span(p, 0, settings.n) for p in task.problems if len(have.get(p.id, {})) < settings.n])
        finally:
            drawing.close()
    return finish_passk(out, settings, task, ref.name, backend, ks, rounds=rounds, on_status=say)


class _Drawing:
    """Draws spans of samples for one run: samples, verifies in killable workers while sampling
    goes on, appends the records, and keeps `have` current. The sampler and the verifier pool
    open on the first span (a run with nothing to draw never loads the model) and stay open
    across calls (the rounds of an adaptive run)."""

    def __init__(self, s: PassKSettings, task: LoadedTask, ref: Any, backend: str, writer: RecordWriter,
                 have: dict[str, dict[int, bool]], progress: Callable[[ProbeProgress], None] | None,
                 say: Callable[[str], None]) -> None:
        self.s, self.task, self.ref, self.backend, self.writer = s, task, ref, backend, writer
        self.have, self.progress, self.say = have, progress, say
        self.total = s.adaptive.budget if s.adaptive else s.n * len(task.problems)
        self.done = self.resumed = sum(len(v) for v in have.values())
        self.tokens, self.start = 0, time.monotonic()
        self.sampler: Any = None
        self.opened = contextlib.ExitStack()

    def _open(self) -> None:
        from mta_probe.sampling import get_backend, open_sampler, prepare_model
        from mta_probe.verify import VerifierPool

        if get_backend(self.backend).loads_model:  # a server holds its own; the others load (or fetch) it here first
            prepare_model(self.ref, on_status=self.say)
        self.sampler = open_sampler(self.backend, self.ref, chat=self.s.chat, **self.s.engine_options)
        self.opened.callback(self.sampler.close)
        refuse_beyond_context(self.sampler, self.task.problems, self.s.sampling.max_tokens)
        if self.s.adaptive and not self.sampler.continues:
            raise BadInputError(f"adaptive sampling (--budget) adds samples to a problem from its sample n_i on; "
                                f"this {self.backend} sampler cannot start there (docs/backends.md)")
        self.pool = self.opened.enter_context(VerifierPool(workers=self.s.verify_workers,
                                                           timeout=self.s.verify_timeout))
        self.failures = self.opened.enter_context(RecordWriter(self.writer.path.with_name(FAILURES_FILE)))
        self.start = time.monotonic()
        if self.progress:
            self.progress(ProbeProgress(self.done, self.total, 0, 0.0, self.resumed))

    def close(self) -> None:
        """Close what the first span opened, last opened first."""
        self.opened.close()

    def fill(self, spans: list[Span]) -> None:
        """Draw the spans' samples that are not on disk yet (a problem's n samples from 0, or an
        adaptive round's samples n_i .. target_i - 1)."""
        from mta_probe.sampling import check_seed_streams, draw

        if not spans:
            return
        if self.sampler is None:
            self._open()
        seeds = [problem_seed(self.s.seed, span.problem.id) for span in spans]
        check_seed_streams(seeds, max(span.stop for span in spans))
        uniform = all(span.start == 0 and span.stop == spans[0].stop for span in spans)
        counts = spans[0].stop if uniform else [span.stop - span.start for span in spans]
        starts = None if uniform else [span.start for span in spans]
        # Verification runs on one thread, in arrival order, while sampling goes on; at most one
        # call's worth of problems waits for it, so a kill loses little and memory stays bounded.
        backlog = max(1, self.sampler.prompts_per_call)
        pending: deque[tuple[str, Future[list[tuple[int, bool]]]]] = deque()
        with ThreadPoolExecutor(max_workers=1) as verifier_thread:
            for index, comps in draw(self.sampler, [span.problem.prompt for span in spans], counts,
                                     self.s.sampling, seeds, starts):
                span, have = spans[index], self.have.get(spans[index].problem.id, {})
                missing = [(span.start + i, c) for i, c in enumerate(comps) if span.start + i not in have]
                scored = [m for m in missing if m[1].scored]
                failed = [m for m in missing if not m[1].scored]
                pending.append((span.problem.id, verifier_thread.submit(
                    self._verify_and_write, span.problem, scored, failed, seeds[index])))
                while len(pending) > backlog:
                    self._settle(*pending.popleft())
                self.done += len(missing)
                self.tokens += sum(c.tokens for _, c in missing)
                if self.progress:
                    self.progress(ProbeProgress(self.done, self.total, self.tokens, time.monotonic() - self.start,
                                                self.resumed))
            while pending:
                self._settle(*pending.popleft())

    def _verify_and_write(self, p: Problem, scored: list[tuple[int, Completion]],
                          failed: list[tuple[int, Completion]], seed: int) -> list[tuple[int, bool]]:
        verdicts = self.pool.verify(self.task.verifier, [(c.text, p) for _, c in scored])
        self.writer.append(sample_records(p, scored, verdicts, seed))
        self.failures.append(failure_records(p, failed, seed))
        return [(i, bool(v.correct)) for (i, _), v in zip(scored, verdicts)]

    def _settle(self, problem_id: str, written: Future[list[tuple[int, bool]]]) -> None:
        """Wait for a problem's records and note their outcomes (on this thread only)."""
        self.have.setdefault(problem_id, {}).update(written.result())


def _counts(counter: Counter) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(counter.items()))


def finish_passk(out: Path, s: PassKSettings, task: LoadedTask, model_name: str, backend: str,
                 ks: list[int], *, rounds: list[dict[str, Any]] | None = None,
                 on_status: Callable[[str], None] | None = None) -> PassKResult:
    """Estimate pass@k from `samples.jsonl`, fit the curve beyond n, write `passk.json` and
    `passk.png`, then log them to the trackers `s.loggers` asked for. An adaptive run (`rounds`
    given) is estimated from its opening round (sample indices below n, see
    `mta_probe.collect.rounds`) and fitted from all of its samples."""
    from mta_probe.runs import plot_passk

    ids = [p.id for p in task.problems]
    summary = summarize_samples(read_records(out / SAMPLES_FILE), set(ids))
    counts_n, counts_c = per_problem_counts(summary.correct, ids, below=s.n if rounds is not None else None)
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
    payload["answer_choices"] = answer_choices(p.num_choices for p in task.problems)
    all_n, all_c = per_problem_counts(summary.correct, ids)
    if rounds is not None and s.adaptive is not None:
        payload["adaptive"] = adaptive_summary(s.adaptive, rounds, all_n)
    fit = None
    if s.fit is not None:
        opening = (counts_n, counts_c) if rounds is not None else None
        payload["fit"], fit = fit_block(all_n, all_c, curve.ks, s.fit, payload["answer_choices"],
                                        greedy=is_greedy(s.sampling), opening=opening)
    write_json_atomic(out / PASSK_FILE, payload)
    plot_passk(out / PLOT_FILE, curve, title=f"{model_name} on {task.name} (n={s.n})", fit=fit)
    if s.loggers:  # after the files: a tracker that fails leaves the run whole
        samples = sample_rows(read_records(out / SAMPLES_FILE), summary.correct)
        log_passk(s.loggers, out, payload, samples, _jsonable(asdict(s)), on_status)
    return PassKResult(run_dir=out, curve=curve, payload=payload)
