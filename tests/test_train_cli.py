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


def test_the_backends_defaults_live_in_the_settings_not_the_command_line() -> None:
    from mta_train import DapoSettings, TrainSettings

    # A Python caller gets what the command line gets: the paper's run on verl, a CPU one locally.
    verl, local = TrainSettings(technique="random", backend="verl"), TrainSettings(technique="random")
    assert verl.dapo == DapoSettings() and verl.eval_count is None  # every problem
    assert local.dapo == DapoSettings.small() and local.eval_count == 20
    assert TrainSettings(technique="ttrl", backend="verl").dapo.steps == 30  # Section 4.2
    assert TrainSettings(technique="random", eval_limit=5).eval_count == 5
    assert TrainSettings(technique="random", eval_limit=0).eval_count is None  # 0: every problem
    # a batch below the default mini-batch takes it down, unless one is given
    assert DapoSettings().changed(batch_size=8).mini_batch_size == 8
    assert DapoSettings().changed(batch_size=8, mini_batch_size=4).mini_batch_size == 4


def test_warm_up_and_clips_reach_the_dapo_settings(tmp_path: Path, tiny_llama_dir: Path) -> None:
    pytest.importorskip("verl")
    args = ["train", "--technique", "random", "--backend", "verl", "--dry-run", "--model", str(tiny_llama_dir)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    dapo = json.loads((tmp_path / "a" / "train.json").read_text())["settings"]["dapo"]
    assert (dapo["warmup_steps"], dapo["clip_low"], dapo["clip_high"]) == (10, 0.2, 0.28)  # DAPO's
    result = runner.invoke(app, [*args, "--warmup-steps", "3", "--clip-low", "0.5", "--clip-high", "9.0",
                                 "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    dapo = json.loads((tmp_path / "b" / "train.json").read_text())["settings"]["dapo"]
    assert (dapo["warmup_steps"], dapo["clip_low"], dapo["clip_high"]) == (3, 0.5, 9.0)


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


MATH_FIXTURE = str(Path(__file__).parent / "fixtures" / "user_math.jsonl")


def test_the_papers_incorrect_reward_configures_on_a_math_task(tmp_path: Path,
                                                              tiny_llama_dir: Path) -> None:
    """Issue 22: the paper's own variant (a fixed incorrect label per problem, made by the model
    before training) exited 2 on a dry run and left run.json behind. The dry run now writes the
    configuration and says that the training rows come after labelling."""
    pytest.importorskip("verl")
    from omegaconf import OmegaConf

    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--technique", "incorrect", "--task", MATH_FIXTURE,
                                 "--verifier", "math", "--backend", "verl", "--dry-run",
                                 "--model", str(tiny_llama_dir), "--out", str(run)])
    assert result.exit_code == 0, result.output
    config = OmegaConf.load(run / "verl_config.yaml")
    kwargs = config.reward.custom_reward_function.reward_kwargs
    assert (kwargs.technique, kwargs.variant) == ("incorrect", "paper")
    assert list(config.data.train_files) == [str(run / "verl_data" / "train.parquet")]
    assert not (run / "verl_data" / "train.parquet").exists()  # written after labelling
    assert (run / "verl_data" / "val_0.parquet").is_file()
    assert "does not label" in " ".join(result.output.split())


@pytest.mark.parametrize("extra, says", [
    (["--eval-task", "no-such-task"], "no-such-task"),
    (["--ray-address", "10.0.0.1:6379"], "--shared-dir"),
    (["--ray-address", "10.0.0.1:6379", "--shared-dir", "{shared}"], "is not in --shared-dir"),
    (["--gpus-per-node", "0"], "at least 1"),
])
def test_a_refused_verl_start_writes_nothing(extra: list[str], says: str, tmp_path: Path,
                                             tiny_llama_dir: Path) -> None:
    """Issue 22: every refusal comes before the run directory is made (it held a stray run.json)."""
    pytest.importorskip("verl")
    shared = tmp_path / "shared"
    shared.mkdir()
    run = tmp_path / "run"
    args = ["train", "--technique", "vote", "--backend", "verl", "--dry-run", "--model",
            str(tiny_llama_dir), "--out", str(run), *[a.format(shared=shared) for a in extra]]
    assert says in one_error_line(args)
    assert not run.exists()


def test_a_multi_node_run_lives_in_the_shared_folder(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """Issue 22: with --ray-address, verl's workers on other nodes read the data, the model and
    the agent-loop file, and write checkpoints and the metrics log, by the driver's paths."""
    pytest.importorskip("verl")
    from omegaconf import OmegaConf

    shared = tmp_path / "shared"
    shared.mkdir()
    base = ["train", "--technique", "vote", "--backend", "verl", "--dry-run",
            "--ray-address", "10.0.0.1:6379", "--shared-dir", str(shared)]
    run = shared / "run"
    # a local model outside the shared folder cannot be loaded by the other nodes
    refused = one_error_line([*base, "--model", str(tiny_llama_dir), "--out", str(run)])
    assert f"the model {tiny_llama_dir} is not in --shared-dir" in refused
    assert not run.exists()
    # a hub ID is fetched by every node; everything mta writes is in the shared folder
    result = runner.invoke(app, [*base, "--model", "qwen", "--out", str(run)])
    assert result.exit_code == 0, result.output
    config = OmegaConf.load(run / "verl_config.yaml")
    env = config.ray_kwargs.ray_init.runtime_env.env_vars
    written = [config.trainer.default_local_dir, env.VERL_FILE_LOGGER_PATH,
               config.actor_rollout_ref.rollout.agent.agent_loop_config_path,
               *config.data.train_files, *config.data.val_files]
    assert all(Path(path).is_relative_to(shared) for path in written), written
    assert config.ray_kwargs.ray_init.address == "10.0.0.1:6379"


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
