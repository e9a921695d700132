"""Data-parallel vLLM on Ray Data with the real engine: one replica (vLLM's CPU build in a Ray actor
that holds one declared GPU) samples what the engine in this process samples, and a prompt that
leaves no room is refused in the driver, by vLLM's own window and tokenizer, before any replica
loads a model. Several replicas need several GPUs: tests/test_sampling_ray_data.py runs them on
the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from raycluster import local_cluster
from realvllm import ENGINE, assert_one_request_per_problem, require_real_vllm

pytestmark = pytest.mark.vllm
require_real_vllm()

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ray_cluster(real_vllm) -> Iterator[dict]:
    """A local Ray cluster (2 CPUs, one declared GPU: a replica asks for one) whose workers
    import this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "MTA_HOME": str(real_vllm.home)}
    with local_cluster(env, num_cpus=2, num_gpus=1, grace=10) as address:
        yield {"address": address, "env": env}


def _passk(task: str, out: Path, address: str, *extra: str) -> list[str]:
    engine = [f"--engine-option=enforce_eager={ENGINE['enforce_eager']}", f"--engine-option=dtype={ENGINE['dtype']}"]
    return [sys.executable, "-m", "mta_cli.main", "probe", "passk", "--model", "smollm2-135m", "--task", task,
            "-n", "4", "--max-tokens", "48", "--backend", "vllm", "--ray-address", address,
            "--max-model-len", str(ENGINE["max_model_len"]), "--gpu-memory-utilization",
            str(ENGINE["gpu_memory_utilization"]), *engine, "--out", str(out), "--verify-workers", "1", *extra]


def test_one_replica_on_ray_samples_what_one_engine_samples(ray_cluster: dict, real_vllm, tmp_path: Path) -> None:
    from mta_probe.runs import read_records

    out = tmp_path / "run"
    ran = subprocess.run(_passk("arith-quick", out, ray_cluster["address"], "--limit", "2"), cwd=REPO,
                         env=ray_cluster["env"], capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-4000:]
    records = list(read_records(out / "samples.jsonl"))
    assert len(records) == 8 and {r["finish_reason"] for r in records} <= {"stop", "length"}
    assert json.loads((out / "passk.json").read_text())["num_samples"] == 8
    assert_one_request_per_problem(real_vllm.sampler, records)


def test_a_long_prompt_is_refused_before_the_replica_loads(ray_cluster: dict, tmp_path: Path) -> None:
    task = tmp_path / "long.jsonl"
    rows = [{"id": "short", "question": "What is one plus one?", "answer": "2"},
            {"id": "long", "question": "one plus one " * 330, "answer": "2"}]  # about 1000 tokens
    task.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "run"
    ran = subprocess.run(_passk(str(task), out, ray_cluster["address"], "--verifier", "normalized"), cwd=REPO,
                         env=ray_cluster["env"], capture_output=True, text=True, timeout=600)
    said = ran.stdout + ran.stderr
    assert ran.returncode == 2 and "Traceback" not in said, said[-3000:]
    # the driver's words (refuse_beyond_context): a replica would name "prompt 0", after loading
    assert (f"1 prompts leave no room for 48 new tokens in the model's context window of {ENGINE['max_model_len']} "
            "tokens: long (") in " ".join(said.split())
    assert not (out / "samples.jsonl").exists() or (out / "samples.jsonl").read_text() == ""
