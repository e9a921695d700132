"""DAPO settings: the paper's defaults, the small local preset, and what is refused."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from mta_probe.errors import BadInputError
from mta_probe.tasks import TaskOptions
from mta_train.settings import LOSS_AGG_MODES, DapoSettings, LocalSettings, TrainSettings
from mta_train.techniques import TECHNIQUES

# The paper's Section 3 and the launch scripts of its code (github hkust-nlp/model-task-align-rl).
PAPER = {
    "group_size": 16, "clip_low": 0.2, "clip_high": 0.28, "clip_c": 10.0,
    "loss_agg_mode": "token-mean", "dynamic_sampling": True, "max_num_gen_batches": 2,
    "lr": 1e-6, "warmup_steps": 10, "weight_decay": 0.1, "grad_clip": 1.0, "batch_size": 128,
    "mini_batch_size": 64, "steps": 300, "val_every": 20, "save_every": 50, "temperature": 1.0,
    "top_p": 1.0,
    "max_prompt_length": 2048, "max_response_length": 8192, "kl_coef": 0.0,
    "entropy_coeff": 0.0, "seed": 0,
}


def test_defaults_are_the_papers() -> None:
    defaults = DapoSettings()
    assert {f.name for f in fields(DapoSettings)} == set(PAPER)
    assert {name: getattr(defaults, name) for name in PAPER} == PAPER


def test_small_changes_only_the_size() -> None:
    small = DapoSettings.small()
    changed = {name: getattr(small, name) for name in PAPER if getattr(small, name) != PAPER[name]}
    assert changed == {"group_size": 8, "batch_size": 2, "mini_batch_size": 2, "steps": 6,
                       "val_every": 0, "save_every": 3, "lr": 1e-5, "warmup_steps": 0,
                       "max_prompt_length": 512, "max_response_length": 64}
    # the objective is the paper's
    assert (small.clip_low, small.clip_high, small.clip_c, small.loss_agg_mode,
            small.dynamic_sampling, small.kl_coef) == (0.2, 0.28, 10.0, "token-mean", True, 0.0)


def test_for_technique_takes_the_papers_step_count() -> None:
    """TTRL: 30 steps (Section 4.2); every other technique: DAPO's 300."""
    assert DapoSettings.for_technique(TECHNIQUES["ttrl"]) == replace(DapoSettings(), steps=30)
    for name in set(TECHNIQUES) - {"ttrl"}:
        assert DapoSettings.for_technique(TECHNIQUES[name]) == DapoSettings()
    assert DapoSettings.for_technique(TECHNIQUES["ttrl"], steps=7, lr=2e-6).steps == 7


def test_small_accepts_changes_and_validates_them() -> None:
    assert DapoSettings.small(steps=3, kl_coef=0.001).steps == 3
    assert DapoSettings.small(steps=3, kl_coef=0.001).kl_coef == 0.001
    with pytest.raises(BadInputError, match="group_size"):
        DapoSettings.small(group_size=1)
    with pytest.raises(TypeError):
        DapoSettings.small(no_such_field=1)


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        DapoSettings().lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(("change", "message"), [
    ({"group_size": 1}, "group_size"),
    ({"group_size": 0}, "group_size"),
    ({"batch_size": 0}, "batch_size"),
    ({"mini_batch_size": 0}, "mini_batch_size"),
    ({"mini_batch_size": 129}, "exceeds batch_size"),
    ({"steps": 0}, "steps"),
    ({"save_every": 0}, "save_every"),
    ({"max_num_gen_batches": 0}, "max_num_gen_batches"),
    ({"max_prompt_length": 0}, "max_prompt_length"),
    ({"max_response_length": -1}, "max_response_length"),
    ({"clip_low": -0.1}, "clip"),
    ({"clip_low": 1.0}, "clip"),
    ({"clip_high": -0.01}, "clip"),
    ({"clip_c": 1.0}, "clip"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -1e-6}, "lr"),
    ({"kl_coef": -0.001}, "kl_coef"),
    ({"val_every": -1}, "val_every"),
    ({"warmup_steps": -1}, "warmup_steps"),
    ({"temperature": 0.0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.01}, "top_p"),
    ({"loss_agg_mode": "sum"}, "loss_agg_mode"),
])
def test_invalid_values_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        DapoSettings(**change)


@pytest.mark.parametrize("change", [{"grad_clip": 0.0}, {"grad_clip": -1.0},
                                    {"weight_decay": -0.1}, {"lr": float("nan")}])
def test_unvalidated_values_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(BadInputError):
        DapoSettings(**change)


@pytest.mark.parametrize("change", [
    {"group_size": 2}, {"clip_low": 0.0}, {"clip_high": 0.0}, {"mini_batch_size": 128},
    {"val_every": 0}, {"warmup_steps": 0}, {"kl_coef": 0.001}, {"top_p": 0.5},
    {"temperature": 0.01}, {"dynamic_sampling": False}, {"max_num_gen_batches": 1},
    *({"loss_agg_mode": mode} for mode in LOSS_AGG_MODES),
])
def test_boundary_values_are_accepted(change: dict[str, Any]) -> None:
    settings = DapoSettings(**change)
    assert all(getattr(settings, name) == value for name, value in change.items())


def test_replace_revalidates() -> None:
    with pytest.raises(BadInputError, match="exceeds batch_size"):
        replace(DapoSettings(), batch_size=32)


# --- TrainSettings ---------------------------------------------------------------------------

def test_train_settings_defaults() -> None:
    settings = TrainSettings(technique="ground-truth")
    assert (settings.model, settings.task, settings.backend, settings.eval_k) == (
        "smollm2-135m", "arith-quick", "local", None)  # None: the paper's k per benchmark
    assert (settings.eval_protocol, settings.variant, settings.label_samples) == ("paper", "paper", 64)
    assert settings.local == LocalSettings(device=None, micro_batch_size=8,
                                           gradient_checkpointing=True, bf16_autocast=True)
    assert settings.dapo == DapoSettings.small()
    assert settings.evaluation == ("arith-quick",)
    assert settings.require_format is True
    assert TrainSettings(technique="vote", eval_tasks=("math500", "aime24")).evaluation == (
        "math500", "aime24")


@pytest.mark.parametrize(("change", "message"), [
    ({"backend": "slurm"}, "backend"),
    ({"eval_k": 0}, "eval_k"),
    ({"train_limit": 0}, "train_limit"),
    ({"eval_limit": -2}, "eval_limit"),
    ({"eval_protocol": "lm-eval"}, "evaluation protocol"),
    ({"label_samples": 1}, "label_samples"),
    ({"local": LocalSettings(micro_batch_size=1)}, None),
])
def test_train_settings_refuse(change: dict[str, Any], message: str | None) -> None:
    if message is None:  # the boundary itself is accepted
        assert TrainSettings(technique="ground-truth", **change)
        with pytest.raises(BadInputError, match="micro_batch_size"):
            LocalSettings(micro_batch_size=0)
        return
    with pytest.raises(BadInputError, match=message):
        TrainSettings(technique="ground-truth", **change)


@pytest.mark.parametrize("tokens", [0, -5])
def test_train_settings_refuse_eval_max_tokens_below_one(tokens: int) -> None:
    with pytest.raises(BadInputError):
        TrainSettings(technique="ground-truth", eval_max_tokens=tokens)


def test_as_json_is_json_ready_and_complete(tmp_path: Path) -> None:
    settings = TrainSettings(
        technique="one-shot", one_shot=("chain_sum/0/3",), run_dir=tmp_path / "run",
        task_options=TaskOptions(data_dir=tmp_path, gym={"size": "4"}),
        dapo=DapoSettings.small(kl_coef=0.001))
    data = json.loads(json.dumps(settings.as_json()))
    assert data["technique"] == "one-shot"
    assert data["one_shot"] == ["chain_sum/0/3"]
    assert data["eval_tasks"] == ["arith-quick"]
    assert data["run_dir"] == str(tmp_path / "run")
    assert data["task_options"] == {"data_dir": str(tmp_path), "gym": {"size": "4"},
                                    "verifier": None}
    assert data["dapo"] == {name: getattr(settings.dapo, name) for name in PAPER}
    assert data["local"]["micro_batch_size"] == 8 and data["eval_protocol"] == "paper"
    plain = json.loads(json.dumps(TrainSettings(technique="random").as_json()))
    assert (plain["run_dir"], plain["one_shot"], plain["task_options"]["data_dir"]) == (
        None, None, None)
