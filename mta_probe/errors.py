"""The one exception family of mta. The CLI turns any of these into one red line and exit code 2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class MtaError(Exception):
    """Base of every error mta raises on purpose: bad input, missing data, a misconfigured backend."""


class UnknownModelError(MtaError):
    """The model is neither an alias, a local path, nor a hub ID that can be resolved."""


class UnknownTaskError(MtaError):
    """The task name is not in TASKS, not `gym:NAME` of a reasoning-gym dataset, nor a JSONL file."""


class BadInputError(MtaError):
    """An option or a file the user gave cannot be used (k > n, n < 1, unreadable JSONL, ...)."""


class BackendError(MtaError):
    """A sampling backend cannot run here (package missing, no GPU, server unreachable)."""


class RunMismatchError(MtaError):
    """An existing run directory belongs to another model, task or setting."""


class DataUnavailableError(MtaError):
    """A task's data cannot be loaded (no local clone, no hub access)."""


class ModelUnavailableError(MtaError):
    """A model cannot be had: the hub is unreachable, the model is gated or does not exist, the
    revision does not exist, or a local checkpoint folder is incomplete or corrupt."""


class DiskFullError(MtaError):
    """A write failed for lack of space (or a file-size limit); what was written before is kept."""


class GpuMemoryError(MtaError):
    """The GPU ran out of memory loading or running an engine; the message names what helps."""


def row_of(table: Mapping[str, T], name: str, kind: str) -> T:
    """The row of a table (VERIFIERS, BACKENDS, TECHNIQUES, ...) called `name`.

    Raises:
        BadInputError: no such row; the one line lists the known names ("unknown backend 'tpu';
            known: hf, vllm, openai").
    """
    if name not in table:
        raise BadInputError(f"unknown {kind} {name!r}; known: {', '.join(table)}")
    return table[name]


def first_line(error: BaseException) -> str:
    """An error's message cut to its first line (libraries append hints and tracebacks below),
    or its type's name when it has none."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
