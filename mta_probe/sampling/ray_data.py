"""Data-parallel vLLM on Ray Data: one engine per replica, problems streamed through them.

Each replica is a Ray Data actor (`ActorPoolStrategy`) holding one `VLLMEngine` on
`tensor_parallel_size` GPUs that Ray assigns: Ray sets the actor's CUDA_VISIBLE_DEVICES from
the GPUs it manages (a local cluster takes the user's CUDA_VISIBLE_DEVICES as its GPUs), places
replicas across the nodes of a cluster, and, unlike a daemonic `multiprocessing` process, lets
the engine start its own processes. A replica that dies is restarted by Ray Data and its batch
retried. The driver reads rows as replicas finish them (`iter_rows`, streaming), so the probe
verifies and appends each problem as it arrives; a killed driver takes its Ray job with it, and
a resumed run streams only the problems still missing.

Why not ray.data.llm's vLLM processor (Ray 2.60, `ray/llm/_internal/batch/stages/
vllm_engine_stage.py`): `vLLMOutputData.from_vllm_engine_output` keeps `outputs[0]` only and
has no finish reason, so n > 1 loses n - 1 samples and an aborted or errored generation comes
back as an ordinary row, scored as a wrong answer (tests/test_sampling_ray_data.py checks this
against the installed Ray). The stage below is the same Ray Data machinery with mta's engine.
Why not vLLM's own data parallel: `LLM(data_parallel_size > 1)` raises for offline use (vLLM
0.24 `entrypoints/llm.py`); its multi-process example splits the prompts ahead of time, one
process per rank, and nothing streams results back to one writer.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np

from mta_probe.errors import BackendError, BadInputError, MtaError, first_line
from mta_probe.sampling.base import Completion, SamplingSettings
from mta_probe.sampling.protocol import engine_fields

# CPUs each replica reserves next to its GPUs (tokenizing, detokenizing, vLLM's scheduler).
CPUS_PER_REPLICA = 1.0
# Whether this process called ray.init (then `close` shuts Ray down; a caller's own Ray stays).
_joined = False


def check_fit(gpus_per_node: list[float], tensor_parallel: int, data_parallel: int,
              nodes: int | None) -> None:
    """Refuse a layout the cluster cannot hold, in one line.

    A replica's `tensor_parallel` GPUs must sit on one node (vLLM's mp executor); each node
    holds floor(gpus / tensor_parallel) replicas.

    Raises:
        BackendError: too few GPU nodes, or too few GPU groups for the replicas.
    """
    gpu_nodes = [g for g in gpus_per_node if g > 0]
    groups = sum(int(g // tensor_parallel) for g in gpu_nodes)
    seen = f"Ray sees {len(gpu_nodes)} node(s) with GPUs ({', '.join(f'{g:g}' for g in gpu_nodes) or 'none'})"
    if nodes is not None and len(gpu_nodes) < nodes:
        raise BackendError(f"--nodes {nodes} asked, but {seen}")
    if groups < data_parallel:
        raise BackendError(f"--data-parallel {data_parallel} x --tensor-parallel {tensor_parallel} needs "
                           f"{data_parallel} groups of {tensor_parallel} GPU(s) on one node each; "
                           f"{seen}: {groups} group(s)")


def connect(address: str | None) -> None:
    """Join the Ray cluster at `address` (None: RAY_ADDRESS, else a new local cluster)."""
    import ray
    import ray.data

    global _joined
    if not ray.is_initialized():
        try:
            # Replica logs (vLLM is verbose) stay in the session's log folder, out of the
            # progress display.
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise BackendError(f"cannot join the Ray cluster at {address or 'RAY_ADDRESS/local'}: "
                               f"{str(error).splitlines()[0]}") from error
        _joined = True
    # The probe draws its own progress; Ray Data's bars and start banner would garble it.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars, context.print_on_execution_start = False, False
    # A replica's error reaches the driver as itself (a BadInputError stays one), not wrapped in
    # Ray's UserCodeException, whose message ends in Ray's retry hint.
    context.raise_original_map_exception = True
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_gpus() -> list[float]:
    """GPUs of each live node of the connected cluster."""
    import ray

    return [node["Resources"].get("GPU", 0.0) for node in ray.nodes() if node.get("Alive")]


def check_cluster(tensor_parallel: int, data_parallel: int, nodes: int | None, address: str | None) -> None:
    """Connect to Ray and check the layout against the GPUs it sees (`check_fit`)."""
    connect(address)
    check_fit(cluster_gpus(), tensor_parallel, data_parallel, nodes)


class EngineStage:
    """One replica: a Ray Data stateful stage around a `VLLMEngine` (built once per actor)."""

    def __init__(self, checkpoint: str, chat: bool, options: dict[str, Any], request_seeds: bool,
                 n: int, settings: SamplingSettings) -> None:
        from mta_probe.sampling.vllm_engine import VLLMEngine

        if not request_seeds:
            # Unseeded requests draw from the engine's stream: replicas built with one seed
            # would draw the same samples for the same batch positions. Nothing is reproducible
            # without request seeds anyway, so each replica takes a seed of its own.
            options = dict(options, seed=int.from_bytes(os.urandom(4), "big"))
        self.engine = VLLMEngine(checkpoint, chat, request_seeds, **options)
        self.n, self.settings = n, settings

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # A row may carry its own count (adaptive rounds give problems different numbers).
        counts = [int(c) for c in batch["n"]] if "n" in batch else self.n
        results = self.engine.run([str(p) for p in batch["prompt"]], counts, self.settings,
                                  [int(s) for s in batch["seed"]])
        # Completions travel pickled: Arrow would flatten the dataclasses into nested columns.
        payload = np.empty(len(results), dtype=object)
        payload[:] = [pickle.dumps(r) for r in results]
        return {"index": np.asarray(batch["index"]), "completions": payload}


class RayReplicas:
    """`replicas` vLLM engines on Ray Data, fed `problems_per_batch` problems per call."""

    def __init__(self, checkpoint: str, chat: bool, options: dict[str, Any], *, replicas: int,
                 request_seeds: bool, problems_per_batch: int, ray_address: str | None) -> None:
        connect(ray_address)
        self.checkpoint, self.chat, self.replicas = checkpoint, chat, replicas
        # Inside an actor vLLM would pick its mp executor anyway; stated so that a future default
        # cannot make it ask Ray for GPUs the actor already holds.
        self.options = dict(options, distributed_executor_backend="mp") if options["tensor_parallel_size"] > 1 \
            else dict(options)
        self.request_seeds, self.batch = request_seeds, problems_per_batch

    def stream(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seeds: list[int]) -> Iterator[tuple[int, list[Completion]]]:
        """(prompt index, its n completions) as the replicas finish them, in any order (n: one
        count, or one per prompt).

        Raises:
            BadInputError: settings vLLM would refuse (checked here, before any replica starts).
            BackendError: a replica failed for good (the type and first line of its error).
        """
        import ray
        import ray.data

        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        engine_fields(settings, max(counts, default=1), None)  # greedy with n > 1 and the like fail here
        if not prompts:
            return
        rows = [{"index": i, "prompt": p, "seed": s, "n": count}
                for i, (p, s, count) in enumerate(zip(prompts, seeds, counts))]
        blocks = max(1, -(-len(rows) // self.batch))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            EngineStage, batch_size=self.batch, compute=ray.data.ActorPoolStrategy(size=self.replicas),
            num_gpus=self.options["tensor_parallel_size"], num_cpus=CPUS_PER_REPLICA,
            fn_constructor_kwargs={"checkpoint": self.checkpoint, "chat": self.chat, "options": self.options,
                                   "request_seeds": self.request_seeds, "n": max(counts), "settings": settings})
        try:
            for row in dataset.iter_rows():
                yield int(row["index"]), pickle.loads(row["completions"])
        except BadInputError as error:  # raised in a replica, maybe as Ray's RayTaskError(BadInputError)
            raise BadInputError(first_line(getattr(error, "cause", None) or error)) from None  # Ray appends its retry hint below
        except MtaError:
            raise
        except Exception as error:  # noqa: BLE001 (the replica's own error, whatever vLLM raised)
            cause = getattr(error, "cause", None) or error
            raise BackendError(f"a vLLM replica failed: {type(cause).__name__}: {first_line(cause)}") from error

    def close(self) -> None:
        """Leave Ray if mta joined it (a local cluster mta started stops with it)."""
        import ray

        global _joined
        if _joined:
            ray.shutdown()
            _joined = False
