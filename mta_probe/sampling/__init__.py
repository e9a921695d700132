"""Sampling: which model a name means, and the backends that draw completions from it.

The verbs: `resolve_model` turns a name into a ModelRef (never contacting the hub) and
`prepare_model` converts a GGUF once; `open_sampler` builds a backend by name (BACKENDS, a `Backend` record each) and its
`sample` returns n completions per prompt; `draw` yields them prompt by prompt as they are ready
(out of order from data-parallel replicas); `problem_seed` is a problem's seed within a run and
`check_seed_streams` proves a run's seed streams disjoint.
Each backend module imports its engine (torch, vllm) lazily, so importing this package is
cheap and a missing engine is reported when it is asked for, naming the extra to install.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mta_probe.errors import BackendError, BadInputError, row_of
from mta_probe.exports import lazy_exports
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
from mta_probe.sampling.models import ALIASES, ModelRef, converted_dir, prepare_model, resolve_model

if TYPE_CHECKING:
    from mta_probe.sampling.hf import HFSampler, count_new_tokens

# torch loads when these are first used (mta_probe/exports.py).
_LAZY = {"HFSampler": "mta_probe.sampling.hf", "count_new_tokens": "mta_probe.sampling.hf"}
__getattr__, _ = lazy_exports(__name__, _LAZY)


def _hf() -> type[Sampler]:
    from mta_probe.sampling.hf import HFSampler

    return HFSampler


def _vllm() -> type[Sampler]:
    from mta_probe.sampling.vllm import VLLMSampler

    return VLLMSampler


def _openai() -> type[Sampler]:
    from mta_probe.sampling.openai import OpenAISampler

    return OpenAISampler


@dataclass(frozen=True)
class Backend:
    """One row of BACKENDS.

    Attributes:
        load: the sampler class, imported only when this backend is asked for.
        requires: the import it needs ...
        install: ... and how to get it (said when it is missing).
        summary: one line for `--backend`'s help.
        loads_model: mta loads (or fetches and converts) the model itself; False for a server,
            which holds its own model (mta then never downloads it).
    """

    load: Callable[[], type[Sampler]]
    requires: str
    install: str
    summary: str
    loads_model: bool = True


BACKENDS: dict[str, Backend] = {
    "hf": Backend(_hf, "transformers", "pip install mta", "transformers, on one GPU or the CPU"),
    "vllm": Backend(_vllm, "vllm", "pip install 'mta[vllm]'",
                    "vLLM on GPUs, data-parallel replicas on Ray with --data-parallel"),
    "openai": Backend(_openai, "openai", "pip install 'mta[openai]'",
                      "an OpenAI-compatible server (--base-url), e.g. vllm serve", loads_model=False),
}


def get_backend(name: str) -> Backend:
    """The row of BACKENDS called `name`.

    Raises:
        BadInputError: no such backend (the message lists the known ones).
    """
    return row_of(BACKENDS, name, "backend")


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
    name = resolve_backend(backend)
    row = BACKENDS[name]
    if not _importable(row.requires):
        raise BackendError(f"the {name} backend needs the {row.requires} package: {row.install}")
    with guard(name, "loading the model"):
        sampler = row.load()(model, chat, **engine_options)
    return GuardedSampler(sampler, name)


def resolve_backend(backend: str | None) -> str:
    """The backend name a run will use: `backend`, or the default; unknown names are refused.

    Raises:
        BadInputError: the name is not a key of BACKENDS.
    """
    name = backend or default_backend()
    get_backend(name)
    return name


def check_engine_options(backend: str, options: dict) -> None:
    """Refuse options the backend does not take (`--base-url` on hf, say), and a layout the
    machine cannot hold (vLLM's tensor x data parallel against the GPUs Ray sees), before a run
    starts.

    Raises:
        BadInputError: naming the options and the backend.
        BackendError: the parallel layout does not fit (one line naming what Ray sees).
    """
    sampler = get_backend(backend).load()
    accepted = set(inspect.signature(sampler).parameters) - {"self", "model", "chat"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BadInputError(f"the {backend} backend takes no {', '.join(unknown)} "
                            f"(it takes {', '.join(sorted(accepted))})")
    sampler.preflight(**options)


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
    *_LAZY,
    "ALIASES",
    "converted_dir",
    "BACKENDS",
    "Backend",
    "get_backend",
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
