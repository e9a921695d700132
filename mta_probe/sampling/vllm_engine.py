"""One vLLM engine: `LLM` built once, prompts encoded, requests sent with every field explicit,
outputs read back with their finish reasons, failed samples drawn again. The sampler
(`mta_probe.sampling.vllm`) holds one; each data-parallel replica on Ray Data
(`mta_probe.sampling.ray_data`) holds another."""

from __future__ import annotations

from typing import Any

from mta_probe.errors import BackendError
from mta_probe.sampling.base import Completion, SamplingSettings
from mta_probe.sampling.protocol import engine_fields, finish_reason, retry_failed

def import_vllm():
    """Import vllm, or raise BackendError naming the extra to install."""
    try:
        import vllm
    except ImportError as error:
        raise BackendError(f"the vllm backend needs vllm: pip install 'mta[vllm]' ({error})") from error
    return vllm


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
        tokenizer = self.llm.get_tokenizer()
        if not self.chat:
            return tokenizer.encode(prompt, add_special_tokens=True)
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                             add_generation_prompt=True, tokenize=False)
        return tokenizer.encode(text, add_special_tokens=False)

    def run(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
            seeds: list[int]) -> list[list[Completion]]:
        """n completions per prompt (one count, or one per prompt); aborted or errored samples
        are drawn again (n = 1, seed + j)."""
        requests = [{"prompt_token_ids": self.encode(p)} for p in prompts]
        own = [s if self.request_seeds else None for s in seeds]
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        results = self._generate(requests, [sampling_params(self.vllm, count, settings, s)
                                            for count, s in zip(counts, own)])

        def redraw(failed: list[tuple[int, int]]) -> list[Completion]:
            # Child j of a request seeded s is drawn from s + j, so a one-sample request seeded
            # s + j repeats exactly the stream the failed child had.
            params = [sampling_params(self.vllm, 1, settings, None if own[p] is None else own[p] + j)
                      for p, j in failed]
            return [c[0] for c in self._generate([requests[p] for p, _ in failed], params)]

        return retry_failed(results, redraw)

    def _generate(self, requests: list[dict], params: list) -> list[list[Completion]]:
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [to_completions(output) for output in outputs]
