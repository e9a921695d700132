"""Data-parallel vLLM on Ray Data with the real engine: one replica (vLLM's CPU build in a Ray actor
that holds one declared GPU) samples what the engine in this process samples, and a prompt that
leaves no room is refused in the driver, by vLLM's own window and tokenizer, before any replica
loads a model. Several replicas need several GPUs: tests/test_sampling_ray_data.py runs them on
the stand-in."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from realvllm import ENGINE, require_real_vllm, view

from mta_probe.sampling import SamplingSettings, problem_seed

pytestmark = pytest.mark.vllm
require_real_vllm()

REPO = Path(__file__).resolve().parent.parent
CLUSTER = """
import sys, ray
ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, object_store_memory=100_000_000,
         _temp_dir=sys.argv[1], logging_level="ERROR")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()
ray.shutdown()
"""


@pytest.fixture(scope="module")
def ray_cluster(real_vllm) -> Iterator[dict]:
    """A local Ray cluster (2 CPUs, one declared GPU: a replica asks for one) in a helper
    process whose workers import this checkout; stopped by pid, never by `ray stop`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "MTA_HOME": str(real_vllm.home)}
    temp = tempfile.mkdtemp(prefix="mta-ray-", dir="/tmp")  # Ray's socket paths must stay short
    helper = subprocess.Popen([sys.executable, "-c", CLUSTER, temp], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        address = helper.stdout.readline().strip()
        assert address, "the Ray cluster did not start"
        yield {"address": address, "env": env}
    finally:
        helper.stdin.close()
        for sig, grace in ((None, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 0)):
            try:
                if sig is not None:
                    os.killpg(helper.pid, sig)
                helper.wait(timeout=grace)
                break
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
        shutil.rmtree(temp, ignore_errors=True)


def _passk(task: str, out: Path, address: str, *extra: str) -> list[str]:
    engine = [f"--engine-option=enforce_eager={ENGINE['enforce_eager']}", f"--engine-option=dtype={ENGINE['dtype']}"]
    return [sys.executable, "-m", "mta_cli.main", "probe", "passk", "--model", "smollm2-135m", "--task", task,
            "-n", "4", "--max-tokens", "48", "--backend", "vllm", "--ray-address", address,
            "--max-model-len", str(ENGINE["max_model_len"]), "--gpu-memory-utilization",
            str(ENGINE["gpu_memory_utilization"]), *engine, "--out", str(out), "--verify-workers", "1", *extra]


def test_one_replica_on_ray_samples_what_one_engine_samples(ray_cluster: dict, real_vllm, tmp_path: Path) -> None:
    from mta_probe.runs import read_records
    from mta_probe.tasks import load_task

    out = tmp_path / "run"
    ran = subprocess.run(_passk("arith-quick", out, ray_cluster["address"], "--limit", "2"), cwd=REPO,
                         env=ray_cluster["env"], capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-4000:]
    records = list(read_records(out / "samples.jsonl"))
    assert len(records) == 8 and {r["finish_reason"] for r in records} <= {"stop", "length"}
    assert json.loads((out / "passk.json").read_text())["num_samples"] == 8
    sampler = view(real_vllm.sampler, chat=True)
    for problem in load_task("arith-quick", limit=2).problems:
        drawn = sampler.sample([problem.prompt], 4, SamplingSettings(max_tokens=48, stop=()),
                               seed=[problem_seed(0, problem.id)])[0]
        mine = sorted((r for r in records if r["problem_id"] == problem.id), key=lambda r: r["sample_index"])
        assert [r["completion"] for r in mine] == [c.text for c in drawn]


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
