"""The CPU decode engine: many prompts x n samples of a Llama-family model, batched across prompts.

transformers' `generate` spends about half of a CPU decode step outside the matrix products
at the batch one prompt's n samples make (cache concatenations, a multinomial draw over the
whole vocabulary through `exponential_`, per-op dispatch), and it prefills the same prompt n
times. This engine instead:

* prefills each prompt once (batch 1) and shares that KV cache by its n rows;
* decodes the rows of several prompts as one batch (`decode_model.DecodeModel.step`);
* drops a row from the batch as soon as it has finished (EOS, max_tokens or a stop string),
  and admits the next prompt when there is room;
* runs one decoding thread per core, each with one torch thread, instead of one batch whose
  every op forks and joins OpenMP threads: on cores shared with other processes a fork-join
  waits for the slowest thread at every op, which measured up to 10x slower.

Sampling is `draws.sample_rows` with the row's own uniform stream (`draws.row_uniforms`), so
row j of a prompt is a function of (prompt ids, settings, s, j) alone: not of n, of the other
prompts in the call, nor of the order they finish in, as long as the model's projections pass
the row-invariance check (`DecodeModel.row_invariant`). Where the check fails (another CPU,
another oneDNN), the engine runs one prompt at a time, and a prompt's samples depend on
(prompt ids, n, settings, s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mta_probe.sampling.decode_model import DecodeModel, RowGroup, unsupported_reason
from mta_probe.sampling.draws import row_uniforms, sample_rows

__all__ = ["DecodeEngine", "unsupported_reason"]


@dataclass
class _Job:
    """One `generate` call, shared by its worker threads."""

    prompts: list[list[int]]
    seeds: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    greedy: bool
    out: list[list[list[int]]]
    stop_row: Callable[[list[int]], bool] | None = None  # a stop string ends this row's new ids
    pending: Any = None  # deque of (prompt, sample indices) not yet admitted
    rows_cap: int = 0
    lock: Any = field(default_factory=threading.Lock)
    errors: list[BaseException] = field(default_factory=list)


class DecodeEngine:
    """Generates token ids for many prompts x n samples with a Llama-family HF model on CPU.

    Args:
        model: the transformers model (its parameters are read, never changed; when they change
            between calls, as in the local RL trainer, the next call re-reads them).
        eos_ids: ids that end a completion.
        dtype: torch dtype of the projections and KV cache (float32 or bfloat16).
        max_rows: rows decoded at once (prompts are admitted while they fit).
    """

    def __init__(self, model: Any, eos_ids: list[int], dtype: Any, max_rows: int = 256) -> None:
        self.net = DecodeModel(model, dtype, max_rows)
        self.eos_ids, self.max_rows = set(eos_ids), max_rows
        # several prompts per batch only where a row's bits cannot depend on the others
        self.shared = self.net.row_invariant()

    def generate(self, prompts: list[list[int]], n: int | list[int], seeds: list[int], *, max_tokens: int,
                 temperature: float, top_p: float, greedy: bool, workers: int = 1,
                 stop_row: Callable[[list[int]], bool] | None = None,
                 start: list[int] | None = None) -> list[list[list[int]]]:
        """For each prompt, n lists of new token ids (each ends at its first EOS, included, or
        after max_tokens).

        Args:
            prompts: token ids of each prompt (at least one id each).
            n: samples per prompt, one count for all or one per prompt.
            seeds: one seed per prompt; sample j of prompt i uses the stream (seeds[i], j).
            start: per prompt, the index of its first sample (None: 0): prompt i gets samples
                start[i] .. start[i] + n[i] - 1, each from its own stream, so a problem's
                samples can be drawn in several calls (adaptive sampling) and come out as in one.
            max_tokens, temperature, top_p, greedy: as in SamplingSettings.
            workers: decoding threads, each running its own batch with one torch thread (no
                fork-join inside a step, so a busy core stalls one worker, not every op).
            stop_row: given a row's new ids so far, True when they end in a stop string; that
                row then finishes (its ids keep the stop string, as `generate`'s do).
        """
        from collections import deque

        import torch

        if any(not ids for ids in prompts):
            raise ValueError("a prompt encodes to no tokens; nothing conditions the first token")
        self.net.refresh()
        with torch.inference_mode():
            self.net.rope_table(max(len(ids) for ids in prompts) + max_tokens)
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        starts = [0] * len(prompts) if start is None else list(start)
        stops = [first + count for first, count in zip(starts, counts)]
        # out[p][j] is sample j of prompt p; the rows below starts[p] stay empty and are cut off.
        job = _Job(prompts=prompts, seeds=seeds, max_tokens=max_tokens, temperature=temperature,
                   top_p=top_p, greedy=greedy, out=[[[] for _ in range(stop)] for stop in stops],
                   stop_row=stop_row)
        # Units of admission: (prompt, its sample indices), at most max_rows rows each.
        job.pending = deque((p, list(range(s, min(stops[p], s + self.max_rows))))
                            for p in range(len(prompts)) for s in range(starts[p], stops[p], self.max_rows))
        if not job.pending:
            return [[] for _ in prompts]
        workers = max(1, min(workers, len(job.pending)))
        # Rows per worker: an even share of the call, so the first worker does not take it all.
        job.rows_cap = min(self.max_rows, -(-sum(counts) // workers))
        threads_before = torch.get_num_threads()
        try:
            if workers == 1:
                torch.set_num_threads(1)
                self._work(job)
            else:
                pool = [threading.Thread(target=self._work_safely, args=(job,), daemon=True)
                        for _ in range(workers)]
                for thread in pool:
                    thread.start()
                for thread in pool:
                    thread.join()
                if job.errors:
                    raise job.errors[0]
        finally:
            torch.set_num_threads(threads_before)
        return [rows[first:] for rows, first in zip(job.out, starts)]

    def _work_safely(self, job: _Job) -> None:
        import torch

        torch.set_num_threads(1)
        try:
            self._work(job)
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
            with job.lock:
                job.errors.append(error)
                job.pending.clear()

    def _work(self, job: _Job) -> None:
        """Decode units from `job.pending` until none is left: admit while rows fit, step,
        drop finished rows."""
        import torch

        out, active = job.out, []
        with torch.inference_mode():
            while True:
                used = sum(len(g.rows) for g in active)
                while not job.errors:
                    with job.lock:
                        if not job.pending:
                            break
                        size = len(job.pending[0][1])
                        if active and not (self.shared and used + size <= job.rows_cap):
                            break
                        p, rows = job.pending.popleft()
                    group = self._admit(p, rows, job)
                    if group.rows:
                        active.append(group)
                        used += len(group.rows)
                if not active or job.errors:
                    with job.lock:
                        if not job.pending or job.errors:
                            return
                    continue
                tokens = torch.tensor([out[g.prompt][j][-1] for g in active for j in g.rows])
                logits = self.net.step(active, tokens)
                uniforms = None
                if not job.greedy:
                    uniforms = torch.tensor([g.uniforms[j][len(out[g.prompt][j])]
                                             for g in active for j in g.rows],
                                            dtype=torch.float64)
                chosen = sample_rows(logits, uniforms, job.temperature, job.top_p,
                                     job.greedy).tolist()
                position = 0
                for g in active:
                    g.length += 1
                    keep_rows, keep_slots = [], []
                    for j, slot in zip(g.rows, g.slots):
                        seq = out[g.prompt][j]
                        seq.append(chosen[position])
                        position += 1
                        if (seq[-1] not in self.eos_ids and len(seq) < job.max_tokens
                                and not (job.stop_row and job.stop_row(seq))):
                            keep_rows.append(j)
                            keep_slots.append(slot)
                    g.rows, g.slots = keep_rows, keep_slots
                    self._compact(g)
                active = [g for g in active if g.rows]

    def _admit(self, prompt: int, rows: list[int], job: _Job) -> RowGroup:
        """Prefill a prompt for `rows` and sample their first tokens."""
        import torch

        ids = job.prompts[prompt]
        caches, logits = self.net.prefill(ids, len(rows), len(ids) + job.max_tokens)
        group = RowGroup(prompt=prompt, rows=list(rows), length=len(ids), caches=caches,
                       slots=list(range(len(rows))))
        uniforms = None
        if not job.greedy:
            group.uniforms = {j: row_uniforms(job.seeds[prompt], j, job.max_tokens) for j in rows}
            uniforms = torch.tensor([group.uniforms[j][0] for j in rows], dtype=torch.float64)
        chosen = sample_rows(logits.expand(len(rows), -1), uniforms, job.temperature, job.top_p,
                             job.greedy).tolist()
        keep_rows, keep_slots = [], []
        for j, slot, token in zip(rows, group.slots, chosen):
            job.out[prompt][j].append(token)
            if token not in self.eos_ids and job.max_tokens > 1:
                keep_rows.append(j)
                keep_slots.append(slot)
        group.rows, group.slots = keep_rows, keep_slots
        self._compact(group)
        return group

    @staticmethod
    def _compact(group: RowGroup) -> None:
        """Copy the caches of the rows still decoding into smaller ones once at most half of the
        slots are live (attention over dead slots is wasted work; copying every step would be
        too)."""
        import torch

        slots = len(group.caches[0][0]) if group.caches else 0
        if not group.rows:
            group.caches = []
            return
        if 2 * len(group.rows) > slots:
            return
        where = torch.tensor(group.slots)
        group.caches = [(k.index_select(0, where), v.index_select(0, where))
                        for k, v in group.caches]
        group.slots = list(range(len(group.rows)))
