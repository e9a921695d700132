"""A Llama-family model's forward pass laid out for batched CPU decoding (the decode engine's model).

The weights are copied into fused projections (q|k|v and gate|up) packed once for oneDNN; the
residual stream, norms, rotary embedding and logits stay in float32, the projections and the KV
cache run in `dtype`. `prefill` runs a prompt once and copies its cache into the slots of its
rows; `step` decodes one token for the rows of several prompts as one batch, each prompt
attending over its own cache (`RowGroup`), so no prompt is padded to another's length.

**What a row's tokens depend on.** Every operation acts row by row: the matrix products through
oneDNN with packed weights, whose result for a row depends neither on the other rows nor on how
many there are (checked at start-up on the model's own weight shapes, `row_invariant`; MKL's
float32 GEMM behind `F.linear` fails that check), attention per prompt over its own cache, norms
and softmax per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUPPORTED_TYPES = ("llama", "mistral", "qwen2")


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
class RowGroup:
    """One prompt's rows (a slice of its n samples) while they decode."""

    prompt: int
    rows: list[int]  # sample indices, in batch order
    length: int  # tokens in the cache (prompt + generated), the same for every row
    caches: list[tuple[Any, Any]]  # per layer: K and V, (slots, kv heads, capacity, head dim)
    slots: list[int]  # for each row still decoding, its slot in the caches
    uniforms: dict[int, np.ndarray] = field(default_factory=dict)



class DecodeModel:
    """The weights of `model` in the decode layout, and the two passes over them.

    Args:
        model: the transformers model (read, never changed; `refresh` re-reads it after training).
        dtype: torch dtype of the projections and KV cache (float32 or bfloat16).
        max_rows: the batch the packed weights are laid out for.
    """

    def __init__(self, model: Any, dtype: Any, max_rows: int) -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"the CPU decode loop does not support {reason}")
        self.model, self.dtype, self.max_rows = model, dtype, max_rows
        config = model.config
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self._fingerprint: tuple | None = None
        self._cos = self._sin = None
        self._load()

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

    def rope_table(self, length: int) -> None:
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

    def prefill(self, ids: list[int], rows: int, capacity: int) -> tuple[list, Any]:
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

    def step(self, groups: list[RowGroup], tokens: Any) -> Any:
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
