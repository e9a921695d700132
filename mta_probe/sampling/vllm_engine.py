"""One vLLM engine: `LLM` built once, prompts encoded, requests sent with every field explicit,
outputs read back with their finish reasons, failed samples drawn again. The sampler
(`mta_probe.sampling.vllm`) holds one; each data-parallel replica on Ray Data
(`mta_probe.sampling.ray_data`) holds another, and the driver of those replicas holds a
`PromptWindow`: the same window and prompt tokens, known without an engine.

What vLLM does that mta must not let through silently (each seen on vLLM 0.32's CPU build,
tests/test_sampling_vllm_real.py):
  * a prompt and its `max_tokens` that overflow `max_model_len`: the offline engine generates
    up to the window and reports "length" (an explicit max_tokens is not clamped), and 0.32's
    `vllm serve` lowers max_tokens to the room left, with the same effect. A window would then
    change completions, so mta refuses such a prompt before any request (`check_room`);
  * n above `VLLM_MAX_N_SEQUENCES` (16384 by default) is refused: a larger count is sent as
    several requests, the k-th seeded seed + its first sample (child j draws from seed + j), so
    the samples are the ones one request would have drawn.
"""

from __future__ import annotations

import os
from typing import Any

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling.base import Completion, SamplingSettings
from mta_probe.sampling.protocol import engine_fields, finish_reason, retry_failed

# vLLM's default of VLLM_MAX_N_SEQUENCES (vllm/envs.py): the most samples one request may ask.
DEFAULT_MAX_N = 16384


def import_vllm():
    """Import vllm, or raise BackendError naming the extra to install."""
    try:
        import vllm
    except ImportError as error:
        raise BackendError(f"the vllm backend needs vllm: pip install 'mta[vllm]' ({error})") from error
    return vllm


def max_n() -> int:
    """The most samples vLLM draws for one request (its VLLM_MAX_N_SEQUENCES)."""
    return int(os.environ.get("VLLM_MAX_N_SEQUENCES", DEFAULT_MAX_N))


def sampling_params(vllm, n: int, settings: SamplingSettings, seed: int | None):
    """The `SamplingParams` of one request: every field explicit (see `protocol.engine_fields`)."""
    return vllm.SamplingParams(**engine_fields(settings, n, seed))


def to_completions(request_output) -> list[Completion]:
    """Map one vLLM `RequestOutput` to mta's completions, in sample order.

    vLLM counts the EOS in `token_ids` when it stopped on it; its finish reason passes through
    (stop, length, abort, error, repetition): only stop and length are scored downstream.
    """
    outputs = sorted(request_output.outputs, key=lambda o: o.index)
    return [Completion(text=o.text, tokens=len(o.token_ids), finish_reason=finish_reason(o.finish_reason),
                       token_ids=tuple(o.token_ids))
            for o in outputs]


def encode_prompt(tokenizer, prompt: str, chat: bool) -> list[int]:
    """Token ids of the rendered prompt; the chat template already holds any BOS."""
    if not chat:
        return tokenizer.encode(prompt, add_special_tokens=True)
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                         add_generation_prompt=True, tokenize=False)
    return tokenizer.encode(text, add_special_tokens=False)


def check_room(lengths: list[int], max_tokens: int, window: int | None) -> None:
    """Refuse prompts whose `max_tokens` would not fit after them in the window (vLLM would
    cut their answers at the window).

    Raises:
        BadInputError: the first such prompt (its index in the call), in one line.
    """
    if not window:
        return
    for i, length in enumerate(lengths):
        if length + max_tokens > window:
            raise BadInputError(f"prompt {i} has {length} tokens: with max-tokens {max_tokens} it needs "
                                f"{length + max_tokens} of the model's context window of {window} tokens "
                                "(vLLM would cut its answers at the window); lower --max-tokens or raise "
                                "--max-model-len")


def split_requests(counts: list[int], seeds: list[int | None], limit: int) -> list[tuple[int, int, int | None]]:
    """(prompt index, n, seed) of each request: a count above `limit` becomes several requests,
    each seeded at its first sample (seed + offset), which draw what one request would."""
    requests = []
    for p, (count, seed) in enumerate(zip(counts, seeds)):
        for first in range(0, count, limit):
            requests.append((p, min(limit, count - first), None if seed is None else seed + first))
    return requests


class PromptWindow:
    """The context window and the prompt tokens of a checkpoint as vLLM will see them, without
    an engine: vLLM's `ModelConfig` derives the window (from `max_model_len` and config.json)
    and the checkpoint's own tokenizer encodes. The driver of data-parallel replicas uses it to
    refuse long prompts before any replica loads a model.

    Raises:
        BadInputError: `max_model_len` exceeds what the model allows (vLLM's reason).
    """

    def __init__(self, checkpoint: str, chat: bool, max_model_len: int | None) -> None:
        import_vllm()
        from transformers import AutoTokenizer
        from vllm.config import ModelConfig

        try:
            self.context_window = int(ModelConfig(model=checkpoint, max_model_len=max_model_len).max_model_len)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            # pydantic wraps vLLM's reason: "... Value error, User-specified max_model_len (X) is
            # greater than the derived max_model_len (...). To allow overriding ..."
            line = next((line for line in str(error).splitlines() if "max_model_len" in line),
                        str(error).splitlines()[0])
            reason = line.split("Value error, ")[-1].split(" To allow")[0].strip()
            raise BadInputError(f"vLLM refuses --max-model-len {max_model_len}: {reason}") from error
        self.tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        self.chat = chat

    def encode(self, prompt: str) -> list[int]:
        """The prompt's token ids as a replica's engine encodes them."""
        return encode_prompt(self.tokenizer, prompt, self.chat)


class VLLMEngine:
    """One vLLM engine in this process: renders prompts, runs requests, redraws failures."""

    def __init__(self, checkpoint: str, chat: bool, request_seeds: bool = True, **llm_options: Any) -> None:
        self.vllm = import_vllm()
        self.llm = self.vllm.LLM(model=checkpoint, enable_prefix_caching=True, **llm_options)
        self.chat = chat
        self.request_seeds = request_seeds

    @property
    def context_window(self) -> int | None:
        """The engine's max_model_len (vLLM keeps it in `llm_engine.model_config`)."""
        config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        return getattr(config, "max_model_len", None)

    def encode(self, prompt: str) -> list[int]:
        """Token ids of the rendered prompt; the chat template already holds any BOS."""
        return encode_prompt(self.llm.get_tokenizer(), prompt, self.chat)

    def run(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
            seeds: list[int]) -> list[list[Completion]]:
        """n completions per prompt (one count, or one per prompt); aborted or errored samples
        are drawn again (n = 1, seed + j).

        Raises:
            BadInputError: a prompt leaves less than max_tokens of the window (`check_room`).
        """
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        engine_fields(settings, max(counts, default=1), None)  # settings vLLM would refuse or change
        ids = [self.encode(p) for p in prompts]
        check_room([len(i) for i in ids], settings.token_budget(), self.context_window)
        requests = [{"prompt_token_ids": i} for i in ids]
        own = [s if self.request_seeds else None for s in seeds]
        split = split_requests(counts, own, max_n())
        parts = self._generate([requests[p] for p, _, _ in split],
                               [sampling_params(self.vllm, count, settings, s) for _, count, s in split])
        results: list[list[Completion]] = [[] for _ in prompts]
        for (p, _, _), part in zip(split, parts):
            results[p].extend(part)

        def redraw(failed: list[tuple[int, int]]) -> list[Completion]:
            # Child j of a request seeded s is drawn from s + j, so a one-sample request seeded
            # s + j repeats exactly the stream the failed child had.
            params = [sampling_params(self.vllm, 1, settings, None if own[p] is None else own[p] + j)
                      for p, j in failed]
            return [c[0] for c in self._generate([requests[p] for p, _ in failed], params)]

        return retry_failed(results, redraw)

    def close(self) -> None:
        """Stop the engine's processes now, not when the interpreter exits (vLLM's `LLM` has no
        public shutdown: its engine-core client has, in every V1 release)."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        shutdown = getattr(core, "shutdown", None) or getattr(self.llm, "shutdown", None)
        if shutdown is not None:
            shutdown()

    def _generate(self, requests: list[dict], params: list) -> list[list[Completion]]:
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [to_completions(output) for output in outputs]
