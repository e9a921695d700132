"""Sampling with a transformers model, on CPU or one GPU.

Two engines run the same model:

* ``decode`` (the default on CPU for Llama, Mistral and Qwen2 models): the minimal decode loop of
  `mta_probe.sampling.decode`. Each prompt is prefilled once; the rows of several prompts decode
  as one batch, each prompt over its own KV cache, finished rows leave the batch, and one
  decoding thread runs per core. Sample j of a prompt with seed s draws from its own uniform
  stream (s, j), and every step acts row by row (checked at start-up), so a prompt's
  completions depend on (prompt, settings, s) alone: not on n (sample j is the same for any
  n > j), nor on the other prompts of the call. `prompts_per_call` is then above 1, so the probe
  hands several problems per call. A call may also start a prompt at sample j (`start`), which
  adaptive sampling needs to give a problem more samples in a later round. Where the row check fails, one prompt decodes at a time and
  a prompt's samples depend on (prompt, n, settings, s).
* ``generate`` (GPU, other architectures, or ``engine="generate"``): transformers `generate`
  on n copies of each prompt (chunks of `max_batch` rows, no padding), seeded per chunk from
  (seed, prompt index, chunk index); a prompt's completions do not depend on the other prompts.
  When n == 1 (greedy contamination probing of many prompts) the prompts themselves are
  batched with left padding, `max_batch` at a time; padding changes floating-point sums, which
  can flip a near-tie in greedy decoding, so `pack_single=False` keeps one prompt per batch.
  Sample j depends on where its chunk began, so `generate` refuses to start a prompt at j > 0.

Both take temperature and top-p from `SamplingSettings` only (no top-k, no checkpoint defaults).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.sampling.base import (
    Completion,
    Sampler,
    SamplingSettings,
    cut_at_stop,
    prompt_seeds,
)
from mta_probe.sampling.decode import DecodeEngine, unsupported_reason
from mta_probe.sampling.models import ModelRef, prepare_model
from mta_probe.sampling.stopping import EXTRA_TOKENS

DEFAULT_MAX_BATCH = 16  # rows per `generate` call
DECODE_MAX_ROWS = 128  # rows one decoding thread runs at once
DECODE_PROMPTS_PER_CALL = 16  # prompts the probe hands the decode engine per call


class HFSampler(Sampler):
    """transformers backend. Build once per model; `sample` once per work unit.

    Args:
        model: the resolved model; a GGUF is converted once by `prepare_model`.
        chat: render prompts through the chat template; None takes `model.chat`.
        device: "cpu", "cuda" or "cuda:N"; None picks the GPU when there is one.
        max_batch: rows per `generate` call (memory bound: rows x (prompt + max_tokens)); for
            the decode engine, rows per decoding thread (default 128).
        threads: torch CPU threads (and decoding threads); None uses the CPUs this process
            may run on.
        pack_single: `generate` only: batch several prompts with left padding when n == 1.
        engine: "decode" or "generate" (see the module doc); None takes decode on CPU when the
            model's architecture allows it.
        dtype: "float32" (the default) or "bfloat16" for the decode engine's projections and KV
            cache. bfloat16 measured no faster on an AVX-512-BF16 CPU without AMX (see
            docs/performance.md) and rounds the logits' inputs, so float32 is the default.
        problems_per_call: with the decode engine, problems per `sample` call the probe hands
            over (default 16); a problem's completions do not depend on it.
        on_status: receives the one-line conversion notice of `prepare_model`.
    """

    name = "hf"

    def __init__(
        self,
        model: ModelRef,
        chat: bool | None = None,
        *,
        device: str | None = None,
        max_batch: int | None = None,
        threads: int | None = None,
        pack_single: bool = True,
        engine: str | None = None,
        dtype: str | None = None,
        problems_per_call: int | None = None,
        on_status=None,
    ) -> None:
        import torch  # lazy: heavy
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the caller draws progress; tqdm lines garble it

        if max_batch is not None and max_batch < 1:
            raise BadInputError(f"max_batch must be >= 1, got {max_batch}")
        if problems_per_call is not None and problems_per_call < 1:
            raise BadInputError(f"problems_per_call must be >= 1, got {problems_per_call}")
        self.problems_per_call = problems_per_call
        if engine not in (None, "decode", "generate"):
            raise BadInputError(f"engine must be decode or generate, got {engine!r}")
        if dtype not in (None, "bfloat16", "float32"):
            raise BadInputError(f"dtype must be bfloat16 or float32, got {dtype!r}")
        self.chat = model.chat if chat is None else chat
        self.pack_single = pack_single
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.threads = threads or len(os.sched_getaffinity(0))
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        checkpoint = prepare_model(model, on_status)
        self.tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        # float32 on CPU: the trainer updates these weights, and kl.py scores with them.
        self.model = AutoModelForCausalLM.from_pretrained(
            checkpoint, dtype=torch.float32 if self.device == "cpu" else torch.bfloat16)
        self.model.to(self.device).eval()
        if self.chat and not self.tokenizer.chat_template:
            raise BadInputError(f"{model.name} has no chat template; sample it with chat off")
        self.eos_ids = _eos_ids(self.model.generation_config.eos_token_id, self.tokenizer)
        pad_id = self.tokenizer.pad_token_id
        self.pad_id = self.eos_ids[0] if pad_id is None else pad_id
        # A clean config, so checkpoint defaults (top_k=20, repetition_penalty=1.05 on some
        # instruct models) cannot leak into sampling that must follow SamplingSettings only.
        self.model.generation_config = GenerationConfig(
            eos_token_id=self.eos_ids, pad_token_id=self.pad_id
        )
        if engine == "decode" and self.device != "cpu":
            raise BadInputError("the decode engine runs on CPU only")
        reason = unsupported_reason(self.model)
        if engine == "decode" and reason is not None:
            raise BadInputError(f"the decode engine does not support {reason}")
        self.uses_decode = engine != "generate" and self.device == "cpu" and reason is None
        self.dtype = dtype or "float32"
        self.max_batch = max_batch or (DECODE_MAX_ROWS if self.uses_decode else DEFAULT_MAX_BATCH)
        self._engine = None  # built on first use: kl.py opens samplers only for their models

    @property
    def engine(self):
        """The decode engine (None when `generate` runs this model); built on first use."""
        if self._engine is None and self.uses_decode and self.model is not None:
            import torch

            self._engine = DecodeEngine(self.model, self.eos_ids, getattr(torch, self.dtype),
                                        max_rows=self.max_batch)
        return self._engine

    @property
    def context_window(self) -> int | None:
        """The model's trained context length (`max_position_embeddings`), when it says."""
        return getattr(self.model.config, "max_position_embeddings", None) if self.model is not None else None

    @property
    def prompts_per_call(self) -> int:
        """Prompts the probe should hand over per call: several when the decode engine runs
        and its rows are checked independent of each other (`problems_per_call`, default 16:
        fewer writes each problem to disk sooner, more keeps more rows decoding), else 1."""
        engine = self.engine
        if engine is None or not engine.shared:
            return 1
        return self.problems_per_call or DECODE_PROMPTS_PER_CALL

    @property
    def continues(self) -> bool:
        """Whether `sample(..., start=...)` works: the decode engine draws sample j of a prompt
        from its own stream (seed, j), so it can start anywhere. `generate` seeds a chunk of
        `max_batch` rows at once: sample j depends on where its chunk began, so it cannot."""
        return self.engine is not None

    def sample(
        self, prompts: list[str], n: int | list[int], settings: SamplingSettings, seed: int | list[int],
        start: list[int] | None = None,
    ) -> list[list[Completion]]:
        """Return n completions for each prompt; same arguments, same texts.

        Args:
            prompts: the prompt texts (rendered through the chat template when `chat`).
            n: completions per prompt, >= 1 (one count for all, or one per prompt).
            settings: temperature, top_p, max_tokens, greedy.
            seed: base seed, or one seed per prompt; chunk seeds are derived from it.
            start: per prompt, the index of its first sample (None: 0); decode engine only.

        Returns:
            One list of n `Completion`s per prompt, in prompt order.

        Raises:
            BadInputError: n < 1, max_tokens < 1, or a start > 0 on the `generate` engine.
        """
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        if any(count < 1 for count in counts):
            raise BadInputError(f"n must be >= 1, got {min(counts)}")
        settings.token_budget()  # refuses an undecided budget (SamplingSettings refused one below 1)
        if start is not None and any(start) and not self.continues:
            raise BadInputError("the hf backend's generate engine seeds max_batch samples at once, so it cannot "
                                "start a problem at sample j > 0 (adaptive --budget): use the CPU decode engine "
                                "(Llama, Mistral, Qwen2 models), vLLM, or an OpenAI-compatible server")
        encoded = [self.encode(prompt) for prompt in prompts]
        if self.engine is not None:
            return self._sample_decode(encoded, counts, settings, prompt_seeds(seed, len(prompts)), start)
        if all(c == 1 for c in counts) and self.pack_single and isinstance(seed, int):
            return [[c] for c in self._sample_packed(encoded, settings, seed)]
        # One seed per prompt: chunk seeds from (that seed, 0, chunk), so a prompt sampled alone
        # with seed s gives what it gives as prompt i of a call with seeds[i] = s.
        seeds = [(s, 0) for s in seed] if isinstance(seed, list) else [(seed, i) for i in range(len(prompts))]
        results = []
        for index, (ids, count) in enumerate(zip(encoded, counts)):
            completions: list[Completion] = []
            for chunk, first in enumerate(range(0, count, self.max_batch)):
                rows = min(self.max_batch, count - first)
                batch = [ids] * rows
                completions += self._generate(batch, settings, chunk_seed(*seeds[index], chunk))
            results.append(completions)
        return results

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        import torch

        self.model = self._engine = None
        self.uses_decode = False
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def encode(self, prompt: str) -> list[int]:
        """The prompt's token ids as `sample` feeds them (chat template applied when `chat`)."""
        if self.chat:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            # The template already wrote any BOS it wants; adding specials would double it.
            return self.tokenizer(text, add_special_tokens=False).input_ids
        return self.tokenizer(prompt).input_ids

    def _sample_decode(self, encoded: list[list[int]], n: list[int], settings: SamplingSettings,
                       seeds: list[int], start: list[int] | None) -> list[list[Completion]]:
        if any(not ids for ids in encoded):
            raise BadInputError("a prompt encodes to no tokens; nothing conditions the first token")
        rows = self.engine.generate(
            encoded, n, seeds, max_tokens=settings.max_tokens, temperature=settings.temperature,
            top_p=settings.top_p, greedy=settings.greedy or settings.temperature <= 0,
            workers=self.threads, stop_row=self._stop_check(settings.stop), start=start)
        return [[self._completion(row, settings.stop) for row in prompt_rows] for prompt_rows in rows]

    def _stop_check(self, stop: tuple[str, ...] | None) -> Callable[[list[int]], bool] | None:
        """For the decode engine: does a row's new text end in a stop string? Reads the last
        few tokens only, as `stopping.StopOnText` does for `generate`."""
        if not stop:
            return None
        window = max(len(s) for s in stop) + EXTRA_TOKENS
        return lambda ids: any(s in self.tokenizer.decode(ids[-window:], skip_special_tokens=True) for s in stop)

    def _sample_packed(
        self, encoded: list[list[int]], settings: SamplingSettings, seed: int
    ) -> list[Completion]:
        completions: list[Completion] = []
        for chunk, start in enumerate(range(0, len(encoded), self.max_batch)):
            batch = encoded[start : start + self.max_batch]
            completions += self._generate(batch, settings, chunk_seed(seed, 0, chunk))
        return completions

    def _generate(
        self, batch: list[list[int]], settings: SamplingSettings, seed: int
    ) -> list[Completion]:
        import torch

        width = max(len(ids) for ids in batch)
        # Left padding keeps every prompt's last token at the end, where generation starts.
        input_ids = torch.tensor([[self.pad_id] * (width - len(ids)) + ids for ids in batch])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
        greedy = settings.greedy or settings.temperature <= 0
        options = {"do_sample": False} if greedy else {
            "do_sample": True,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": 0,
        }
        if settings.stop:  # a row stops on them but keeps them: _completion cuts them off
            from transformers import StoppingCriteriaList

            from mta_probe.sampling.stopping import StopOnText

            options["stopping_criteria"] = StoppingCriteriaList([StopOnText(self.tokenizer, settings.stop, width)])
        # fork_rng keeps the caller's global torch RNG untouched by our seeding.
        with torch.random.fork_rng(devices=[] if self.device == "cpu" else None):
            torch.manual_seed(seed)
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    max_new_tokens=settings.max_tokens,
                    **options,
                )
        new_tokens = output[:, width:].tolist()
        return [self._completion(row, settings.stop) for row in new_tokens]

    def _completion(self, row: list[int], stop: tuple[str, ...] | None = None) -> Completion:
        count, stopped = count_new_tokens(row, self.eos_ids)
        text, hit = cut_at_stop(self.tokenizer.decode(row[:count], skip_special_tokens=True), stop)
        if hit:  # the tokens up to the one that completed the stop string, as vLLM counts them
            count = min_tokens_holding(row[:count], stop, self.tokenizer)
        return Completion(text=text, tokens=count, finish_reason="stop" if stopped or hit else "length",
                          token_ids=tuple(row[:count]))


def count_new_tokens(row: list[int], eos_ids: list[int]) -> tuple[int, bool]:
    """Count a generated row's tokens up to and including its first EOS.

    Rows that finished early are padded by `generate` after their EOS; those pads are not
    tokens the model produced.

    Args:
        row: the new token ids of one row.
        eos_ids: the ids that end a completion.

    Returns:
        (number of tokens, whether an EOS was generated).
    """
    stops = set(eos_ids)
    for position, token in enumerate(row):
        if token in stops:
            return position + 1, True
    return len(row), False


def min_tokens_holding(row: list[int], stop: tuple[str, ...], tokenizer: Any) -> int:
    """The fewest leading tokens of `row` whose text holds a stop string (binary search: holding
    one only grows with the prefix)."""
    low, high = 1, len(row)
    while low < high:
        middle = (low + high) // 2
        if cut_at_stop(tokenizer.decode(row[:middle], skip_special_tokens=True), stop)[1]:
            high = middle
        else:
            low = middle + 1
    return high


def chunk_seed(seed: int, prompt_index: int, chunk_index: int) -> int:
    """The torch seed of one chunk: distinct per (seed, prompt, chunk), so prompts of one call
    do not share random draws, and fixed by the arguments alone."""
    return ((seed * 1_000_003 + prompt_index) * 1_009 + chunk_index) % 2**63


def _eos_ids(configured: int | list[int] | None, tokenizer) -> list[int]:
    ids = configured if isinstance(configured, list) else [configured]
    ids = [i for i in ids if i is not None]
    if not ids and tokenizer.eos_token_id is not None:
        ids = [tokenizer.eos_token_id]
    if not ids:
        raise BadInputError("the model defines no end-of-sequence token")
    return ids
