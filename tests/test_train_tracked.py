"""A train run's experiment trackers: local step metrics under verl's names, read back from the real
TensorBoard and wandb (offline) files of a tiny `mta train --logger ...` run; the verl dry run's
`trainer.logger`, and verl's own `Tracking` writing to the same places under the same names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import one_error_line, runner
from trackerfiles import offline_wandb  # noqa: F401  (a pytest fixture: used by name)
from trackerfiles import tensorboard_scalars, tensorboard_texts, wandb_run, wandb_run_file

from mta_cli.main import app
from mta_probe.runs import TENSORBOARD_DIR
from mta_train.tracked import tracked_metrics, tracker_env

# A metrics.jsonl record as mta_train/step_metrics.py writes it (vote, with a KL penalty).
RECORD = {"step": 3, "reward_mean": 0.5, "accuracy": 0.4, "format": 0.9, "entropy": 1.25,
          "rollout_entropy": 1.5, "response_length": 40.0, "groups_kept": 3, "groups_total": 4,
          "fallback": "duplicated", "batch_reward_mean": 0.625, "majority_ratio": 0.7,
          "label_accuracy": 0.6, "maj@8": 0.6, "seconds": 12.5, "loss": 0.25, "kl": 2.0,
          "ppo_kl": 0.01, "pg_clipfrac": 0.125, "grad_norm": 3.0, "lr": 1e-6,
          "val/aime24": 0.2, "pg_clipfrac_lower": 0.0625, "pg_clipfrac_high": 0.03125}


def test_a_local_step_goes_to_the_trackers_under_verls_names() -> None:
    tracked = tracked_metrics(RECORD, kl_coef=0.001)
    assert tracked == {
        "mta/generated/reward_mean": 0.5, "mta/generated/accuracy": 0.4, "mta/generated/format": 0.9,
        "actor/entropy": 1.25, "mta/generated/entropy": 1.5, "mta/generated/response_length": 40.0,
        "mta/groups_kept": 3, "mta/groups_total": 4, "mta/fallback": 1, "critic/score/mean": 0.625,
        "mta/majority_ratio": 0.7, "mta/label_accuracy": 0.6, "timing_s/step": 12.5,
        "actor/pg_loss": pytest.approx(0.25 - 0.001 * 2.0, rel=1e-12),  # the KL term taken out
        "actor/kl_loss": 2.0, "actor/ppo_kl": 0.01, "actor/pg_clipfrac": 0.125, "actor/grad_norm": 3.0,
        "actor/lr": 1e-6, "val-core/aime24/acc/mean@1": 0.2,
        "actor/pg_clipfrac_lower": 0.0625,  # verl's dual-clip fraction
        "mta/pg_clipfrac_high": 0.03125,  # a key the table does not know keeps its name under mta/
    }
    # without a KL penalty the loss is the policy-gradient loss, and kl is None (left out later)
    plain = tracked_metrics({**RECORD, "kl": None, "fallback": None}, kl_coef=0.0)
    assert plain["actor/pg_loss"] == 0.25 and plain["actor/kl_loss"] is None and plain["mta/fallback"] == 0


def test_what_the_trackers_get_reads_back_as_the_same_step_through_verls_file_log() -> None:
    """The round trip: a local step under the trackers' names, read as verl's file logger's record
    by mta's reader of verl runs (mta_train/verl_launch.py), gives back the same values for every
    metric both backends compute over the same population."""
    from mta_train.verl_launch import metrics_from_verl

    tracked = tracked_metrics({**RECORD, "kl": None}, kl_coef=0.0)
    [read] = metrics_from_verl([{"step": 3, "data": {"timing_s/step": 12.5, **tracked}}], batch_size=4,
                               group_size=8)
    shared = ("entropy", "seconds", "loss", "groups_kept", "groups_total", "majority_ratio",
              "label_accuracy", "maj@8", "val/aime24")
    assert {key: read[key] for key in shared} == {key: RECORD[key] for key in shared}


def test_verl_writes_its_tracker_files_into_the_run_directory(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.delenv("TENSORBOARD_DIR", raising=False)
    assert tracker_env(("wandb", "tensorboard"), tmp_path) == {
        "WANDB_DIR": str(tmp_path), "TENSORBOARD_DIR": str(tmp_path / TENSORBOARD_DIR)}
    assert tracker_env(("console",), tmp_path) == {}
    monkeypatch.setenv("WANDB_DIR", "/elsewhere")  # the user's choice stands
    assert tracker_env(("wandb",), tmp_path) == {}


@pytest.mark.parametrize("args, says", [
    (["--logger", "neptune"], "unknown logger 'neptune'"),
    (["--logger", "mlflow"], "logger 'mlflow' is passed to verl only (--backend verl)"),
])
def test_a_logger_the_local_trainer_cannot_serve_is_one_line(args: list[str], says: str) -> None:
    assert says in one_error_line(["train", "--technique", "random", *args])




def test_a_local_run_logs_its_steps_to_tensorboard_and_wandb(tiny_llama_dir: Path, tmp_path: Path,
                                                             offline_wandb: None) -> None:
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"what is {i} plus zero ?",
                                        "answer": str(i)}) + "\n" for i in range(5)))
    out = tmp_path / "random__tiny__t__local__s0"
    result = runner.invoke(app, ["train", "--technique", "random", "--model", str(tiny_llama_dir),
                                 "--task", str(task), "--verifier", "normalized", "--steps", "2",
                                 "--batch-size", "1", "--mini-batch-size", "1", "--group-size", "2",
                                 "--max-response-length", "4", "--train-prompt", "task", "--eval-limit", "3",
                                 "--out", str(out), "--logger", "tensorboard", "--logger", "wandb"])
    assert result.exit_code == 0, result.output
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    gains = json.loads((out / "gains.json").read_text())["tasks"][str(task)]
    val = f"val-core/{task}/acc/mean@1"
    expected = {  # tracker name -> metrics.jsonl key
        "actor/entropy": "entropy", "critic/score/mean": "batch_reward_mean", "actor/pg_loss": "loss",
        "mta/generated/response_length": "response_length", "mta/generated/accuracy": "accuracy",
        "mta/groups_total": "groups_total", "timing_s/step": "seconds", "actor/lr": "lr"}

    scalars = tensorboard_scalars(out / TENSORBOARD_DIR)
    for name, key in expected.items():
        assert [s for s, _ in scalars[name]] == [1, 2], name
        # TensorBoard stores float32: relative tolerance
        assert [v for _, v in scalars[name]] == pytest.approx([r[key] for r in steps], rel=1e-6), name
    # the evaluation before training at step 0, the one after at the last step (no validation ran)
    assert scalars[val] == [(0, pytest.approx(gains["before"], rel=1e-6)), (2, pytest.approx(gains["after"], rel=1e-6))]
    assert "| technique | random |" in tensorboard_texts(out / TENSORBOARD_DIR)["gains"]

    run = wandb_run(wandb_run_file(out))
    assert (run["project"], run["name"]) == ("mta", out.name)
    assert run["config"]["technique"] == "random" and run["config"]["loggers"] == ["tensorboard", "wandb"]
    for name, key in expected.items():
        assert [run["history"][s][name] for s in (1, 2)] == pytest.approx([r[key] for r in steps], rel=1e-12), name
    assert run["history"][0][val] == gains["before"]
    assert run["summary"][f"gains/{task}/gain"] == pytest.approx(gains["gain"], rel=1e-12)


def test_the_verl_dry_run_passes_the_loggers_with_file(tiny_llama_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("verl")
    from omegaconf import OmegaConf

    monkeypatch.delenv("WANDB_DIR", raising=False)
    out = tmp_path / "random__tiny__arith-quick__verl__s0"
    args = ["train", "--technique", "random", "--backend", "verl", "--dry-run", "--model", str(tiny_llama_dir),
            "--eval-limit", "2", "--out", str(out)]
    result = runner.invoke(app, [*args, "--logger", "wandb"])
    assert result.exit_code == 0, result.output
    trainer = OmegaConf.load(out / "verl_config.yaml").trainer
    assert list(trainer.logger) == ["console", "wandb", "file"]  # file: mta reads it back (metrics.jsonl)
    assert (trainer.project_name, trainer.experiment_name) == ("mta", out.name)
    assert f"WANDB_DIR={out}" in result.output.replace("\n", "")
    assert "trainer.logger=['console','wandb','file']" in (out / "verl_overrides.txt").read_text().splitlines()
    # the same run directory without --logger: verl's console and file, as before
    assert runner.invoke(app, args).exit_code == 0
    assert list(OmegaConf.load(out / "verl_config.yaml").trainer.logger) == ["console", "file"]


@pytest.mark.slow
def test_verls_own_tracking_writes_where_and_as_the_local_run_does(tiny_llama_dir: Path, tmp_path: Path,
                                                                   offline_wandb: None) -> None:
    """verl's `Tracking` (verl/utils/tracking.py, what its trainer logs through), built from the dry
    run's configuration and environment: its wandb run and TensorBoard events land in the run
    directory, named as a local run's, and its file log is what mta reads into metrics.jsonl."""
    pytest.importorskip("verl")
    out = tmp_path / "random__tiny__arith-quick__verl__s0"
    result = runner.invoke(app, ["train", "--technique", "random", "--backend", "verl", "--dry-run",
                                 "--model", str(tiny_llama_dir), "--eval-limit", "2", "--out", str(out),
                                 "--logger", "tensorboard", "--logger", "wandb"])
    assert result.exit_code == 0, result.output
    overrides = (out / "verl_overrides.txt").read_text().splitlines()
    env = dict(a.split("=", 1) for a in result.output.split() if a.split("=", 1)[0] in
               ("WANDB_DIR", "TENSORBOARD_DIR", "VERL_FILE_LOGGER_PATH"))
    assert env == {"WANDB_DIR": str(out), "TENSORBOARD_DIR": str(out / TENSORBOARD_DIR),
                   "VERL_FILE_LOGGER_PATH": str(out / "verl_metrics.jsonl")}, result.output
    assert "trainer.logger=['console','tensorboard','wandb','file']" in overrides
    # verl's trainer is a fresh process with these variables (Ray's runtime env): so is this one
    step = {"actor/entropy": 1.25, "critic/score/mean": 0.625, "timing_s/step": 12.5, "mta/groups_kept": 3}
    code = ("import json, sys; from omegaconf import OmegaConf; from verl.utils.tracking import Tracking\n"
            "config = OmegaConf.load(sys.argv[1])\n"
            "tracking = Tracking(project_name=config.trainer.project_name,\n"
            "                    experiment_name=config.trainer.experiment_name,\n"
            "                    default_backend=list(config.trainer.logger),\n"
            "                    config=OmegaConf.to_container(config, resolve=True))\n"
            "tracking.log(data=json.loads(sys.argv[2]), step=1)\n"
            "tracking.finish()\n")
    subprocess.run([sys.executable, "-c", code, str(out / "verl_config.yaml"), json.dumps(step)],
                   env={**os.environ, **env}, cwd=tmp_path, check=True, capture_output=True)

    scalars = tensorboard_scalars(out / TENSORBOARD_DIR)
    assert {name: scalars[name] for name in step} == {name: [(1, value)] for name, value in step.items()}
    run = wandb_run(wandb_run_file(out))
    assert (run["project"], run["name"]) == ("mta", out.name)
    assert {name: run["history"][1][name] for name in step} == step
    from mta_train.verl_launch import convert_log

    assert convert_log(out, batch_size=2) == 1
    [read] = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert (read["entropy"], read["groups_kept"]) == (1.25, 3)
