"""Sampling with vLLM: one request per prompt, fanned out to n samples by `SamplingParams.n`.

Written against vLLM's documented offline API (`LLM`, `SamplingParams`, `LLM.generate`
returning `RequestOutput`s whose `.outputs[i]` carry `text`, `token_ids`, `finish_reason`).
vLLM cannot be installed on the CPU machines mta is developed on, so this module is tested
with a stand-in `vllm` module that records the requests; it has not run on a GPU here.

Multi-GPU:
  * tensor parallel: `tensor_parallel_size` GPUs inside one engine (for models that do not
    fit on one GPU).
  * data parallel: `data_parallel_size` independent engines, one per group of
    `tensor_parallel_size` GPUs, each in its own spawned process whose CUDA_VISIBLE_DEVICES
    names only its GPUs, as lm-eval and lighteval do (they use Ray actors; a process per
    replica needs no Ray). Prompts are split into contiguous shards, one per replica. Each
    request carries its own seed, so a prompt's samples do not depend on its replica.

Seeds: request i of a call gets `seed + i`; vLLM then draws the n samples of that request
from that seed. Results repeat on the same GPU type, vLLM version and engine settings.
"""

from __future__ import annotations

import multiprocessing
import os

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling.base import Completion, SamplingSettings, prompt_seeds
from mta_probe.sampling.models import ModelRef, prepare_model


def import_vllm():
    """Import vllm, or raise BackendError naming the extra to install."""
    try:
        import vllm
    except ImportError as error:
        raise BackendError(f"the vllm backend needs vllm: pip install 'mta[vllm]' ({error})") from error
    return vllm


def sampling_params(vllm, n: int, settings: SamplingSettings, seed: int):
    """The `SamplingParams` of one request: n samples under `settings`, seeded.

    Args:
        vllm: the imported vllm module.
        n: samples for this request.
        settings: temperature, top_p, max_tokens, greedy (greedy = temperature 0), stop.
        seed: the request's seed.

    Returns:
        A `vllm.SamplingParams`.
    """
    greedy = settings.greedy or settings.temperature <= 0
    return vllm.SamplingParams(
        n=n,
        seed=seed,
        temperature=0.0 if greedy else settings.temperature,
        top_p=1.0 if greedy else settings.top_p,
        max_tokens=settings.max_tokens,
        **({"stop": list(settings.stop)} if settings.stop else {}),  # left out of the text
    )


def to_completions(request_output) -> list[Completion]:
    """Map one vLLM `RequestOutput` to mta's completions.

    vLLM counts the EOS in `token_ids` when it stopped on it, and reports "stop" for EOS or a
    stop string, "length" at max_tokens, as `Completion` expects.
    """
    return [
        Completion(text=o.text, tokens=len(o.token_ids), finish_reason=o.finish_reason or "length",
                   token_ids=tuple(o.token_ids))
        for o in request_output.outputs
    ]


class VLLMEngine:
    """One vLLM engine in this process: renders prompts and runs requests."""

    def __init__(self, checkpoint: str, chat: bool, **llm_options) -> None:
        self.vllm = import_vllm()
        self.llm = self.vllm.LLM(model=checkpoint, enable_prefix_caching=True, **llm_options)
        self.chat = chat

    def render(self, prompt: str) -> str:
        if not self.chat:
            return prompt
        return self.llm.get_tokenizer().apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )

    def run(
        self, prompts: list[str], n: int, settings: SamplingSettings, seeds: list[int]
    ) -> list[list[Completion]]:
        params = [sampling_params(self.vllm, n, settings, s) for s in seeds]
        # The chat template already holds any BOS; tokenized prompts avoid a second one.
        tokenizer = self.llm.get_tokenizer()
        requests = [
            {"prompt_token_ids": tokenizer.encode(self.render(p), add_special_tokens=not self.chat)}
            for p in prompts
        ]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [to_completions(output) for output in outputs]


class VLLMSampler:
    """vLLM backend, on one engine or `data_parallel_size` engines in worker processes.

    Args:
        model: the resolved model; a GGUF is converted once by `prepare_model`.
        chat: render prompts through the chat template; None takes `model.chat`.
        tensor_parallel_size: GPUs per engine.
        data_parallel_size: engines (replicas); needs tensor x data GPUs.
        gpu_memory_utilization: share of each GPU's memory vLLM may take.
        max_model_len: context length cap; None takes the model's.
        seed: engine seed (requests carry their own).
        on_status: receives the one-line conversion notice of `prepare_model`.
    """

    name = "vllm"
    # The engine schedules them: 64 prompts x n samples keep the GPUs full, and a kill loses at
    # most one call (64 problems), not a whole benchmark.
    prompts_per_call = 64

    def __init__(
        self,
        model: ModelRef,
        chat: bool | None = None,
        *,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
        on_status=None,
    ) -> None:
        if tensor_parallel_size < 1 or data_parallel_size < 1:
            raise BadInputError("tensor_parallel_size and data_parallel_size must be >= 1")
        import_vllm()
        self.chat = model.chat if chat is None else chat
        options = {"tensor_parallel_size": tensor_parallel_size, "seed": seed,
                   "gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len is not None:
            options["max_model_len"] = max_model_len
        checkpoint = prepare_model(model, on_status)
        if data_parallel_size == 1:
            self.engine: VLLMEngine | None = VLLMEngine(checkpoint, self.chat, **options)
            self.replicas: list[Replica] = []
        else:
            self.engine = None
            self.replicas = [
                Replica(rank, tensor_parallel_size, checkpoint, self.chat, options)
                for rank in range(data_parallel_size)
            ]

    def sample(
        self, prompts: list[str], n: int, settings: SamplingSettings, seed: int | list[int]
    ) -> list[list[Completion]]:
        """Return n completions for each prompt (request i is seeded with seed + i, or seed[i])."""
        if n < 1:
            raise BadInputError(f"n must be >= 1, got {n}")
        seeds = prompt_seeds(seed, len(prompts))
        if self.engine is not None:
            return self.engine.run(prompts, n, settings, seeds)
        shards = shard(len(prompts), len(self.replicas))
        for replica, (start, stop) in zip(self.replicas, shards):
            replica.send(prompts[start:stop], n, settings, seeds[start:stop])
        results: list[list[Completion]] = []
        for replica in self.replicas:
            results += replica.receive()
        return results

    def close(self) -> None:
        """Stop the worker processes and drop the engine."""
        for replica in self.replicas:
            replica.stop()
        self.replicas, self.engine = [], None


def shard(count: int, parts: int) -> list[tuple[int, int]]:
    """Split range(count) into `parts` contiguous (start, stop) slices, sizes differing by <= 1."""
    size, extra = divmod(count, parts)
    bounds, start = [], 0
    for part in range(parts):
        stop = start + size + (1 if part < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class Replica:
    """A vLLM engine in a spawned process that sees only its own GPUs."""

    def __init__(self, rank: int, gpus: int, checkpoint: str, chat: bool, options: dict) -> None:
        devices = ",".join(str(d) for d in range(rank * gpus, (rank + 1) * gpus))
        context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, devices, checkpoint, chat, options), daemon=True
        )
        self.process.start()

    def send(self, prompts: list[str], n: int, settings: SamplingSettings, seeds: list[int]) -> None:
        self.pipe.send((prompts, n, settings, seeds))

    def receive(self) -> list[list[Completion]]:
        try:
            reply = self.pipe.recv()
        except EOFError as error:
            raise BackendError("a vLLM replica process died (see its log above)") from error
        if isinstance(reply, str):
            raise BackendError(f"a vLLM replica failed: {reply}")
        return reply

    def stop(self) -> None:
        if self.process.is_alive():
            self.pipe.send(None)
            self.process.join(timeout=60)
        if self.process.is_alive():
            self.process.kill()


def _serve(pipe, devices: str, checkpoint: str, chat: bool, options: dict) -> None:
    # Runs in the child: the device mask must be set before vllm (and CUDA) are imported.
    os.environ["CUDA_VISIBLE_DEVICES"] = devices
    engine = VLLMEngine(checkpoint, chat, **options)
    while (request := pipe.recv()) is not None:
        try:
            pipe.send(engine.run(*request))
        except Exception as error:  # reported to the parent, which raises BackendError
            pipe.send(f"{type(error).__name__}: {error}")
