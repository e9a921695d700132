"""What defines a pass@k probe (`PassKSettings`), what it returns (`PassKResult`), and the checks
and choices made before anything is sampled: shared by the sampling probe (mta_probe/passk.py)
and the scoring of completions made elsewhere (mta_probe/rescore.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.estimators import AdaptiveSettings, FitSettings, PassAtK
from mta_probe.sampling import SamplingSettings, is_greedy
from mta_probe.tasks import LoadedTask, TaskOptions, load_task

PASSK_FILE = "passk.json"
PLOT_FILE = "passk.png"


@dataclass(frozen=True)
class PassKSettings:
    """Everything that defines a pass@k probe.

    Attributes:
        model: an alias (`qwen`, `llama`, `mistral`, `smollm2-135m`), a hub ID or a local path.
        task: a TASKS key, `gym:NAME`, or a JSONL file. The default, "capitals", is one on which
            the embedded model's curve rises (pass@1 about 0.3, pass@16 0.9: docs/passk.md).
        n: samples per problem. The paper estimates pass@k up to k = 512 (Figure 10); 16 is what
            2 CPU cores sample in minutes on the embedded model.
        ks: the k values; None means powers of two up to n (Figure 2's axis).
        sampling: temperature 1.0 and top-p 1.0 as in Section 3; max_tokens per completion;
            stop strings (None: the continuation markers for raw prompts, none for chat; the
            resolved list is what the run identity records).
        seed: the run seed; each problem samples with a seed derived from it and the problem id.
        backend: "hf", "vllm", "openai", ...; None picks vLLM with a GPU, else hf.
        chat: apply the chat template; None follows the model (instruct models yes, base no).
        limit: keep the first N problems of the task.
        task_options: data paths, reasoning-gym generator options, a JSONL file's verifier.
        out: the run directory; None means `$MTA_HOME/runs/<model>__<task>__n<n>__s<seed>`.
        lenient: score unmarked answers by the last number in the text ("math-lenient",
            "gym-lenient"); off by default because a rambling weak model hits small numbers by luck.
        verify_workers: verifier processes (0 runs them in-process: no timeout protection).
        verify_timeout: seconds one verification may take before its worker is killed.
        engine_options: passed to the backend (e.g. `base_url` for openai, `tensor_parallel_size`).
        fit: the fitted curve written beside the unbiased one, up to `fit.fit_to` (1024: twice the
            paper's largest K, 512); None skips it (about 0.3 CPU s). Not part of the run's
            identity: `mta probe fit` redoes it on a finished run.
        adaptive: spend `adaptive.budget` samples in rounds (its `first` must equal n, the
            opening round); None samples n per problem. Part of the run's identity.
        loggers: experiment trackers the finished curve, its summary and a table of samples
            also go to (keys of mta_probe.runs.TRACKERS that mta logs to itself: "console",
            "tensorboard", "wandb"; mta_probe/tracked.py says what each gets). Not part of the
            run's identity.
    """

    model: str = "smollm2-135m"
    task: str = "capitals"
    n: int = 16
    ks: tuple[int, ...] | None = None
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    seed: int = 0
    backend: str | None = None
    chat: bool | None = None
    limit: int | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)
    out: Path | None = None
    lenient: bool = False
    verify_workers: int = 2
    verify_timeout: float = 10.0
    engine_options: dict[str, Any] = field(default_factory=dict)
    fit: FitSettings | None = field(default_factory=FitSettings)
    adaptive: AdaptiveSettings | None = None
    loggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class PassKResult:
    """A finished probe: where it lives and what it measured."""

    run_dir: Path
    curve: PassAtK
    payload: dict[str, Any]


def check_verification(s: PassKSettings) -> None:
    """Refuse verifier settings that cannot work, before anything slow starts."""
    if s.verify_workers < 0:
        raise BadInputError(f"--verify-workers must be 0 or more, got {s.verify_workers}")
    if not s.verify_timeout > 0:  # also refuses nan
        raise BadInputError(f"--verify-timeout must be positive, got {s.verify_timeout}")


def load_scored_task(s: PassKSettings) -> LoadedTask:
    """The task, with the lenient variant of its verifier when asked for and one exists."""
    from mta_probe.verify import VERIFIERS, get_verifier

    task = load_task(s.task, limit=s.limit, options=s.task_options)
    if s.lenient:
        twin = get_verifier(task.verifier).lenient
        if twin is None:
            having = " and ".join(name for name, row in VERIFIERS.items() if row.lenient)
            raise BadInputError(f"--lenient applies to the {having} verifiers, not {task.verifier!r}")
        task = replace(task, verifier=twin)
    return task


def forced_n(s: PassKSettings, say: Callable[[str], None]) -> PassKSettings:
    """The settings with n = 1 when decoding is greedy (every sample would be the same, and
    vLLM refuses n > 1 at temperature 0), saying so."""
    if not is_greedy(s.sampling) or s.n == 1:
        return s
    say(f"greedy decoding gives one completion per problem: n forced from {s.n} to 1")
    return replace(s, n=1)
