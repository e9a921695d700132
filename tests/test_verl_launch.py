"""The verl launcher: the no-GPU refusal, the dry run, and verl's log turned into metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mta_probe.errors import BackendError
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.techniques import get_technique
from mta_train.verl_launch import (
    METRICS_FILE,
    NO_GPU,
    VERL_LOG,
    convert_log,
    launch,
    metrics_from_verl,
    verl_logs,
)


def _settings(run_dir: Path, model: str, **changes) -> TrainSettings:
    dapo = DapoSettings(batch_size=16, mini_batch_size=8, steps=3, max_response_length=64)
    return TrainSettings(technique="vote", model=model, task="arith-quick", backend="verl",
                         dapo=dapo, run_dir=run_dir, eval_limit=2, **changes)


def test_no_gpu_fails_at_once_naming_the_local_backend(tmp_path: Path, monkeypatch,
                                                       tiny_llama_dir: Path) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run_dir = tmp_path / "run"
    with pytest.raises(BackendError) as caught:
        launch(_settings(run_dir, str(tiny_llama_dir)), get_technique("vote"), run_dir)
    message = str(caught.value)
    assert message == NO_GPU and "\n" not in message
    assert "--backend local" in message
    assert not run_dir.exists()  # nothing was written


def test_dry_run_writes_the_config_and_returns_the_command(tmp_path: Path, monkeypatch,
                                                           tiny_llama_dir: Path) -> None:
    pytest.importorskip("verl")
    import torch
    from omegaconf import OmegaConf

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a dry run needs no GPU
    run_dir = tmp_path / "run"
    settings = _settings(run_dir, str(tiny_llama_dir), dry_run=True,
                         backend_options={"nodes": 1, "gpus_per_node": 2})
    result = launch(settings, get_technique("vote"), run_dir)
    assert result.gains is None
    command = result.command
    assert command[0] == "env" and "VERL_USE_EXTERNAL_MODULES=mta_train.verl_plugin" in command
    assert f"VERL_FILE_LOGGER_PATH={run_dir / VERL_LOG}" in command
    assert command[command.index("-m") + 1] == "verl.trainer.main_ppo"
    config = OmegaConf.load(run_dir / "verl_config.yaml")
    assert config.actor_rollout_ref.model.path == str(tiny_llama_dir)
    assert config.actor_rollout_ref.rollout.n == 16
    assert config.trainer.n_gpus_per_node == 2
    assert list(config.data.train_files) == [str(run_dir / "verl_data" / "train.parquet")]
    assert (run_dir / "verl_data" / "val_0.parquet").is_file()
    overrides = (run_dir / "verl_overrides.txt").read_text(encoding="utf-8").splitlines()
    assert overrides == command[command.index("verl.trainer.main_ppo") + 1:]
    train = json.loads((run_dir / "train.json").read_text(encoding="utf-8"))
    assert (train["technique"], train["backend"]) == ("vote", "verl")


def _hand_made_log() -> list[dict]:
    """What verl's file logger writes: validation before training, steps, a resumed step."""
    step = {"critic/score/mean": 0.25, "actor/entropy": 1.5, "response_length/mean": 120.0,
            "timing_s/step": 31.5, "actor/pg_loss": -0.01, "actor/ppo_kl": 0.002,
            "mta/accuracy": 0.5, "mta/format": 0.75, "mta/groups_kept": 3,
            "mta/groups_total": 8, "mta/gen_batches": 2, "training/global_step": 1}
    return [
        {"step": 0, "data": {"val-core/arith-quick/acc/mean@8": 0.1}},
        {"step": 1, "data": step},
        {"step": 2, "data": {**step, "critic/score/mean": 0.5, "timing_s/step": 30.0,
                             "val-core/arith-quick/acc/mean@8": 0.2,
                             "val-aux/arith-quick/score/mean@8": 0.9}},
        {"step": 2, "data": {"critic/score/mean": 0.75, "timing_s/step": 29.0,
                             "training/filter_groups/evicted_samples": 5}},
    ]


def test_verl_log_becomes_mta_metrics() -> None:
    records = metrics_from_verl(_hand_made_log(), batch_size=4)
    assert [r["step"] for r in records] == [1, 2]
    first = records[0]
    assert first == {"step": 1, "reward_mean": 0.25, "accuracy": 0.5, "format": 0.75,
                     "entropy": 1.5, "response_length": 120.0, "groups_kept": 3,
                     "groups_total": 8, "seconds": 31.5, "loss": -0.01, "kl": 0.002}
    # The resumed step 2 replaces the first one; without mta's sampler metrics, every group of
    # the batch was trained on and verl's own evictions count as generated.
    second = records[1]
    assert (second["reward_mean"], second["seconds"]) == (0.75, 29.0)
    assert (second["groups_kept"], second["groups_total"]) == (4, 9)
    assert second["accuracy"] is None and second["entropy"] is None
    assert "val/arith-quick" not in second


def test_vote_statistics_reach_metrics_jsonl_as_maj_at_k() -> None:
    """Table 4's Maj@16 from verl: mta's sampler logs label accuracy over every finished group."""
    log = [{"step": 1, "data": {"timing_s/step": 3.0, "mta/majority_ratio": 0.6,
                                "mta/label_accuracy": 0.55}}]
    (record,) = metrics_from_verl(log, batch_size=4, group_size=16)
    assert (record["majority_ratio"], record["label_accuracy"], record["maj@16"]) == (0.6, 0.55, 0.55)
    assert "maj@16" not in metrics_from_verl(_hand_made_log(), batch_size=4, group_size=16)[0]


def test_validation_accuracy_is_kept_per_task() -> None:
    records = metrics_from_verl(_hand_made_log()[:3], batch_size=4)
    assert records[1]["val/arith-quick"] == 0.2
    assert "val/arith-quick" not in records[0]


def test_convert_log_reads_rotated_logs_in_order(tmp_path: Path) -> None:
    log = _hand_made_log()
    (tmp_path / "verl_metrics.1.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in log[:3]) + '{"step": 3, "da', encoding="utf-8")
    (tmp_path / VERL_LOG).write_text(json.dumps(log[3]) + "\n", encoding="utf-8")
    assert [p.name for p in verl_logs(tmp_path)] == ["verl_metrics.1.jsonl", VERL_LOG]
    assert convert_log(tmp_path, batch_size=4) == 2
    lines = (tmp_path / METRICS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["reward_mean"] for line in lines] == [0.25, 0.75]
