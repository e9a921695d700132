"""What mta asks of an engine, field by field, and how it reads the reason a sample ended.

Every sampling field is sent explicitly. An engine fills a field left unset from its own
defaults, and `vllm serve` takes them from the model's `generation_config.json` (Qwen2.5-Instruct
ships top_k 20 and repetition_penalty 1.05; vLLM's `CompletionRequest.to_sampling_params`), so an
unset field lets the server change the protocol. The values below are the neutral ones: the
paper samples at temperature 1.0 and top-p 1.0 with nothing else (Section 3; its scripts set
top_k -1).

Finish reasons (vLLM's `FinishReason`: stop, length, abort, error, repetition; the OpenAI API
adds content_filter, tool_calls): only "stop" and "length" are scored. An aborted or errored
sample is drawn again with its own seed (`retry_failed`); one that still fails, or ends for a
reason mta did not ask for (repetition detection), is recorded as a failure, never as a wrong
answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.sampling.base import Completion, SamplingSettings, is_greedy

# Failures worth drawing again: transient engine trouble (vLLM: "retryable request-level
# internal error", a client abort). "repetition" would repeat itself under the same seed.
RETRYABLE_FINISH_REASONS = frozenset({"abort", "error"})

# Fields outside OpenAI's own completion API: vLLM (and SGLang) read them from the body top
# level, which the openai client reaches through `extra_body`.
NON_OPENAI_FIELDS = ("top_k", "min_p", "repetition_penalty", "min_tokens", "stop_token_ids",
                     "ignore_eos", "skip_special_tokens", "include_stop_str_in_output")


def engine_fields(settings: SamplingSettings, n: int, seed: int | None) -> dict[str, Any]:
    """Every sampling field of one request, under vLLM's names.

    Args:
        settings: temperature, top_p, max_tokens, greedy (and `stop` once SamplingSettings
            carries it).
        n: samples drawn by the request; greedy decoding allows 1 only (vLLM refuses more).
        seed: the request's seed (child i draws from seed + i), or None for the engine's stream.

    Raises:
        BadInputError: greedy decoding with n > 1.
    """
    greedy = is_greedy(settings)
    if greedy and n != 1:
        raise BadInputError(f"greedy decoding gives one completion per prompt, not n={n} "
                            "(vLLM refuses n > 1 at temperature 0)")
    return {
        "n": n,
        "temperature": 0.0 if greedy else settings.temperature,
        "top_p": 1.0 if greedy else settings.top_p,
        "top_k": -1,  # off in every vLLM; older releases refuse 0 ("top_k must be -1 (disable)")
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "max_tokens": settings.token_budget(),
        "min_tokens": 0,
        "seed": seed,
        # A `stop` field on SamplingSettings is read when present (added separately).
        "stop": list(getattr(settings, "stop", None) or []),
        "stop_token_ids": [],
        "ignore_eos": False,
        "skip_special_tokens": True,
        "include_stop_str_in_output": False,
    }


def finish_reason(raw: object) -> str:
    """mta's name for an engine's finish reason: the string itself; None (never finished) is
    "error". vLLM < 0.10 hands an enum-like object whose `str` is the name."""
    if raw is None:
        return "error"
    return str(raw).lower()


# Rounds of redrawing aborted or errored samples before they are recorded as failures.
RETRY_ROUNDS = 2


def retry_failed(results: list[list[Completion]], redraw: Callable[[list[tuple[int, int]]], list[Completion]],
                 attempts: int = RETRY_ROUNDS) -> list[list[Completion]]:
    """Draw aborted or errored samples again, in place, up to `attempts` times.

    Args:
        results: per prompt, its completions (replaced in place where a redraw succeeds).
        redraw: given (prompt index, sample index) pairs, returns one fresh completion each,
            drawn from that sample's own seed (the request seed + sample index).
        attempts: redraw rounds at most; what still fails stays a failure.

    Returns:
        `results`.
    """
    for _ in range(attempts):
        failed = [(p, i) for p, completions in enumerate(results)
                  for i, c in enumerate(completions) if c.finish_reason in RETRYABLE_FINISH_REASONS]
        if not failed:
            break
        for (p, i), fresh in zip(failed, redraw(failed)):
            results[p][i] = fresh
    return results
