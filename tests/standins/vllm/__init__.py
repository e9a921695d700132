"""A stand-in for vLLM's offline API that behaves as vLLM does where mta depends on it (seen on
vLLM 0.32's CPU build: tests/test_vllm_real.py runs the real engine on the same points).

See tests/standins/README.md for each behaviour and the vLLM source it follows.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import time
import types
import weakref
from pathlib import Path
from typing import Any

from vllm import outputs
from vllm.config import ModelConfig
from vllm.exceptions import VLLMValidationError
from vllm.outputs import CompletionOutput, RequestOutput

__version__ = "0.32.0"

_SAMPLING_EPS = 1e-5
_MAX_TEMP = 1e-2
EOS = 2
# Faults per child seed, as `STANDIN_VLLM_FAULTS`: {"<seed>": ["abort", "stop"]}; tests may
# also fill this dict in-process.
FAULTS: dict[str, list[str]] = {}
WORDS = "so the answer is we think it a b c then".split()
logger = logging.getLogger("vllm")


def _max_n() -> int:
    return int(os.environ.get("VLLM_MAX_N_SEQUENCES", "16384"))


class SamplingParams:
    """vLLM's SamplingParams: the fields mta sends, validated as `_verify_args` does."""

    FIELDS = {
        "n": 1, "presence_penalty": 0.0, "frequency_penalty": 0.0, "repetition_penalty": 1.0,
        "temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "seed": None, "stop": None,
        "stop_token_ids": None, "ignore_eos": False, "max_tokens": 16, "min_tokens": 0,
        "logprobs": None, "skip_special_tokens": True, "include_stop_str_in_output": False,
        "spaces_between_special_tokens": True, "detokenize": True,
    }

    def __init__(self, **kwargs: Any) -> None:
        for name in kwargs:
            if name not in self.FIELDS:
                raise TypeError(f"Unexpected keyword argument '{name}'")
        for name, default in self.FIELDS.items():
            setattr(self, name, kwargs.get(name, default))
        if 0 < self.temperature < _MAX_TEMP:  # __post_init__: raised, with a warning only
            logger.warning("temperature %s is less than %s, which may cause numerical errors nan or inf in "
                           "tensors. We have maxed it out to %s.", self.temperature, _MAX_TEMP, _MAX_TEMP)
            self.temperature = _MAX_TEMP
        if self.seed == -1:
            self.seed = None
        self.stop = [] if self.stop is None else [self.stop] if isinstance(self.stop, str) else list(self.stop)
        self.stop_token_ids = list(self.stop_token_ids or [])
        self._verify_args()
        if self.temperature < _SAMPLING_EPS:
            self.top_p, self.top_k, self.min_p = 1.0, 0, 0.0
            if self.n > 1:
                raise VLLMValidationError(f"n must be 1 when using greedy sampling, got {self.n}.")

    def _verify_args(self) -> None:
        if self.n < 1:
            raise VLLMValidationError(f"n must be at least 1, got {self.n}.")
        if self.n > _max_n():
            raise VLLMValidationError(f"n must be at most {_max_n()}, got {self.n}. To increase this limit, set "
                                      "the VLLM_MAX_N_SEQUENCES environment variable.")
        checks = [
            (-2.0 <= self.presence_penalty <= 2.0, f"presence_penalty must be in [-2, 2], got {self.presence_penalty}.", None),
            (-2.0 <= self.frequency_penalty <= 2.0, f"frequency_penalty must be in [-2, 2], got {self.frequency_penalty}.", None),
            (self.repetition_penalty > 0.0, f"repetition_penalty must be greater than zero, got {self.repetition_penalty}.", None),
            (self.temperature >= 0.0, f"temperature must be non-negative, got {self.temperature}.", "temperature"),
            (self.temperature <= 2.0, f"temperature must be in [0, 2], got {self.temperature}.", "temperature"),
            (0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1], got {self.top_p}.", "top_p"),
            (self.top_k >= -1, f"top_k must be 0 (disable), or at least 1, got {self.top_k}.", None),
            (0.0 <= self.min_p <= 1.0, f"min_p must be in [0, 1], got {self.min_p}.", None),
            (self.max_tokens is None or self.max_tokens >= 1, f"max_tokens must be at least 1, got {self.max_tokens}.",
             "max_tokens"),
            (self.min_tokens >= 0, f"min_tokens must be greater than or equal to 0, got {self.min_tokens}.", None),
        ]
        for ok, message, parameter in checks:
            if not ok:
                raise VLLMValidationError(message, parameter=parameter,
                                          value=getattr(self, parameter) if parameter else None)

    def clone_for_child(self, index: int) -> SamplingParams:
        """`ParentRequest._get_child_sampling_params`: n = 1, seed + index when seeded."""
        child = SamplingParams(**{name: getattr(self, name) for name in self.FIELDS})
        child.n = 1
        if self.seed is not None:
            child.seed = self.seed + index
        return child

    def __repr__(self) -> str:
        return "SamplingParams(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.FIELDS) + ")"


class Tokenizer:
    """Characters as token ids; BOS 1, EOS 2; a visible chat template (the stand-in's own model,
    given by name)."""

    eos_token_id = EOS

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return ([1] if add_special_tokens else []) + [ord(ch) for ch in text]

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool, tokenize: bool) -> str:
        assert add_generation_prompt and not tokenize
        return "".join(f"<u>{m['content']}</u>" for m in messages) + "<a>"


def _tokenizer(model: str):
    """vLLM loads the checkpoint's own tokenizer; a model given by name has the stand-in's."""
    if (Path(model) / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model)
    return Tokenizer()


def _engine_core(conn) -> None:
    conn.recv()  # lives until the engine shuts down, as vLLM's EngineCore process does


def _stop_core(conn, process) -> None:
    try:
        conn.send(None)
    except (BrokenPipeError, OSError):
        pass
    process.join(timeout=5)
    if process.is_alive():
        process.kill()


class LLM:
    """vLLM's offline engine: validates its arguments, starts an engine-core child process."""

    ENGINE_ARGS = {"tensor_parallel_size", "seed", "gpu_memory_utilization", "max_model_len",
                   "enable_prefix_caching", "distributed_executor_backend", "data_parallel_size",
                   "generation_config", "dtype", "trust_remote_code", "enforce_eager"}

    def __init__(self, model: str, **kwargs: Any) -> None:
        for name in kwargs:
            if name not in self.ENGINE_ARGS:
                raise TypeError(f"EngineArgs.__init__() got an unexpected keyword argument '{name}'")
        if int(kwargs.get("data_parallel_size", 1)) > 1:
            raise ValueError(f"LLM(data_parallel_size={kwargs['data_parallel_size']}) is not supported for single-"
                             "process usage and may hang.")
        self.model, self.options, self.calls = model, kwargs, []
        # vLLM keeps the context length here (LLMEngine.model_config), derived as ModelConfig does.
        self.llm_engine = types.SimpleNamespace(model_config=ModelConfig(model, kwargs.get("max_model_len")))
        self._tokenizer = _tokenizer(model)
        self._rng = random.Random(kwargs.get("seed", 0))
        # multiprocessing refuses this inside a daemonic process, as it refuses vLLM's.
        parent, child = multiprocessing.get_context("fork").Pipe()
        core = multiprocessing.get_context("fork").Process(target=_engine_core, args=(child,), daemon=True)
        core.start()
        self._finalizer = weakref.finalize(self, _stop_core, parent, core)
        if os.environ.get("STANDIN_VLLM_LOG"):
            with open(os.environ["STANDIN_VLLM_LOG"], "a") as log:
                log.write(json.dumps({"pid": os.getpid(), "core_pid": core.pid,
                                      "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                                      "tensor_parallel_size": kwargs.get("tensor_parallel_size", 1)}) + "\n")
        self._attempts: dict[int, int] = {}

    def get_tokenizer(self) -> Any:
        return self._tokenizer

    def shutdown(self) -> None:
        self._finalizer()

    def generate(self, prompts: Any, sampling_params: Any = None, use_tqdm: bool = True) -> list[RequestOutput]:
        prompts = prompts if isinstance(prompts, list) else [prompts]
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params or SamplingParams()] * len(prompts)
        if len(params) != len(prompts):
            raise ValueError(f"The lengths of prompts ({len(prompts)}) and params ({len(params)}) must be the same.")
        limit = self.llm_engine.model_config.max_model_len
        encoded = [p["prompt_token_ids"] if isinstance(p, dict) else self._tokenizer.encode(p) for p in prompts]
        for ids in encoded:  # vLLM's input processor refuses such a request before any runs
            length = len(ids)
            if length > limit:
                raise VLLMValidationError(f"This model's maximum context length is {limit} tokens. However, your "
                                          f"prompt contains at least {length} input tokens, which exceeds this "
                                          "limit even without any output tokens. Please reduce the length of the "
                                          "input prompt.", parameter="input_tokens", value=length)
            if length == limit:
                raise VLLMValidationError(f"The decoder prompt (length {length}) plus the number of requested output "
                                          f"tokens (at least 1) is longer than the maximum model length of {limit}. "
                                          "Make sure that `max_model_len` is no smaller than the number of text "
                                          "tokens (prompt + requested output tokens).")
        self.calls.append((prompts, params))
        time.sleep(float(os.environ.get("STANDIN_VLLM_DELAY", "0")))  # a GPU takes its time
        faults = {**json.loads(os.environ.get("STANDIN_VLLM_FAULTS", "{}")), **FAULTS}
        results = []
        for r, (ids, p) in enumerate(zip(encoded, params)):
            # An explicit max_tokens is not clamped: generation stops at the window, as "length".
            room = limit - len(ids)
            children = [self._child(ids, p.clone_for_child(i), i, faults, room) for i in range(p.n)]
            results.append(RequestOutput(str(r), None, list(ids), None, children, True))
        return results

    def _child(self, ids: list[int], p: SamplingParams, index: int, faults: dict, room: int) -> CompletionOutput:
        greedy = p.temperature < _SAMPLING_EPS
        seed = 0 if greedy else p.seed if p.seed is not None else self._rng.getrandbits(63)
        rng = random.Random(f"{seed}|{ids}|{p.temperature}|{p.top_p}")
        right = rng.random() < (sum(ids) % 5) / 4
        cap = min(p.max_tokens, room)
        words = [f"<answer>{'yes' if right else 'no'}</answer>"] + [rng.choice(WORDS) for _ in range(rng.randint(0, 2 * p.max_tokens))]
        length = len(words)
        reason = "length" if length >= cap else "stop"
        words = words[:cap]
        token_ids = [100 + WORDS.index(w) if w in WORDS else 99 for w in words] + ([EOS] if reason == "stop" else [])
        token_ids = token_ids[:cap]
        planned = faults.get(str(p.seed), [])
        attempt = self._attempts.get(p.seed, 0)
        self._attempts[p.seed] = attempt + 1
        if attempt < len(planned) and planned[attempt] not in ("stop", "length"):
            cut = max(1, len(words) // 2)
            return CompletionOutput(index, " ".join(words[1:cut]), token_ids[:cut], None, None,
                                    finish_reason=planned[attempt])
        return CompletionOutput(index, " ".join(words), token_ids, None, None, finish_reason=reason)


__all__ = ["LLM", "SamplingParams", "outputs"]
