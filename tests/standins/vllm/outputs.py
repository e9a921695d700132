"""vLLM's output types (vllm/outputs.py, 0.32): the fields mta and Ray read, with the same
required arguments (vLLM gives `cumulative_logprob`, `logprobs` and `prompt_logprobs` no default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    logprobs: Any
    routed_experts: Any = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None

    def finished(self) -> bool:
        return self.finish_reason is not None


class RequestOutput:
    def __init__(self, request_id: str, prompt: str | None, prompt_token_ids: list[int] | None,
                 prompt_logprobs: Any, outputs: list[CompletionOutput], finished: bool, metrics: Any = None,
                 **kwargs: Any) -> None:
        self.request_id, self.prompt, self.prompt_token_ids = request_id, prompt, prompt_token_ids
        self.prompt_logprobs, self.outputs, self.finished, self.metrics = prompt_logprobs, outputs, finished, metrics
        self.encoder_prompt = kwargs.get("encoder_prompt")
        self.num_cached_tokens = kwargs.get("num_cached_tokens")


class PoolingRequestOutput:
    """Present because Ray's vLLM stage checks outputs against it; never produced here."""
