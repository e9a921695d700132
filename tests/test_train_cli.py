"""`mta train` on the command line: bad input is one line and exit 2; a tiny run; selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import one_error_line, runner

from mta_cli.main import app


@pytest.mark.parametrize("args, words", [
    (["train"], "--technique"),
    (["train", "--technique", "bogus"], "unknown technique 'bogus'"),
    (["train", "--technique", "random", "--steps", "0"], "steps must be at least 1"),
    (["train", "--technique", "random", "--group-size", "1"], "group_size must be at least 2"),
    (["train", "--technique", "random", "--batch-size", "2", "--mini-batch-size", "4"],
     "mini_batch_size 4 exceeds batch_size 2"),
    (["train", "--technique", "random", "--backend", "slurm"], "unknown backend"),
    (["train", "--technique", "ttrl"], "--eval-task"),
    (["train", "--technique", "random", "--model", "no-such-model-xyz"], "no-such-model-xyz"),
    (["train", "--technique", "random", "--task", "no-such-task"], "no-such-task"),
    (["train", "--technique", "one-shot", "--one-shot", "nope"], "'nope' is not a problem id"),
    (["train", "--technique", "random", "--eval-k", "0"], "eval_k"),
    (["train", "--technique", "random", "--variant", "online"], "random has no reward variant 'online'"),
    (["train", "--technique", "random", "--eval-protocol", "lm-eval"], "evaluation protocol"),
    (["train", "--technique", "random", "--clip-low", "1"], "clip_low < 1"),
])
def test_bad_input_is_one_line(args: list[str], words: str) -> None:
    assert words in one_error_line(args)


def test_select_example_ranks_by_accuracy_variance(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    rows = [("a", 1, 0.0), ("a", 2, 0.0), ("b", 1, 0.0), ("b", 2, 1.0), ("c", 1, 0.5),
            ("c", 2, 0.75)]
    history.write_text("".join(json.dumps({"problem_id": p, "epoch": e, "accuracy": a}) + "\n"
                               for p, e, a in rows))
    result = runner.invoke(app, ["train", "select-example", str(history)])
    assert result.exit_code == 0, result.output
    assert "--one-shot b" in result.output and "0.500" in result.output
    assert "no accuracy history" in one_error_line(
        ["train", "select-example", str(tmp_path / "missing.jsonl")])


def test_a_tiny_local_run_from_the_command_line(tiny_llama_dir: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"what is {i} plus zero ?",
                                        "answer": str(i)}) + "\n" for i in range(23)))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--technique", "random", "--model", str(tiny_llama_dir),
                                 "--task", str(task), "--verifier", "normalized", "--steps", "2",
                                 "--batch-size", "1", "--mini-batch-size", "1", "--group-size",
                                 "2", "--max-response-length", "4", "--train-prompt", "task",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "gain" in result.output and str(out) in result.output.replace("\n", "")
    assert (out / "gains.json").exists() and len((out / "metrics.jsonl").read_text().splitlines()) == 2
    # the local default evaluates a prefix, and says so; every long phase had its bar
    settings = json.loads((out / "train.json").read_text())["settings"]
    assert settings["eval_limit"] == 20 and settings["train_prompt"] == "task"
    gains = json.loads((out / "gains.json").read_text())["tasks"]
    assert [row["num_problems"] for row in gains.values()] == [20]
    screen = " ".join(result.output.split())
    assert "evaluation before and after on the first 20 problems" in screen
    assert "the first 20 of 23 problems (--eval-limit 20)" in screen
    for bar in ("before: t.jsonl", "after: t.jsonl", "training"):
        assert bar in screen
    assert "2/2 st" in screen and screen.count("20/20") == 2, result.output


def _given(model: Path, **changes) -> dict:
    """The `mta train` callback's arguments by name, as typer passes them with no option given."""
    given = {name: None for name in ("technique", "eval_task", "steps", "batch_size", "mini_batch_size",
                                     "group_size", "lr", "kl_coef", "seed", "max_response_length",
                                     "temperature", "max_num_gen_batches", "one_shot", "train_limit",
                                     "eval_limit", "eval_k", "val_every", "gym_option", "data_dir",
                                     "verifier", "out", "device", "ray_address",
                                     "warmup_steps", "clip_low", "clip_high")}
    given.update(technique="random", variant="paper", model=str(model), task="arith-quick",
                 backend="local", eval_protocol="paper", train_prompt="paper", label_samples=64,
                 micro_batch_size=8, no_gradient_checkpointing=False, no_dynamic_sampling=False,
                 no_format_reward=False, dry_run=False, nodes=1, gpus_per_node=8)
    return {**given, **changes}


def test_the_verl_backend_evaluates_every_problem_by_default(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from mta_cli.train import _settings

    given = _given(tiny_llama_dir, backend="verl", dry_run=True)
    assert _settings(given).eval_limit is None
    assert _settings({**given, "backend": "local"}).eval_limit == 20
    assert _settings({**given, "backend": "local", "eval_limit": 5}).eval_limit == 5
    assert _settings({**given, "backend": "local", "eval_limit": 0}).eval_limit is None  # 0: every problem


def test_warm_up_and_clips_reach_the_dapo_settings(tiny_llama_dir: Path) -> None:
    from mta_cli.train import _settings

    given = _given(tiny_llama_dir)
    dapo = _settings(given).dapo
    assert (dapo.warmup_steps, dapo.clip_low, dapo.clip_high) == (0, 0.2, 0.28)  # small()'s, DAPO's
    dapo = _settings({**given, "warmup_steps": 3, "clip_low": 0.5, "clip_high": 9.0}).dapo
    assert (dapo.warmup_steps, dapo.clip_low, dapo.clip_high) == (3, 0.5, 9.0)


def test_ttrl_on_verl_defaults_to_the_papers_30_steps(tmp_path: Path, tiny_llama_dir: Path) -> None:
    pytest.importorskip("verl")
    from omegaconf import OmegaConf

    result = runner.invoke(app, ["train", "--technique", "ttrl", "--backend", "verl", "--dry-run",
                                 "--model", str(tiny_llama_dir), "--eval-task", "arith-quick",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = OmegaConf.load(tmp_path / "run" / "verl_config.yaml")
    assert config.trainer.total_training_steps == 30
    assert config.actor_rollout_ref.rollout.val_kwargs.top_p == 0.7


def test_data_prepare_writes_verl_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    result = runner.invoke(app, ["data", "prepare", "--out", str(tmp_path), "--task",
                                 "arith-quick", "--batch-size", "16", "--eval-limit", "3"])
    assert result.exit_code == 0, result.output
    train = pq.read_table(tmp_path / "train.parquet").to_pylist()
    assert len(train) == 16 and train[0]["data_source"] == "arith-quick"
    assert train[0]["prompt"][0]["role"] == "user" and "<answer>" in train[0]["prompt"][0]["content"]
    assert len(pq.read_table(tmp_path / "val_0.parquet").to_pylist()) == 3
    assert "unknown technique" in one_error_line(["data", "prepare", "--out", str(tmp_path),
                                                  "--technique", "bogus"])
