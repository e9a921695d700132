"""The decode engine's seeded draw (mta_probe.sampling.draws): a fixed uniform stream per
(seed, row), the inverse CDF over the softmax, transformers' top-p nucleus, greedy argmax."""

from __future__ import annotations

import numpy as np

from mta_probe.sampling.draws import row_uniforms, sample_rows


def test_row_uniforms_are_fixed_per_seed_and_row() -> None:
    first = row_uniforms(5, 3, 100)
    assert np.array_equal(first, row_uniforms(5, 3, 100))
    assert np.array_equal(first[:10], row_uniforms(5, 3, 10))  # a prefix of the same stream
    assert not np.array_equal(first, row_uniforms(5, 4, 100))
    assert not np.array_equal(first, row_uniforms(6, 3, 100))
    many = row_uniforms(0, 0, 20000)
    assert 0 <= many.min() and many.max() < 1 and abs(many.mean() - 0.5) < 0.01
    assert row_uniforms(2**63 + 5, 0, 3).shape == (3,)  # any int seed


def test_inverse_cdf_picks_the_token_whose_interval_holds_u() -> None:
    import torch

    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    logits = probs.log()
    for u, want in [(0.0, 0), (0.09, 0), (0.11, 1), (0.29, 1), (0.31, 2), (0.61, 3), (0.999, 3)]:
        got = sample_rows(logits, torch.tensor([u], dtype=torch.float64), 1.0, 1.0, False)
        assert got.tolist() == [want], u
    # temperature 0.5 squares the probabilities: [1, 4, 9, 16] / 30
    assert sample_rows(logits, torch.tensor([0.15], dtype=torch.float64), 0.5, 1.0, False).tolist() == [1]
    assert sample_rows(logits, torch.tensor([0.17], dtype=torch.float64), 0.5, 1.0, False).tolist() == [2]


def test_top_p_keeps_the_nucleus_transformers_keeps() -> None:
    import torch
    from transformers.generation.logits_process import TopPLogitsWarper

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 50, generator=gen) * 3
    for top_p in (0.05, 0.3, 0.7, 0.95):
        kept = TopPLogitsWarper(top_p)(None, logits.clone()) > -float("inf")
        # every uniform lands on a kept token, and a fine grid of them reaches every kept token
        reached = torch.zeros_like(kept)
        for u in np.linspace(0, 1, 2001, endpoint=False):
            tokens = sample_rows(logits, torch.full((64,), u, dtype=torch.float64), 1.0, top_p, False)
            reached[torch.arange(64), tokens] = True
        assert torch.equal(reached, kept), top_p


def test_tiny_top_p_and_greedy_take_the_argmax() -> None:
    import torch

    logits = torch.randn(16, 40, generator=torch.Generator().manual_seed(1))
    uniforms = torch.rand(16, dtype=torch.float64)
    assert torch.equal(sample_rows(logits, uniforms, 1.0, 1e-6, False), logits.argmax(-1))
    assert torch.equal(sample_rows(logits, None, 1.0, 1.0, True), logits.argmax(-1))


def test_sampling_follows_the_softmax() -> None:
    import torch

    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    want = torch.softmax(logits / 0.7, -1)[0]
    draws = row_uniforms(123, 0, 40000)
    tokens = sample_rows(logits.expand(len(draws), -1), torch.tensor(draws), 0.7, 1.0, False)
    freq = torch.bincount(tokens, minlength=4).double() / len(draws)
    assert torch.allclose(freq, want.double(), atol=0.01)
