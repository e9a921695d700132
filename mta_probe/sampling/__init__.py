"""Sampling: which model a name means, and the backends that draw completions from it.

The verbs: `resolve_model` turns a name into a ModelRef (never contacting the hub) and
`prepare_model` converts a GGUF once; `open_sampler` builds a backend by name (BACKENDS) and its
`sample` returns n completions per prompt; `draw` yields them prompt by prompt as they are ready
(out of order from data-parallel replicas); `problem_seed` is a problem's seed within a run and
`check_seed_streams` proves a run's seed streams disjoint.
Each backend module imports its engine (torch, vllm) lazily, so importing this package is
cheap and a missing engine is reported when it is asked for, naming the extra to install.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling.base import (
    SEED_SCHEME,
    Completion,
    Sampler,
    SamplingSettings,
    beyond_context,
    check_seed_streams,
    draw,
    is_greedy,
    problem_seed,
    resolve_stop,
)
from mta_probe.sampling.memory import GuardedSampler, guard
from mta_probe.sampling.models import ModelRef, prepare_model, resolve_model


def _hf() -> type:
    from mta_probe.sampling.hf import HFSampler

    return HFSampler


def _vllm() -> type:
    from mta_probe.sampling.vllm import VLLMSampler

    return VLLMSampler


def _openai() -> type:
    from mta_probe.sampling.openai import OpenAISampler

    return OpenAISampler


# Name -> the sampler class, imported only when that backend is asked for.
BACKENDS: dict[str, Callable[[], type]] = {
    "hf": _hf,
    "vllm": _vllm,
    "openai": _openai,
}

# The import each backend needs, and the extra that provides it.
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "hf": ("transformers", "pip install mta"),
    "vllm": ("vllm", "pip install 'mta[vllm]'"),
    "openai": ("openai", "pip install 'mta[openai]'"),
}


def open_sampler(
    backend: str | None, model: ModelRef, *, chat: bool | None = None, **engine_options
) -> Sampler:
    """Build the sampler for `model` on `backend`.

    Args:
        backend: a key of `BACKENDS`; None picks "vllm" when a CUDA GPU and vllm are both
            present, else "hf".
        model: the resolved model (`mta_probe.sampling.models.resolve_model`).
        chat: render prompts through the chat template; None takes `model.chat`.
        **engine_options: passed to the backend's constructor (`max_batch`, `device`,
            `tensor_parallel_size`, `data_parallel_size`, `base_url`, ...).

    Returns:
        A ready `Sampler`.

    Raises:
        BadInputError: the backend name is unknown.
        BackendError: the backend's package is missing (the message names the extra).
        GpuMemoryError: the GPU ran out of memory loading the model (the sampler's `sample`
            raises it too, when sampling runs out).
    """
    name = backend or default_backend()
    if name not in BACKENDS:
        raise BadInputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, extra = REQUIREMENTS[name]
    if not _importable(module):
        raise BackendError(f"the {name} backend needs the {module} package: {extra}")
    with guard(name, "loading the model"):
        sampler = BACKENDS[name]()(model, chat, **engine_options)
    return GuardedSampler(sampler, name)


def resolve_backend(backend: str | None) -> str:
    """The backend name a run will use: `backend`, or the default; unknown names are refused.

    Raises:
        BadInputError: the name is not a key of BACKENDS.
    """
    name = backend or default_backend()
    if name not in BACKENDS:
        raise BadInputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


def check_engine_options(backend: str, options: dict) -> None:
    """Refuse options the backend does not take (`--base-url` on hf, say), and a layout the
    machine cannot hold (vLLM's tensor x data parallel against the GPUs Ray sees), before a run
    starts.

    Raises:
        BadInputError: naming the options and the backend.
        BackendError: the parallel layout does not fit (one line naming what Ray sees).
    """
    sampler = BACKENDS[backend]()
    accepted = set(inspect.signature(sampler).parameters) - {"self", "model", "chat"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BadInputError(f"the {backend} backend takes no {', '.join(unknown)} "
                            f"(it takes {', '.join(sorted(accepted))})")
    preflight = getattr(sampler, "preflight", None)
    if preflight is not None:
        preflight(**options)


def default_backend() -> str:
    """"vllm" when a CUDA GPU and vllm are both present, otherwise "hf"."""
    if not _importable("vllm"):
        return "hf"
    import torch

    return "vllm" if torch.cuda.is_available() else "hf"


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


__all__ = [
    "BACKENDS",
    "beyond_context",
    "SEED_SCHEME",
    "Completion",
    "ModelRef",
    "Sampler",
    "SamplingSettings",
    "check_engine_options",
    "check_seed_streams",
    "default_backend",
    "draw",
    "is_greedy",
    "open_sampler",
    "prepare_model",
    "problem_seed",
    "resolve_backend",
    "resolve_model",
    "resolve_stop",
]
