"""bench/gpu_check.sh cannot run here (no GPU): its shell is syntax-checked and its Python steps
run tiny on the CPU, the vLLM step on the stand-in. The whole script's CPU dry run
(`bash bench/gpu_check.sh --dry-run`, about 3 minutes here) is the slow test."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu_check.py"


def gpu_check():
    """bench/gpu_check.py as a module (its steps run in this process: torch is loaded once)."""
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shell_script_parses() -> None:
    subprocess.run(["bash", "-n", str(REPO / "bench" / "gpu_check.sh")], check=True)


def test_the_peak_step_trains_one_step_of_a_small_model_of_the_given_shape() -> None:
    line = gpu_check().peak(argparse.Namespace(shape="tiny", device="cpu", rows=2, length=32))
    assert (line["shape"], line["finished"]) == ("tiny", True)
    assert line["grad_norm"] > 0 and "peak_gib" not in line  # no CUDA, no peak figure


def test_the_vllm_step_checks_what_mta_relies_on(standin_vllm, tiny_llama_dir: Path) -> None:
    args = argparse.Namespace(standin=False, model=str(tiny_llama_dir), prompts=2, n=3, max_tokens=8)
    line = gpu_check().vllm_checks(args)  # the stand-in is already importable as vllm
    assert line["greedy_n3_refused"] == "n must be 1 when using greedy sampling, got 3."
    assert line["child_i_is_seed_plus_i"] == [True, True, True]
    assert set(line["finish_reasons"]) <= {"stop", "length"} and sum(line["finish_reasons"].values()) == 6
    assert line["window"]["full_refused"].startswith("VLLMValidationError: The decoder prompt (length 256) plus")
    assert line["window"]["near_the_window"] == {"tokens": 3, "finish_reason": "length"}
    assert set(line["checks"]) <= set(line) - {"checks"}


@pytest.mark.slow
def test_the_dry_run_writes_one_line_per_step(tmp_path: Path) -> None:
    subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--dry-run", "--out", str(tmp_path)], cwd=REPO,
                   check=True, capture_output=True, timeout=900)
    lines = [json.loads(line) for line in (tmp_path / "gpu_check.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == ["random-model", "env", "hf", "train", "peak", "vllm"]
    assert all(line.get("exit", 0) == 0 for line in lines)
