"""Faults from outside mta: the hub, the disk and the user's Ctrl-C, through the real `mta` command.

Every case ends with one `error:` line and exit code 2 (130 for Ctrl-C), with no traceback from
any process of the command, and keeps what was written: a rerun after the cause is gone resumes.
Each row of docs/reliability.md's "Faults from outside" table names its test here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest
from hubserver import StandInHub
from openaiserver import VLLMServe, serve
from zygote import Ended, Zygote

PROBLEMS = 6


@pytest.fixture(scope="module")
def hub():
    with StandInHub() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def zygotes(hub: StandInHub):
    """Zygotes whose hub library was imported with the hub offline, unreachable, or a stand-in:
    huggingface_hub reads these variables once, at import, as in a real `mta` process."""
    started: dict[str, Zygote] = {}
    variables = {"offline": {"HF_HUB_OFFLINE": "1"}, "unreachable": {"HF_ENDPOINT": "http://127.0.0.1:9"},
                 "stand-in": {"HF_ENDPOINT": hub.url, "HF_TOKEN": ""}}

    def get(name: str) -> Zygote:
        if name not in started:
            started[name] = Zygote(variables[name])
        return started[name]

    yield get
    for z in started.values():
        z.close()


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "words.jsonl"
    words = "one two three four five six seven eight".split()[:PROBLEMS]
    path.write_text("".join(json.dumps({"question": f"what is the sum of {w} and {w} so what is the answer",
                                        "answer": "two"}) + "\n" for w in words))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh MTA_HOME and an empty Hugging Face cache for each command."""
    return {"MTA_HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}


def passk(model: str | Path, task: Path, out: Path, *extra: str) -> list[str]:
    return ["probe", "passk", "--model", str(model), "--task", str(task), "--verifier", "normalized",
            "-n", "2", "--max-tokens", "6", "--backend", "hf", "--verify-workers", "1", "--out", str(out),
            *extra]


def one_line(ended: Ended, code: int = 2) -> str:
    """The command ended with `code`, one error line and no traceback; returns the line."""
    assert ended.code == code, ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr
    assert len(ended.error_lines) == 1, ended.stderr
    return ended.error_lines[0]


def records(path: Path) -> list[tuple[str, int]]:
    """The (problem, sample) keys of a samples file that must hold whole lines only."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return [(r["problem_id"], r["sample_index"]) for r in map(json.loads, data.splitlines())]


# --- the hub -------------------------------------------------------------------------------------

@pytest.mark.parametrize("hub_state, words", [
    ("offline", "is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"),
    ("unreachable", "the hub cannot be reached (no network, DNS or proxy)"),
])
def test_an_unreachable_hub_is_one_line(zygotes, task: Path, env: dict, tmp_path: Path,
                                        hub_state: str, words: str) -> None:
    ended = zygotes(hub_state).run(passk("Qwen/Qwen2.5-7B", task, tmp_path / "run"), env, tmp_path / "err")
    line = one_line(ended)
    assert words in line and "hf download Qwen/Qwen2.5-7B" in line


@pytest.mark.parametrize("model, words", [
    ("org/gated", "org/gated is a gated model and no Hugging Face token is set: accept its terms"),
    ("org/missing", "no model org/missing on the Hugging Face hub (check the spelling"),
    ("org/model@v9", "org/model has no revision 'v9'"),
    ("org/down", "the Hugging Face hub answered HTTP 503 for org/down"),
])
def test_what_the_hub_refuses_is_one_line(zygotes, task: Path, env: dict, tmp_path: Path,
                                          model: str, words: str) -> None:
    ended = zygotes("stand-in").run(passk(model, task, tmp_path / "run"), env, tmp_path / "err")
    assert words in one_line(ended)


def test_an_unreachable_dataset_is_one_line(zygotes, tiny_llama_dir: Path, env: dict,
                                            tmp_path: Path) -> None:
    args = ["probe", "passk", "--model", str(tiny_llama_dir), "--task", "math500", "-n", "2",
            "--max-tokens", "4", "--out", str(tmp_path / "run")]
    line = one_line(zygotes("offline").run(args, env, tmp_path / "err"))
    assert "HuggingFaceH4/MATH-500 could not be loaded (HF_HUB_OFFLINE is set)" in line


# --- a local checkpoint folder --------------------------------------------------------------------

def _break(folder: Path, how: str) -> None:
    if how == "no weights":
        (folder / "model.safetensors").unlink()
    elif how == "no tokenizer":
        (folder / "tokenizer.json").unlink()
    else:  # a copy cut short
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


@pytest.mark.parametrize("how, words", [
    ("no weights", "has no weights (model.safetensors, its shards, or pytorch_model.bin)"),
    ("no tokenizer", "has no tokenizer"),
    ("truncated", "is not a readable safetensors file (the tensors need"),
])
def test_an_incomplete_checkpoint_is_one_line_and_the_fixed_one_resumes(
        zygote: Zygote, tiny_llama_dir: Path, task: Path, env: dict, tmp_path: Path, how: str,
        words: str) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_llama_dir, model)
    _break(model, how)
    run = tmp_path / "run"
    assert words in one_line(zygote.run(passk(model, task, run), env, tmp_path / "err"))
    shutil.rmtree(model)
    shutil.copytree(tiny_llama_dir, model)
    assert zygote.run(passk(model, task, run), env, tmp_path / "err").code == 0
    assert sorted(records(run / "samples.jsonl")) == [(f"{i}", j) for i in range(1, PROBLEMS + 1) for j in (0, 1)]


def test_a_prompt_longer_than_the_context_is_refused_before_sampling(zygote: Zygote, tiny_llama_dir: Path,
                                                                    env: dict, tmp_path: Path) -> None:
    task = tmp_path / "long.jsonl"
    rows = [{"id": "short", "question": "what is one plus one", "answer": "two"},
            {"id": "long", "question": " ".join(["one plus one"] * 100), "answer": "two"}]  # 300+ tokens
    task.write_text("".join(json.dumps(row) + "\n" for row in rows))
    run = tmp_path / "run"
    line = one_line(zygote.run(passk(tiny_llama_dir, task, run), env, tmp_path / "err"))
    assert "1 prompts fill the model's context window of 256 tokens, leaving no room for an answer: long (" in line
    assert records(run / "samples.jsonl") == []  # refused before any sampling


# --- the disk --------------------------------------------------------------------------------------

def test_a_full_disk_stops_the_run_cleanly_and_it_resumes(zygote: Zygote, tiny_llama_dir: Path,
                                                          task: Path, env: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    # A file-size limit makes every write past 1,500 bytes fail as a full disk would (EFBIG):
    # samples.jsonl reaches it after a few problems.
    ended = zygote.run(passk(tiny_llama_dir, task, run), env, tmp_path / "err", fsize=1500)
    line = one_line(ended)
    assert "File too large" in line and "run the same command again to resume" in line
    kept = records(run / "samples.jsonl")
    assert 0 < len(kept) < 2 * PROBLEMS and not (run / "passk.json").exists()
    assert zygote.run(passk(tiny_llama_dir, task, run), env, tmp_path / "err").code == 0
    done = records(run / "samples.jsonl")
    assert done[: len(kept)] == kept and sorted(done) == sorted(set(done)) and len(done) == 2 * PROBLEMS


def test_a_full_disk_while_a_checkpoint_is_written_keeps_the_last_one_and_resumes(
        zygote: Zygote, tiny_llama_dir: Path, task: Path, env: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = train_args(tiny_llama_dir, task, run, steps=8)
    # The tiny model's weights alone are ~100 kB: 60 kB lets metrics and samples through and
    # stops the first checkpoint half-way.
    line = one_line(zygote.run(args, env, tmp_path / "err", fsize=60_000))
    assert f"cannot write {run / 'checkpoint'}" in line and "resume" in line
    assert not (run / "checkpoint.tmp").exists() and not (run / "checkpoint").exists()
    assert zygote.run(args, env, tmp_path / "err").code == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 8 and (run / "gains.json").exists()


def test_a_full_disk_while_a_report_is_written_is_one_line(zygote: Zygote, env: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    # The correlation figure is tens of kilobytes; 20,000 bytes stops it half-way.
    ended = zygote.run(["report", "correlation", "--out", str(out)], env, tmp_path / "err", fsize=20_000)
    assert "File too large" in one_line(ended)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]  # no half-written file left
    assert zygote.run(["report", "correlation", "--out", str(out)], env, tmp_path / "err").code == 0


def test_a_full_disk_while_verl_files_are_written_is_one_line_and_leaves_no_part(
        zygote: Zygote, tiny_llama_dir: Path, env: dict, tmp_path: Path) -> None:
    pytest.importorskip("verl")
    run = tmp_path / "run"
    args = ["train", "--technique", "random", "--backend", "verl", "--dry-run", "--model", str(tiny_llama_dir),
            "--out", str(run)]
    # The resolved configuration is ~30 kB, the parquet ~12 kB: 20,000 bytes stops the first.
    line = one_line(zygote.run(args, env, tmp_path / "err", fsize=20_000))
    assert f"cannot write {run / 'verl_config.yaml'}" in line and "File too large" in line
    assert not [p.name for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert zygote.run(args, env, tmp_path / "err").code == 0 and (run / "verl_config.yaml").exists()
    prepared = tmp_path / "prepared"
    line = one_line(zygote.run(["data", "prepare", "--out", str(prepared)], env, tmp_path / "err", fsize=5_000))
    assert f"cannot write {prepared / 'train.parquet'}" in line
    assert not [p.name for p in prepared.iterdir() if p.name.endswith(".tmp")]


def train_args(model: Path, task: Path, out: Path, *, steps: int) -> list[str]:
    return ["train", "--technique", "random", "--model", str(model), "--task", str(task), "--verifier", "normalized",
            "--steps", str(steps), "--batch-size", "1", "--mini-batch-size", "1", "--group-size", "2",
            "--max-response-length", "4", "--eval-k", "2", "--out", str(out)]


# --- the GPU ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault, phase", [("cuda-oom-loading", "loading the model"), ("cuda-oom-sampling", "sampling")])
def test_a_gpu_out_of_memory_names_what_helps_and_the_run_resumes(zygote: Zygote, tiny_llama_dir: Path, task: Path,
                                                                  env: dict, tmp_path: Path, fault: str,
                                                                  phase: str) -> None:
    run = tmp_path / "run"
    args = passk(tiny_llama_dir, task, run, "--limit", "4")
    line = one_line(zygote.run(args, env, tmp_path / "err", fault=fault))
    assert f"the GPU ran out of memory while {phase} (CUDA out of memory." in line
    assert "fewer new tokens (--max-tokens)" in line and "resumes" in line
    kept = records(run / "samples.jsonl")
    assert len(kept) == (0 if phase.startswith("loading") else 4)  # two problems were verified first
    assert zygote.run(args, env, tmp_path / "err").code == 0
    assert sorted(records(run / "samples.jsonl")) == [(f"{i}", j) for i in range(1, 5) for j in (0, 1)]


# --- an OpenAI-compatible server ------------------------------------------------------------------

def served(url: str, task: Path, out: Path) -> list[str]:
    return ["probe", "passk", "--model", "org/served", "--backend", "openai", "--base-url", url, "--task", str(task),
            "--verifier", "normalized", "-n", "2", "--max-tokens", "6", "--verify-workers", "1", "--out", str(out)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_goes_away_mid_run_keeps_what_was_verified(zygote: Zygote, task: Path, env: dict,
                                                                  tmp_path: Path) -> None:
    port, run = _free_port(), tmp_path / "run"
    with serve(port) as url:
        VLLMServe.delay = 0.3
        pid = zygote.start(served(url, task, run), env, stderr=tmp_path / "err")
        while not ((run / "samples.jsonl").exists() and (run / "samples.jsonl").read_bytes().count(b"\n") >= 4):
            time.sleep(0.05)
    # the server is gone: refused connections from here on
    line = one_line(Ended(zygote.ended(), (tmp_path / "err").read_text()))
    assert f"cannot reach {url}" in line and pid
    kept = records(run / "samples.jsonl")
    assert 4 <= len(kept) < 2 * PROBLEMS
    with serve(port):  # the server is back: the same command continues
        assert zygote.run(served(url, task, run), env, tmp_path / "err").code == 0
    done = records(run / "samples.jsonl")
    assert done[: len(kept)] == kept and len(done) == len(set(done)) == 2 * PROBLEMS


@pytest.mark.parametrize("fault, words", [("failures", "refused the request: HTTP 503"),
                                          ("garbled", "answered with a body that is not JSON")])
def test_a_failing_server_is_one_line(zygote: Zygote, task: Path, env: dict, tmp_path: Path, fault: str,
                                      words: str) -> None:
    with serve() as url:
        setattr(VLLMServe, fault, 10**6 if fault == "failures" else True)
        ended = zygote.run(served(url, task, tmp_path / "run"), env, tmp_path / "err")
    assert words in one_line(ended)


# --- Ctrl-C ----------------------------------------------------------------------------------------

def interrupt(zygote: Zygote, args: list[str], env: dict, stderr: Path, *, fault: str,
              when: float = 4.0, once: Path | None = None) -> Ended:
    """Start a command slowed by `fault`, press Ctrl-C (SIGINT to its process group) `when`
    seconds later or as soon as the file `once` holds a line, and wait for it to end."""
    pid = zygote.start(args, env, stderr=stderr, fault=fault)
    deadline = time.monotonic() + (120.0 if once else when)
    while time.monotonic() < deadline and not (once and once.exists() and b"\n" in once.read_bytes()):
        time.sleep(0.05)
    os.killpg(pid, signal.SIGINT)
    return Ended(zygote.ended(), stderr.read_text(errors="replace"))


def interrupted_cleanly(ended: Ended) -> None:
    assert ended.code == 130, ended.stderr
    assert "Traceback" not in ended.stderr and "KeyboardInterrupt" not in ended.stderr, ended.stderr
    assert "interrupted; what was written so far is kept" in ended.stderr


def test_ctrl_c_on_contam_keeps_what_it_wrote_and_resumes(zygote: Zygote, tiny_llama_dir: Path,
                                                          task: Path, env: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["probe", "contam", "--model", str(tiny_llama_dir), "--task", str(task), "--verifier", "normalized",
            "--max-tokens", "6", "--backend", "hf", "--out", str(run)]
    interrupted_cleanly(interrupt(zygote, args, env, tmp_path / "err", fault="slow-engine"))
    assert zygote.run(args, env, tmp_path / "err").code == 0
    keys = [(r["problem_id"], r["portion"]) for r in map(json.loads, (run / "contam.jsonl").read_text().splitlines())]
    assert len(keys) == len(set(keys)) == 3 * PROBLEMS


def test_ctrl_c_on_kl_keeps_what_it_wrote_and_resumes(zygote: Zygote, tiny_llama_dir: Path,
                                                      task: Path, env: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["probe", "kl", "--policy", str(tiny_llama_dir), "--reference", str(tiny_llama_dir),
            "--task", str(task), "--verifier", "normalized", "--max-tokens", "6", "--out", str(run)]
    interrupted_cleanly(interrupt(zygote, args, env, tmp_path / "err", fault="slow-kl", once=run / "kl.jsonl"))
    assert zygote.run(args, env, tmp_path / "err").code == 0
    assert json.loads((run / "kl.json").read_text())


def test_ctrl_c_on_train_keeps_what_it_wrote_and_resumes(zygote: Zygote, tiny_llama_dir: Path,
                                                         task: Path, env: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = train_args(tiny_llama_dir, task, run, steps=8)
    ended = interrupt(zygote, args, env, tmp_path / "err", fault="slow-engine", once=run / "metrics.jsonl")
    interrupted_cleanly(ended)
    assert 0 < len((run / "metrics.jsonl").read_text().splitlines()) < 8
    assert zygote.run(args, env, tmp_path / "err").code == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 8 and (run / "gains.json").exists()


def test_ctrl_c_on_report_is_one_line(zygote: Zygote, env: dict, tmp_path: Path) -> None:
    args = ["report", "correlation", "--out", str(tmp_path / "report")]
    interrupted_cleanly(interrupt(zygote, args, env, tmp_path / "err", fault="slow-report", when=2.0))
