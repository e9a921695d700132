"""Bad input: each case is one line starting with "error:", exit code 2, no traceback, and the
run directory given with --out (a finished run) is left byte for byte as it was
(docs/reliability.md, "Bad input").
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli import one_error_line, runner

from mta_cli.main import app


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}



@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path) -> dict[str, Path]:
    """Input files, good and bad, and one finished sampled run of the tiny model."""
    root = tmp_path_factory.mktemp("bad_input")
    paths = {name: root / name for name in ("task.jsonl", "other_task.jsonl", "empty.jsonl", "latin1.jsonl",
                                            "notjson.jsonl", "noanswer.jsonl", "done.jsonl", "nocompletion.jsonl",
                                            "unknown_id.jsonl", "a_file")}
    paths["task.jsonl"].write_text(json.dumps({"id": "a", "question": "what is the sum of one and one", "answer": "two"}) + "\n")
    paths["other_task.jsonl"].write_text(json.dumps({"id": "a", "question": "what is one plus two", "answer": "three"}) + "\n")
    paths["empty.jsonl"].write_bytes(b"")
    paths["latin1.jsonl"].write_bytes('{"question": "caf\u00e9?", "answer": "1"}\n'.encode("latin-1"))
    paths["notjson.jsonl"].write_text("question: what?\n")
    paths["noanswer.jsonl"].write_text(json.dumps({"question": "what?"}) + "\n")
    paths["done.jsonl"].write_text(json.dumps({"problem_id": "a", "completion": "<answer>two</answer>"}) + "\n")
    paths["nocompletion.jsonl"].write_text(json.dumps({"problem_id": "a"}) + "\n")
    paths["unknown_id.jsonl"].write_text(json.dumps({"problem_id": "zz", "completion": "two"}) + "\n")
    paths["a_file"].write_text("a regular file, so nothing can be created under it\n")
    other_model = root / "other_model"
    shutil.copytree(tiny_llama_dir, other_model)
    paths["model"], paths["other_model"] = tiny_llama_dir, other_model
    paths["run"] = root / "run"
    result = runner.invoke(app, run_args(paths, "--out", str(paths["run"])))
    assert result.exit_code == 0, result.output
    return paths


def run_args(paths: dict[str, Path], *extra: str, model: str = "model", task: str = "task.jsonl") -> list[str]:
    """A valid sampled run of the tiny model (flags given later override earlier ones)."""
    return ["probe", "passk", "--model", str(paths[model]), "--task", str(paths[task]), "--verifier", "exact",
            "-n", "2", "--max-tokens", "4", "--backend", "hf", "--verify-workers", "0", *extra]


def scored_args(paths: dict[str, Path], samples: str) -> list[str]:
    return ["probe", "passk", "--task", str(paths["task.jsonl"]), "--verifier", "exact", "--from-samples",
            str(paths[samples]), "--verify-workers", "0", "--out", str(paths["run"])]


# (name, args built from the files, what the one line must contain). Every case that takes --out
# points it at the finished run, which must stay byte for byte the same.
CASES: list[tuple[str, Callable[[dict[str, Path]], list[str]], str]] = [
    ("unknown model", lambda p: run_args(p, "--model", "no/such-model!", "--out", str(p["run"])), "unknown model"),
    ("unknown task", lambda p: run_args(p, "--task", "no-such-task", "--out", str(p["run"])), "unknown task 'no-such-task'"),
    ("unknown reasoning-gym dataset", lambda p: run_args(p, "--task", "gym:no_such_gym", "--out", str(p["run"])),
     "no_such_gym"),
    ("k above n", lambda p: run_args(p, "--k", "1,4", "--out", str(p["run"])), "k=4 is larger than n=2"),
    ("n zero", lambda p: run_args(p, "-n", "0", "--out", str(p["run"])), "n must be at least 1"),
    ("n negative", lambda p: run_args(p, "-n", "-5", "--out", str(p["run"])), "n must be at least 1"),
    ("k zero", lambda p: run_args(p, "--k", "0,1", "--out", str(p["run"])), "k must be at least 1"),
    ("k not a number", lambda p: run_args(p, "--k", "1,two", "--out", str(p["run"])), "comma-separated integers"),
    ("limit zero", lambda p: run_args(p, "--limit", "0", "--out", str(p["run"])), "--limit must be at least 1"),
    ("unknown backend", lambda p: run_args(p, "--backend", "tpu", "--out", str(p["run"])), "unknown backend 'tpu'"),
    ("unknown verifier", lambda p: run_args(p, "--verifier", "nope", "--out", str(p["run"])), "unknown verifier 'nope'"),
    ("task file empty", lambda p: run_args(p, "--out", str(p["run"]), task="empty.jsonl"), "holds no problems"),
    ("task file not UTF-8", lambda p: run_args(p, "--out", str(p["run"]), task="latin1.jsonl"), "not UTF-8"),
    ("task line not JSON", lambda p: run_args(p, "--out", str(p["run"]), task="notjson.jsonl"), "invalid JSON"),
    ("task line without answer", lambda p: run_args(p, "--out", str(p["run"]), task="noanswer.jsonl"), "answer"),
    ("task file without verifier", lambda p: [a for a in run_args(p, "--out", str(p["run"])) if a not in ("--verifier", "exact")],
     "needs a verifier"),
    ("samples file missing", lambda p: [*scored_args(p, "done.jsonl")[:-5], str(p["run"] / "none.jsonl"),
                                        "--verify-workers", "0", "--out", str(p["run"])], "cannot read"),
    ("samples file empty", lambda p: scored_args(p, "empty.jsonl"), "no completions"),
    ("samples file not UTF-8", lambda p: scored_args(p, "latin1.jsonl"), "not UTF-8"),
    ("samples line without completion", lambda p: scored_args(p, "nocompletion.jsonl"), "problem_id and completion"),
    ("samples of an unknown problem", lambda p: scored_args(p, "unknown_id.jsonl"), "not in task"),
    ("samples scored into a sampled run", lambda p: scored_args(p, "done.jsonl"), "kind='passk'"),
    ("samples scored with an adaptive budget", lambda p: [*scored_args(p, "done.jsonl"), "--budget", "40"],
     "--budget with --from-samples"),
    ("run directory of another model", lambda p: run_args(p, "--out", str(p["run"]), model="other_model"), "holds a run with model="),
    ("run directory of another task", lambda p: run_args(p, "--out", str(p["run"]), task="other_task.jsonl"), "holds a run with task="),
    ("run directory of another n", lambda p: run_args(p, "-n", "1", "--k", "1", "--out", str(p["run"])), "holds a run with n=2"),
    ("output under a regular file", lambda p: run_args(p, "--out", str(p["a_file"] / "run")), "cannot write to"),
    ("output under /proc", lambda p: run_args(p, "--out", "/proc/mta-run"), "cannot write to /proc/mta-run"),
    ("lenient on a code task", lambda p: ["probe", "passk", "--task", "humaneval", "--lenient", "--out", str(p["run"])],
     "--lenient applies to the math and gym verifiers"),
    ("malformed gym option", lambda p: run_args(p, "--task", "gym:chain_sum", "--gym-option", "size", "--out", str(p["run"])),
     "KEY=VALUE"),
    ("missing data clone", lambda p: run_args(p, "--task", "kor-op", "--data-dir", str(p["a_file"].parent / "none"),
                                              "--out", str(p["run"])), "no KOR-Bench data"),
    ("contam: portion out of range", lambda p: ["probe", "contam", "--portions", "0.5,1.5", "--out", str(p["run"])], "--portions"),
    ("contam: unknown model", lambda p: ["probe", "contam", "--model", "no/such-model!", "--out", str(p["run"])], "unknown model"),
    ("contam: zero tokens", lambda p: ["probe", "contam", "--model", str(p["model"]), "--task", str(p["task.jsonl"]),
                                       "--verifier", "exact", "--backend", "hf", "--max-tokens", "0",
                                       "--out", str(p["a_file"].parent / "contam")], "--max-tokens must be at least 1"),
    ("align: not a run", lambda p: ["probe", "align", "--passk", str(p["a_file"].parent / "none")], "does not exist"),
    ("kl: unknown model", lambda p: ["probe", "kl", "--policy", "no/such-model!", "--reference", str(p["model"])],
     "unknown model"),
]


@pytest.mark.parametrize("name, build, says", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_keeps_what_was_written(files: dict[str, Path], name: str,
                                                                 build: Callable, says: str) -> None:
    before = snapshot(files["run"])
    assert {"run.json", "samples.jsonl", "passk.json", "passk.png"} <= set(before)
    assert says in one_error_line(build(files))
    assert snapshot(files["run"]) == before


def test_there_are_at_least_twenty_distinct_cases() -> None:
    assert len({name for name, _, _ in CASES}) == len(CASES) >= 20


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_a_backend_whose_package_is_missing(files: dict[str, Path], tmp_path: Path) -> None:
    assert "needs the vllm package" in one_error_line(run_args(files, "--backend", "vllm", "--out", str(tmp_path / "r")))


@pytest.mark.slow
def test_contam_on_an_unreachable_server_is_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    args = ["probe", "contam", "--model", str(files["model"]), "--task", str(files["task.jsonl"]), "--verifier", "exact",
            "--backend", "openai", "--base-url", "http://127.0.0.1:9", "--out", str(tmp_path / "c")]
    assert "cannot reach http://127.0.0.1:9" in one_error_line(args)




@pytest.mark.slow
@pytest.mark.parametrize("url", [None, "http://127.0.0.1:9"])
def test_passk_on_an_unreachable_server_is_one_line(files: dict[str, Path], tmp_path: Path, url: str | None) -> None:
    extra = ["--base-url", url] if url else []
    line = one_error_line(run_args(files, "--backend", "openai", *extra, "--out", str(tmp_path / "r")))
    assert "cannot reach" in line


@pytest.mark.parametrize("flag, value", [("--verify-timeout", "0"), ("--verify-workers", "-1")])
def test_verifier_pool_settings_are_checked_first(files: dict[str, Path], tmp_path: Path, flag: str, value: str) -> None:
    one_error_line(run_args(files, flag, value, "--out", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag, value", [("--temperature", "-1"), ("--top-p", "2"), ("--max-tokens", "0")])
def test_impossible_sampling_settings_are_refused(files: dict[str, Path], tmp_path: Path, flag: str, value: str) -> None:
    one_error_line(run_args(files, flag, value, "--out", str(tmp_path / "r")))
