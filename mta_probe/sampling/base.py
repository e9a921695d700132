"""The one interface every sampling engine implements.

A backend is built once per model (`chat=True` renders each prompt as one user turn through the
model's chat template; `chat=False` feeds the text raw) and returns `n` completions per prompt. Each call of `sample` is one
*work unit*: its output depends only on (prompts, n, settings, seed), never on what ran before,
which is what makes a killed probe resume to the same numbers (same backend, same machine).

Seeds: vLLM draws child i of an n-sample request from `seed + i`, so two problems whose seeds
lie closer than n share samples. `problem_seed` therefore hands out multiples of `SEED_STRIDE`
(>= any n vLLM accepts): the streams [seed, seed + n) of different problems never meet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.verify import CONTINUATION_MARKERS

# Spacing of per-problem seeds: 2^16 > 16384, vLLM's largest n (VLLM_MAX_N_SEQUENCES default).
SEED_STRIDE = 1 << 16
# 47 hash bits x the stride stay below 2^63: vLLM (and its OpenAI server) take int64 seeds.
SEED_SLOT_BITS = 47
# Recorded in run.json: a run directory sampled under other seeds is never resumed with these.
SEED_SCHEME = "blake2b-47bit-slot x 2^16"
# Finish reasons whose completions are scored; any other (abort, error, repetition, ...) is a
# failed generation: retried or recorded as a failure, never counted as a wrong answer.
SCORED_FINISH_REASONS = frozenset({"stop", "length"})


@dataclass(frozen=True)
class SamplingSettings:
    """How completions are drawn. Defaults follow the paper.

    Attributes:
        temperature: 1.0, as in Section 3 ("temperature = 1.0") for rollouts and pass@k.
        top_p: 1.0 (nucleus sampling off), as in the paper's scripts.
        max_tokens: new tokens per completion; None: decided by the probe (`for_model`) before
            anything is sampled: the task's own budget where its row has one (`Task.max_tokens`),
            else the model's (`ModelRef.default_max_tokens`: the paper's 8192, Section 3, for
            hub models; fewer for the embedded one, which a CPU samples). An engine handed None
            refuses it.
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
    max_tokens: int | None = None
    greedy: bool = False
    stop: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Engines disagree on what to do with these (some clamp, some raise deep inside);
        # refuse them here, before a model is loaded.
        if self.temperature < 0:
            raise BadInputError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise BadInputError(f"top-p must lie in (0, 1], got {self.top_p}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise BadInputError(f"max-tokens must be at least 1, got {self.max_tokens}")
        if self.stop is not None and not all(isinstance(s, str) and s for s in self.stop):
            raise BadInputError(f"stop strings must be non-empty text, got {self.stop!r}")


    def for_model(self, default_max_tokens: int) -> SamplingSettings:
        """These settings with `max_tokens` decided: as given, else the model's own default."""
        return self if self.max_tokens is not None else replace(self, max_tokens=default_max_tokens)

    def token_budget(self) -> int:
        """`max_tokens`, which an engine needs decided.

        Raises:
            BadInputError: it is None (a caller skipped `for_model`).
        """
        if self.max_tokens is None:
            raise BadInputError("max_tokens is not decided: SamplingSettings.for_model(the model's default) first")
        return self.max_tokens


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
        finish_reason: "stop" (EOS or stop string) or "length" (hit max_tokens) are scored;
            an engine may also report "abort", "error", "repetition", ... (a failed generation,
            see SCORED_FINISH_REASONS).
        token_ids: the new token ids, when the engine exposes them (hf, vLLM); the local RL
            trainer scores exactly these, since re-tokenizing the text need not give them back.
    """

    text: str
    tokens: int
    finish_reason: str
    token_ids: tuple[int, ...] = ()

    @property
    def scored(self) -> bool:
        """True when the generation ended normally (EOS, stop string or max_tokens)."""
        return self.finish_reason in SCORED_FINISH_REASONS


def is_greedy(settings: SamplingSettings) -> bool:
    """Greedy decoding: asked for, or a temperature vLLM treats as zero (below 1e-5)."""
    return settings.greedy or settings.temperature < 1e-5


def continued_seeds(seeds: list[int], start: list[int] | None) -> list[int]:
    """Request seeds that start each prompt at sample start[i], for engines that draw child j
    of a request seeded s from s + j (vLLM, its OpenAI server): seeds[i] + start[i]."""
    if start is None:
        return list(seeds)
    if len(start) != len(seeds):
        raise ValueError(f"{len(start)} starts for {len(seeds)} prompts")
    return [s + first for s, first in zip(seeds, start)]


def prompt_seeds(seed: int | list[int], count: int) -> list[int]:
    """One seed per prompt: the list as given, or `seed + i * SEED_STRIDE` for prompt i."""
    if isinstance(seed, int):
        return [seed + i * SEED_STRIDE for i in range(count)]
    if len(seed) != count:
        raise ValueError(f"{len(seed)} seeds for {count} prompts")
    return list(seed)


class Sampler:
    """A sampling engine: every backend subclasses this. Construct it once per model; call
    `sample` (or `draw`) per work unit.

    Every ability a caller may ask of an engine is declared here with the answer of an engine
    that lacks it, so callers read attributes instead of probing for them:

    - `prompts_per_call`: how many prompts a caller should hand over at once: 1 for an engine
      that batches a prompt's n samples itself (hf's `generate`), hundreds for one that
      schedules requests (vLLM, a server).
    - `continues`: True when `sample` and `stream` take `start`: prompt i then gets samples
      start[i] .. start[i] + n[i] - 1, sample j drawn from the same stream as in a call that
      began at 0, so adaptive sampling can add samples to a problem in later rounds (vLLM and
      servers: a request seeded seed + j; hf's decode engine: the streams (seed, j)).
    - `context_window`: tokens a prompt and its completion may take together; None when the
      engine cannot tell (a server reports an over-long prompt itself).
    - `encode(prompt)`: the prompt's token ids as the engine feeds them; None when it cannot.
    - `stream(...)`: (prompt index, completions) as each prompt finishes, in any order
      (data-parallel replicas finish out of order); by default `sample` calls of
      `prompts_per_call` prompts, in order.
    - `preflight(**engine_options)`: checks the options before a run directory is written or a
      model loads (vLLM's parallel layout against the GPUs Ray sees); by default none.
    """

    name: str = "sampler"
    chat: bool = False
    prompts_per_call: int = 1
    continues: bool = False
    context_window: int | None = None

    def sample(
        self, prompts: list[str], n: int | list[int], settings: SamplingSettings, seed: int | list[int],
        start: list[int] | None = None,
    ) -> list[list[Completion]]:
        """Return, for each prompt, `n` completions (n: one count, or one per prompt).
        Deterministic given the arguments; with a list of seeds, prompt i's completions depend
        only on its prompt and seeds[i]."""
        raise NotImplementedError

    def stream(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seeds: list[int], start: list[int] | None = None) -> Iterator[tuple[int, list[Completion]]]:
        """(prompt index, its completions) as they are ready (see the class docstring)."""
        extra = {} if start is None else {"start": start}
        step = max(1, self.prompts_per_call)
        for first in range(0, len(prompts), step):
            part = slice(first, first + step)
            outputs = self.sample(prompts[part], n if isinstance(n, int) else n[part], settings, seeds[part],
                                  **{key: value[part] for key, value in extra.items()})
            yield from enumerate(outputs, start=first)

    def encode(self, prompt: str) -> list[int] | None:
        """The prompt's token ids as the engine sees them; None when this engine cannot tell."""
        return None

    @staticmethod
    def preflight(**engine_options: Any) -> None:
        """Refuse engine options that cannot work here, before anything is written or loaded."""

    def close(self) -> None:
        """Free the engine (GPU memory, server sessions)."""


def problem_seed(run_seed: int, problem_id: str) -> int:
    """A seed that depends on the run seed and the problem alone, not on order or batching.

    It is a multiple of SEED_STRIDE, so the n child streams seed, seed + 1, ... of one problem
    stay clear of every other problem's (see `check_seed_streams`).
    """
    digest = hashlib.blake2b(f"{run_seed}:{problem_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> (64 - SEED_SLOT_BITS)) * SEED_STRIDE


def check_seed_streams(seeds: list[int], n: int) -> None:
    """Refuse seeds whose n-sample streams [seed, seed + n) would overlap.

    Raises:
        BadInputError: n exceeds SEED_STRIDE, or two problems drew the same slot (a 47-bit hash
            collision: about 4e-7 for 10,000 problems; another run seed avoids it).
    """
    if n > SEED_STRIDE:
        raise BadInputError(f"n={n} exceeds {SEED_STRIDE} samples per problem, the seed spacing")
    ordered = sorted(seeds)
    for low, high in pairwise(ordered):
        if high - low < n:
            raise BadInputError(f"two problems' seed streams overlap ({low}, {high}); use another --seed")


def draw(sampler: Sampler, prompts: list[str], n: int | list[int], settings: SamplingSettings,
         seeds: list[int], start: list[int] | None = None) -> Iterator[tuple[int, list[Completion]]]:
    """(prompt index, its n completions) as they are ready, through the sampler's `stream`.
    `n` may be one count per prompt, and `start` each prompt's first sample index (see `Sampler`).

    Raises:
        BadInputError: a start above 0 for a sampler that cannot continue a prompt's samples.
    """
    if start is not None and any(start) and not sampler.continues:
        raise BadInputError(f"the {sampler.name} sampler cannot start a problem at sample j > 0, "
                            "which adaptive sampling needs (docs/backends.md)")
    yield from sampler.stream(prompts, n, settings, seeds, start)


def beyond_context(sampler: Sampler, prompts: list[str]) -> list[tuple[int, int, int]]:
    """(index, prompt tokens, context window) of each prompt that leaves the model no room to
    generate: as long as its context window or longer. Empty when the sampler cannot tell (an
    OpenAI-compatible server reports such a prompt itself, as one error line)."""
    window = sampler.context_window
    if not window:
        return []
    encoded = [sampler.encode(prompt) for prompt in prompts]
    lengths = [(i, len(ids)) for i, ids in enumerate(encoded) if ids is not None]
    return [(i, length, window) for i, length in lengths if length >= window]
