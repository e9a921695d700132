"""Reading a train run (mta_report/trainruns.py): the recipe that tells seeds from experiments."""

from __future__ import annotations

import json
from pathlib import Path

from mta_report.trainruns import read_train


def _run(tmp_path: Path, name: str, seed: int, lr: float) -> Path:
    run = tmp_path / name
    run.mkdir()
    settings = {"technique": "vote", "model": "m", "task": "t", "run_dir": str(run), "verify_workers": 2,
                "eval_limit": 20, "dapo": {"seed": seed, "lr": lr, "steps": 5}}
    (run / "train.json").write_text(json.dumps({"model": "m", "technique": "vote", "task": "t", "kl_coef": 0.0,
                                                "settings": settings}))
    return run


def test_the_recipe_ignores_the_seed_and_the_directory_but_not_the_training(tmp_path: Path) -> None:
    s0, s1 = read_train(_run(tmp_path, "s0", 0, 2e-5)), read_train(_run(tmp_path, "s1", 1, 2e-5))
    pilot = read_train(_run(tmp_path, "pilot", 0, 5e-5))
    assert s0.recipe == s1.recipe != "" and pilot.recipe != s0.recipe
    assert (s0.name, s1.name) == ("vote · m · t · seed 0", "vote · m · t · seed 1")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "gains.json").write_text(json.dumps({"model": "m", "technique": "vote", "tasks": {}}))
    assert read_train(bare).recipe == ""
