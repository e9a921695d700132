"""A minimal decode loop for Llama-family models on CPU, batched across prompts.

transformers' `generate` spends about half of a CPU decode step outside the matrix products
at the batch one prompt's n samples make (cache concatenations, a multinomial draw over the
whole vocabulary through `exponential_`, per-op dispatch), and it prefills the same prompt n
times. This loop instead:

* prefills each prompt once (batch 1) and shares that KV cache by its n rows;
* decodes the rows of several prompts as one batch (one GEMM per fused projection: q|k|v and
  gate|up), each prompt with its own preallocated KV cache and its own attention call, so no
  prompt is ever padded to another's length;
* drops a row from the batch as soon as it has finished (EOS or max_tokens), and admits the
  next prompt when there is room;
* keeps the residual stream, norms, rotary embedding, logits and sampling in float32, and runs
  the projections and the KV cache in `dtype` (float32 by default; bfloat16 on request);
* runs one decoding thread per core, each with one torch thread, instead of one batch whose
  every op forks and joins OpenMP threads: on cores shared with other processes a fork-join
  waits for the slowest thread at every op, which measured up to 10x slower.

**Sampling.** Row j of a prompt with seed s draws its t-th token from its own counter-based
uniform stream u(s, j, t) (`row_uniforms`) by inverse CDF over the temperature-scaled softmax,
restricted to the top-p nucleus when top_p < 1 (the same nucleus rule as transformers'
`TopPLogitsWarper`), with no top-k. Greedy takes the argmax.

**What a row's tokens depend on.** Every operation of the step acts row by row: matrix products
through oneDNN with packed weights, whose result for a row depends neither on the other rows
nor on how many there are (checked at start-up on the model's own weight shapes,
`row_invariant`; MKL's float32 GEMM behind `F.linear` fails that check), attention per
prompt over that prompt's own cache, norms and softmax per row. So row j of a prompt is a
function of (prompt ids, settings, s, j) alone: not of n, of the other prompts in the call, nor
of the order they finish in. Where the check fails (another CPU, another oneDNN), the engine
runs one prompt at a time, and a prompt's samples depend on (prompt ids, n, settings, s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUPPORTED_TYPES = ("llama", "mistral", "qwen2")

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def unsupported_reason(model: Any) -> str | None:
    """Why this engine cannot run `model`, or None when it can."""
    config = model.config
    kind = getattr(config, "model_type", None)
    if kind not in SUPPORTED_TYPES:
        return f"model type {kind!r} (the CPU decode loop covers {', '.join(SUPPORTED_TYPES)})"
    if getattr(config, "hidden_act", "silu") != "silu":
        return f"activation {config.hidden_act!r}"
    if getattr(config, "mlp_bias", False):
        return "MLP biases"
    layers = model.model.layers
    if any(getattr(layer.self_attn, "sliding_window", None) for layer in layers):
        return "sliding-window attention"
    return None


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_uniforms(seed: int, row: int, count: int) -> np.ndarray:
    """The first `count` uniforms in [0, 1) of sample `row` of a prompt seeded `seed`.

    A counter-based stream (splitmix64 of a key from (seed, row), then of key + t), defined here
    rather than by a library's generator, so it cannot change with a numpy or torch version.
    """
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        key = _splitmix64(key ^ np.uint64(row & 0xFFFFFFFFFFFFFFFF))
        bits = _splitmix64(key + np.arange(count, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def sample_rows(logits: Any, uniforms: Any, temperature: float, top_p: float,
                greedy: bool) -> Any:
    """One token per row of `logits` (float32, rows x vocab), drawn by inverse CDF with the
    row's uniform; greedy takes the argmax (the first one on ties, as torch and transformers)."""
    import torch

    if greedy:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    order = None
    if top_p < 1.0:
        # transformers' TopPLogitsWarper drops the least likely tokens whose mass, counted from
        # the bottom, is <= 1 - top_p; from the top that keeps token i of the descending order
        # while the mass strictly before it is < top_p (so at least the most likely token).
        probs, order = probs.sort(dim=-1, descending=True)
        before = probs.cumsum(-1) - probs
        probs = probs.masked_fill(before >= top_p, 0.0)
    cdf = probs.cumsum(-1)
    total = cdf[:, -1:]
    target = (uniforms.to(torch.float64)[:, None] * total.to(torch.float64)).to(torch.float32)
    target = torch.minimum(target, torch.nextafter(total, torch.zeros_like(total)))
    index = torch.searchsorted(cdf, target, right=True).clamp_(max=cdf.shape[-1] - 1)
    if order is not None:
        index = order.gather(-1, index)
    return index[:, 0]


class _Linear:
    """y = x W^T (+ b) through oneDNN with the weight packed once for it."""

    def __init__(self, weight: Any, bias: Any, dtype: Any, batch_hint: int) -> None:
        import torch

        self.weight = weight.detach().to(dtype).contiguous()
        self.bias = None if bias is None else bias.detach().to(dtype).contiguous()
        self.packed = None
        if torch.backends.mkldnn.is_available():
            try:
                self.packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, batch_hint)
                self(torch.zeros(1, self.weight.shape[1], dtype=dtype))  # fails early if unusable
            except (RuntimeError, AttributeError, NotImplementedError):
                self.packed = None

    def __call__(self, x: Any) -> Any:
        import torch

        if x.shape[0] == 1:
            # oneDNN takes another kernel for a single row (float32, K = 1536 here), whose sums
            # round differently; a duplicated row keeps every call on the batched kernel.
            return self(torch.cat([x, x]))[:1]
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")
        return torch.nn.functional.linear(x, self.weight, self.bias)


@dataclass
class _Layer:
    ln1: Any
    qkv: _Linear
    o: _Linear
    ln2: Any
    gate_up: _Linear
    down: _Linear


@dataclass
class _Group:
    """One prompt's rows (a slice of its n samples) while they decode."""

    prompt: int
    rows: list[int]  # sample indices, in batch order
    length: int  # tokens in the cache (prompt + generated), the same for every row
    caches: list[tuple[Any, Any]]  # per layer: K and V, (slots, kv heads, capacity, head dim)
    slots: list[int]  # for each row still decoding, its slot in the caches
    uniforms: dict[int, np.ndarray] = field(default_factory=dict)


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
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"the CPU decode loop does not support {reason}")
        self.model, self.eos_ids, self.dtype, self.max_rows = model, set(eos_ids), dtype, max_rows
        config = model.config
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self._fingerprint: tuple | None = None
        self._cos = self._sin = None
        self.shared = False  # several prompts per batch: set by the row-invariance check
        self._load()
        self.shared = self.row_invariant()

    # --- weights -------------------------------------------------------------------------

    def _current_fingerprint(self) -> tuple:
        return tuple((p.data_ptr(), p._version, p.dtype) for p in self.model.parameters())

    def _load(self) -> None:
        """Copy the model's weights into fused, packed projections (again after training)."""
        import torch

        with torch.no_grad():
            inner = self.model.model
            hint = self.max_rows
            layers = []
            for layer in inner.layers:
                attn, mlp = layer.self_attn, layer.mlp
                qkv_bias = None
                if attn.q_proj.bias is not None:
                    qkv_bias = torch.cat([attn.q_proj.bias, attn.k_proj.bias, attn.v_proj.bias])
                layers.append(_Layer(
                    ln1=layer.input_layernorm.weight.detach().float(),
                    qkv=_Linear(torch.cat([attn.q_proj.weight, attn.k_proj.weight,
                                           attn.v_proj.weight]), qkv_bias, self.dtype, hint),
                    o=_Linear(attn.o_proj.weight, attn.o_proj.bias, self.dtype, hint),
                    ln2=layer.post_attention_layernorm.weight.detach().float(),
                    gate_up=_Linear(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]), None,
                                    self.dtype, hint),
                    down=_Linear(mlp.down_proj.weight, None, self.dtype, hint),
                ))
            self.layers = layers
            self.embed = inner.embed_tokens.weight.detach().float()
            self.norm = inner.norm.weight.detach().float()
            self.head = _Linear(self.model.lm_head.weight, None, self.dtype, hint)
            self.rotary = inner.rotary_emb
        self._cos = self._sin = None
        self._fingerprint = self._current_fingerprint()

    def refresh(self) -> None:
        """Re-read the weights if the model's parameters changed since they were read."""
        if self._current_fingerprint() != self._fingerprint:
            self._load()

    def row_invariant(self) -> bool:
        """Whether every projection gives a row the same bits whatever the other rows are and
        however many there are (tried at 1, 2, 7, 33 and max_rows rows, the row first and last)."""
        import torch

        gen = torch.Generator().manual_seed(0)
        projections = [self.layers[0].qkv, self.layers[0].o, self.layers[0].gate_up,
                       self.layers[0].down, self.head]
        threads_before = torch.get_num_threads()
        torch.set_num_threads(1)  # as the decoding workers run
        try:
            return self._rows_agree(projections, gen)
        finally:
            torch.set_num_threads(threads_before)

    def _rows_agree(self, projections: list[_Linear], gen: Any) -> bool:
        import torch

        with torch.inference_mode():
            for proj in projections:
                width = proj.weight.shape[1]
                x = torch.randn(max(self.max_rows, 33), width, generator=gen).to(self.dtype)
                alone = proj(x[:1])[0]
                for rows in sorted({1, 2, 3, 7, 33, self.max_rows}):
                    out = proj(x[:rows])
                    if not torch.equal(out[0], alone):
                        return False
                    flipped = proj(torch.cat([x[1:rows], x[:1]]))
                    if not torch.equal(flipped[-1], alone):
                        return False
        return True

    # --- the model -----------------------------------------------------------------------

    def _rope_table(self, length: int) -> None:
        """cos and sin of positions 0..length-1 (at least), as the model's rotary module gives them."""
        import torch

        if self._cos is None or self._cos.shape[0] < length:
            ids = torch.arange(max(length, 1024))[None]
            cos, sin = self.rotary(torch.zeros(1, dtype=torch.float32), ids)
            self._cos, self._sin = cos[0].float(), sin[0].float()

    def _rope(self, positions: Any) -> tuple[Any, Any]:
        return self._cos[positions], self._sin[positions]

    def _norm(self, x: Any, weight: Any) -> Any:
        import torch

        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def _rotate(x: Any, cos: Any, sin: Any) -> Any:
        import torch

        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def _split(self, qkv: Any, rows: int, cos: Any, sin: Any) -> tuple[Any, Any, Any]:
        h, kv, d = self.heads, self.kv_heads, self.head_dim
        qkv = qkv.float()
        q = qkv[:, : h * d].view(rows, h, d)
        k = qkv[:, h * d : (h + kv) * d].view(rows, kv, d)
        v = qkv[:, (h + kv) * d :].view(rows, kv, d)
        cos, sin = cos[:, None, :], sin[:, None, :]
        q = self._rotate(q, cos, sin).to(self.dtype)
        k = self._rotate(k, cos, sin).to(self.dtype)
        return q, k, v.to(self.dtype)

    def _mlp(self, layer: _Layer, x: Any) -> Any:
        import torch

        h = self._norm(x, layer.ln2).to(self.dtype)
        gate, up = layer.gate_up(h).chunk(2, dim=-1)
        return x + layer.down(torch.nn.functional.silu(gate) * up).float()

    def _prefill(self, ids: list[int], rows: int, capacity: int) -> tuple[list, Any]:
        """Run the prompt once; its KV cache copied into `rows` slots of `capacity` positions,
        and the float32 logits of its last position."""
        import torch
        import torch.nn.functional as F

        length = len(ids)
        positions = torch.arange(length)
        cos, sin = self._rope(positions)
        x = self.embed[torch.tensor(ids)]
        caches = []
        for layer in self.layers:
            h = self._norm(x, layer.ln1).to(self.dtype)
            q, k, v = self._split(layer.qkv(h), length, cos, sin)
            q, k, v = (t.transpose(0, 1)[None] for t in (q, k, v))  # (1, heads, length, dim)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                 enable_gqa=self.kv_heads != self.heads)
            x = x + layer.o(out[0].transpose(0, 1).reshape(length, -1)).float()
            x = self._mlp(layer, x)
            shape = (rows, self.kv_heads, capacity, self.head_dim)
            cache_k = torch.empty(shape, dtype=self.dtype)
            cache_v = torch.empty(shape, dtype=self.dtype)
            cache_k[:, :, :length] = k[0]
            cache_v[:, :, :length] = v[0]
            caches.append((cache_k, cache_v))
        logits = self.head(self._norm(x[-1:], self.norm).to(self.dtype)).float()
        return caches, logits

    def _decode(self, groups: list[_Group], tokens: Any) -> Any:
        """One step for every row of `groups` (in order); `tokens` are their last tokens."""
        import torch
        import torch.nn.functional as F

        rows = tokens.shape[0]
        positions = torch.cat([torch.full((len(g.rows),), g.length) for g in groups])
        cos, sin = self._rope(positions)
        x = self.embed[tokens]
        spans, start = [], 0
        for g in groups:
            spans.append((start, start + len(g.rows)))
            start += len(g.rows)
        attended = torch.empty(rows, self.heads * self.head_dim, dtype=self.dtype)
        gqa = self.kv_heads != self.heads
        for index, layer in enumerate(self.layers):
            h = self._norm(x, layer.ln1).to(self.dtype)
            q, k, v = self._split(layer.qkv(h), rows, cos, sin)
            for g, (a, b) in zip(groups, spans):
                cache_k, cache_v = g.caches[index]
                slots = g.slots
                full = len(slots) == cache_k.shape[0]
                if full:
                    cache_k[:, :, g.length] = k[a:b]
                    cache_v[:, :, g.length] = v[a:b]
                    query = q[a:b, :, None]
                else:
                    where = torch.tensor(slots)
                    cache_k[where, :, g.length] = k[a:b]
                    cache_v[where, :, g.length] = v[a:b]
                    query = q.new_zeros(cache_k.shape[0], self.heads, 1, self.head_dim)
                    query[where] = q[a:b, :, None]
                out = F.scaled_dot_product_attention(
                    query, cache_k[:, :, : g.length + 1], cache_v[:, :, : g.length + 1],
                    enable_gqa=gqa)
                attended[a:b] = (out if full else out[where]).reshape(b - a, -1)
            x = x + layer.o(attended).float()
            x = self._mlp(layer, x)
        return self.head(self._norm(x, self.norm).to(self.dtype)).float()

    # --- generation ----------------------------------------------------------------------

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
        self.refresh()
        with torch.inference_mode():
            self._rope_table(max(len(ids) for ids in prompts) + max_tokens)
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
                logits = self._decode(active, tokens)
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

    def _admit(self, prompt: int, rows: list[int], job: _Job) -> _Group:
        """Prefill a prompt for `rows` and sample their first tokens."""
        import torch

        ids = job.prompts[prompt]
        caches, logits = self._prefill(ids, len(rows), len(ids) + job.max_tokens)
        group = _Group(prompt=prompt, rows=list(rows), length=len(ids), caches=caches,
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
    def _compact(group: _Group) -> None:
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
