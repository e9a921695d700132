"""An engine that runs out of GPU memory: one line that names the setting that helps.

CUDA out-of-memory surfaces as `torch.cuda.OutOfMemoryError` (transformers, vLLM's model load),
as a RuntimeError whose text says "out of memory" (older torch, NCCL), or from vLLM as a
ValueError when no memory is left for the KV cache. `open_sampler` builds every engine inside
`guard`, and wraps the sampler so each sampling call is inside it too (`GuardedSampler`): the
probe stops with `GpuMemoryError`, everything verified so far already on disk, and the same
command resumes once the setting is changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mta_probe.errors import GpuMemoryError
from mta_probe.sampling.base import Sampler

# What helps, per engine: the options that trade memory for speed or context.
HINTS = {
    "hf": "use fewer new tokens (--max-tokens), fewer rows at once (--engine-option max_batch=N, "
          "or problems_per_call=N with the CPU decode engine), a smaller model, or vLLM with "
          "--tensor-parallel on several GPUs",
    "vllm": "lower --max-model-len (the KV cache each sequence may take), lower or raise "
            "--gpu-memory-utilization (a share of the GPU others also use), or spread the model "
            "with --tensor-parallel 2 or more",
}
KV_CACHE_WORDS = ("no available memory for the cache blocks", "insufficient memory for kv cache",
                  "larger than the available kv cache memory")


def is_out_of_memory(error: BaseException) -> bool:
    """True for the ways engines report that the GPU ran out of memory."""
    text = str(error).lower()
    try:
        import torch

        if isinstance(error, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:
        pass
    if isinstance(error, RuntimeError) and "out of memory" in text:
        return True
    return isinstance(error, ValueError) and any(words in text for words in KV_CACHE_WORDS)


@contextlib.contextmanager
def guard(backend: str, phase: str) -> Iterator[None]:
    """Turn an out-of-memory error raised inside into a GpuMemoryError naming what helps."""
    try:
        yield
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        first = (str(error).strip().splitlines() or [""])[0][:160]
        hint = HINTS.get(backend, "free GPU memory or use a smaller model")
        raise GpuMemoryError(f"the GPU ran out of memory while {phase} ({first}): {hint}; "
                             "what was verified is kept and the same command resumes") from None


class GuardedSampler(Sampler):
    """A sampler whose `sample` and `stream` run inside `guard`; every ability is the wrapped
    sampler's own."""

    def __init__(self, sampler: Sampler, backend: str) -> None:
        self.inner, self._backend = sampler, backend

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def chat(self) -> bool:  # type: ignore[override]
        return self.inner.chat

    @property
    def prompts_per_call(self) -> int:  # type: ignore[override]
        return self.inner.prompts_per_call

    @property
    def continues(self) -> bool:  # type: ignore[override]
        return self.inner.continues

    @property
    def context_window(self) -> int | None:  # type: ignore[override]
        return self.inner.context_window

    def encode(self, prompt: str) -> list[int] | None:
        return self.inner.encode(prompt)

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        with guard(self._backend, "sampling"):
            return self.inner.sample(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with guard(self._backend, "sampling"):
            yield from self.inner.stream(*args, **kwargs)

    def close(self) -> None:
        self.inner.close()
