"""Per-token log-probs and entropies of the response tokens of a causal LM, in bounded memory.

A (tokens x vocabulary) logits matrix is the largest tensor of an RL step: 8,192 response tokens
of a 152,064-word vocabulary (Qwen2.5) are 5 GB in float32, and the backward pass needs as much
again per copy. So:
- logits exist for response positions only: the decoder's last hidden states are sliced to the
  response tokens before the output projection (a 2,048-token prompt costs no logits at all);
- the projection runs `chunk_tokens` tokens at a time and, with gradients on, under activation
  checkpointing, so at most one chunk's logits (1,024 x 152,064 x 4 bytes = 0.6 GB) exist at
  once, forward or backward;
- log-probs are `logit[target] - logsumexp(logits)`, never a full log-softmax copy; entropies
  (never differentiated) are computed chunk by chunk without gradients.
Models whose forward does more than `lm_head(hidden)` (a final logit soft-cap) or exposes no
decoder take the plain path: `model(..., logits_to_keep=...)`, logits from the first response
position on, then the same chunked reduction.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

CHUNK_TOKENS = 1024  # LocalSettings.logits_chunk's default


def response_logprobs(model: Any, sequences: list[Any], pad_id: int, *, temperature: float,
                      chunk_tokens: int, with_entropy: bool, autocast: Any = None,
                      device: Any = None) -> tuple[Any, Any, Any]:
    """Log-probs (and entropies) of every response token, right-padded to the longest response.

    Args:
        model: a transformers causal LM.
        sequences: objects with `prompt_ids` and `response_ids` (mta_train.policy.Sequence).
        pad_id: the id that right-pads the batch (masked out).
        temperature: logits are divided by it: the distribution the rollouts were sampled from.
        chunk_tokens: response tokens projected at once (0: all at once).
        with_entropy: also return entropies (only ever asked without gradients).
        autocast: a context manager for the forward pass (bfloat16 on CUDA), or None.
        device: where the model is.

    Returns:
        (logprob, entropy or None, mask), each (sequences, longest response), float32.
    """
    import torch

    lengths = [len(s.prompt_ids) + len(s.response_ids) for s in sequences]
    width = max(lengths)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        full = list(seq.prompt_ids) + list(seq.response_ids)
        ids[row, :len(full)] = torch.tensor(full)
        attention[row, :len(full)] = 1
    ids, attention = ids.to(device), attention.to(device)
    first = min(len(s.prompt_ids) for s in sequences) - 1  # logits at t predict token t + 1
    head = _output_head(model)
    with autocast or contextlib.nullcontext():
        if head is not None:
            states = model.get_decoder()(input_ids=ids, attention_mask=attention, use_cache=False).last_hidden_state
            offset = 0
        else:
            keep = {"logits_to_keep": width - first} if _takes_logits_to_keep(model) else {}
            states = model(input_ids=ids, attention_mask=attention, use_cache=False, **keep).logits
            offset = first if keep else 0
        rows = [states[row, len(s.prompt_ids) - 1 - offset:len(s.prompt_ids) - 1 - offset + len(s.response_ids)]
                for row, s in enumerate(sequences)]
        flat = torch.cat(rows)
        targets = torch.tensor([t for s in sequences for t in s.response_ids], device=flat.device)
        project = head if head is not None else (lambda x: x)
        logprob, entropy = _reduce(flat, targets, project, temperature, chunk_tokens or len(flat), with_entropy)
    sizes = [len(s.response_ids) for s in sequences]
    return (_unflatten(logprob, sizes), _unflatten(entropy, sizes) if entropy is not None else None,
            _unflatten(torch.ones_like(logprob), sizes))


def _reduce(flat: Any, targets: Any, project: Any, temperature: float, chunk: int,
            with_entropy: bool) -> tuple[Any, Any]:
    import torch
    from torch.utils.checkpoint import checkpoint

    def logprob_of(states: Any, tokens: Any) -> Any:
        logits = project(states).float() / temperature
        return logits.gather(-1, tokens[:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)

    def with_entropy_of(states: Any, tokens: Any) -> tuple[Any, Any]:
        logits = project(states).float() / temperature
        normalizer = torch.logsumexp(logits, dim=-1)
        entropy = normalizer - (torch.softmax(logits, dim=-1) * logits).sum(-1)  # H = lse - E[logit]
        return logits.gather(-1, tokens[:, None]).squeeze(-1) - normalizer, entropy

    logprobs, entropies = [], []
    for start in range(0, len(flat), chunk):
        states, tokens = flat[start:start + chunk], targets[start:start + chunk]
        if with_entropy:
            with torch.no_grad():
                lp, ent = with_entropy_of(states, tokens)
            logprobs.append(lp)
            entropies.append(ent)
        elif torch.is_grad_enabled():  # recomputed in the backward pass: one chunk's logits live
            logprobs.append(checkpoint(logprob_of, states, tokens, use_reentrant=False))
        else:
            logprobs.append(logprob_of(states, tokens))
    return torch.cat(logprobs), (torch.cat(entropies) if with_entropy else None)


def _unflatten(flat: Any, sizes: list[int]) -> Any:
    import torch

    span = max(sizes)
    return torch.stack([torch.nn.functional.pad(part, (0, span - len(part)))
                        for part in torch.split(flat, sizes)])


def _output_head(model: Any) -> Any:
    """The output projection when `model.forward` is exactly `lm_head(decoder(...))`, else None."""
    config = getattr(model, "config", None)
    if getattr(config, "final_logit_softcapping", None) or not hasattr(model, "get_decoder"):
        return None
    head = model.get_output_embeddings()
    return head if head is not None and model.get_decoder() is not model else None


def _takes_logits_to_keep(model: Any) -> bool:
    """transformers' causal LMs (Llama, Qwen2, Mistral, ...) accept `logits_to_keep`."""
    return "logits_to_keep" in inspect.signature(type(model).forward).parameters
