"""The seeded draw of the decode engine: one uniform stream per sample row, inverse CDF.

Row j of a prompt with seed s draws its t-th token from its own counter-based uniform stream
u(s, j, t) (`row_uniforms`) by inverse CDF over the temperature-scaled softmax, restricted to the
top-p nucleus when top_p < 1 (the same nucleus rule as transformers' `TopPLogitsWarper`), with no
top-k. Greedy takes the argmax. A row's draws thus depend on (s, j, t) alone, never on the other
rows of the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
