"""The one interface every sampling engine implements.

A backend is built once per model (`chat=True` renders each prompt as one user turn through the
model's chat template; `chat=False` feeds the text raw) and returns `n` completions per prompt. Each call of `sample` is one
*work unit*: its output depends only on (prompts, n, settings, seed), never on what ran before,
which is what makes a killed probe resume to the same numbers (same backend, same machine).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Protocol

from mta_probe.errors import BadInputError
from mta_probe.tasks import CONTINUATION_MARKERS


@dataclass(frozen=True)
class SamplingSettings:
    """How completions are drawn. Defaults follow the paper.

    Attributes:
        temperature: 1.0, as in Section 3 ("temperature = 1.0") for rollouts and pass@k.
        top_p: 1.0 (nucleus sampling off), as in the paper's scripts.
        max_tokens: new tokens per completion. The paper allows 8192 (Section 3); a CPU probe of
            the embedded model uses far fewer, so the CLI takes the model's own default.
        greedy: decode greedily (temperature and top_p ignored); used by the contamination probe.
        stop: strings that end a completion, left out of its text (vLLM's and OpenAI's `stop`,
            transformers' `stop_strings`). None means "by prompt format", resolved by
            `resolve_stop` before a run records its identity: for raw prompts (a model without a
            chat template) the continuation markers, one per line start ("\nProblem:",
            "\nQuestion:", "\n### Question", "\nQ:"), as lm-eval stops base models; for chat
            prompts none (the chat template's end-of-turn token stops them). () stops nowhere.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 8192
    greedy: bool = False
    stop: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Engines disagree on what to do with these (some clamp, some raise deep inside);
        # refuse them here, before a model is loaded.
        if self.temperature < 0:
            raise BadInputError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise BadInputError(f"top-p must lie in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise BadInputError(f"max-tokens must be at least 1, got {self.max_tokens}")
        if self.stop is not None and not all(isinstance(s, str) and s for s in self.stop):
            raise BadInputError(f"stop strings must be non-empty text, got {self.stop!r}")


# Where a base model's next imagined exam item begins: a continuation marker at a line start.
BASE_MODEL_STOP = tuple(f"\n{marker}" for marker in CONTINUATION_MARKERS)


def resolve_stop(settings: SamplingSettings, chat: bool) -> SamplingSettings:
    """`settings` with `stop` decided: as given, else BASE_MODEL_STOP for raw prompts, () for chat."""
    if settings.stop is not None:
        return settings
    return replace(settings, stop=() if chat else BASE_MODEL_STOP)


def cut_at_stop(text: str, stop: tuple[str, ...] | None) -> tuple[str, bool]:
    """`text` before the first stop string, and whether one was found (for engines that, like
    transformers, keep the stop string in what they return)."""
    found = [i for i in (text.find(s) for s in stop or ()) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


@dataclass(frozen=True)
class Completion:
    """One sampled continuation.

    Attributes:
        text: the decoded new text, special tokens removed.
        tokens: number of new tokens generated (EOS included when it was generated).
        finish_reason: "stop" (EOS or stop string) or "length" (hit max_tokens).
        token_ids: the new token ids, when the engine exposes them (hf, vLLM); the local RL
            trainer scores exactly these, since re-tokenizing the text need not give them back.
    """

    text: str
    tokens: int
    finish_reason: str
    token_ids: tuple[int, ...] = ()


def prompt_seeds(seed: int | list[int], count: int) -> list[int]:
    """One seed per prompt: the list as given, or `seed + i` for prompt i of the call."""
    if isinstance(seed, int):
        return [seed + i for i in range(count)]
    if len(seed) != count:
        raise ValueError(f"{len(seed)} seeds for {count} prompts")
    return list(seed)


class Sampler(Protocol):
    """A sampling engine. Construct it once per model; call `sample` per work unit.

    `prompts_per_call` is how many prompts a caller should hand over at once: 1 for an engine
    that batches a prompt's n samples itself (hf), hundreds for one that schedules requests
    (vLLM, a server).
    """

    name: str
    chat: bool
    prompts_per_call: int

    def sample(
        self, prompts: list[str], n: int, settings: SamplingSettings, seed: int | list[int]
    ) -> list[list[Completion]]:
        """Return, for each prompt, `n` completions. Deterministic given the arguments; with a
        list of seeds, prompt i's completions depend only on its prompt and seeds[i]."""
        ...

    def close(self) -> None:
        """Free the engine (GPU memory, server sessions)."""
        ...


def problem_seed(run_seed: int, problem_id: str) -> int:
    """A seed that depends on the run seed and the problem alone, not on order or batching."""
    return zlib.crc32(f"{run_seed}:{problem_id}".encode()) & 0x7FFFFFFF
