"""Adding a verifier, a technique, a backend or a task is one module plus one table row
(ARCHITECTURE.md): the rows of tests/extension_rows.py, added here, work end to end."""

from __future__ import annotations

import json
from pathlib import Path

import extension_rows as ext
import pytest
from typer.testing import CliRunner

from mta_cli.main import app
from mta_probe import PassKSettings, probe_passk
from mta_probe.sampling import BACKENDS, Backend
from mta_probe.tasks import TASKS, Task, load_task
from mta_probe.verify import VERIFIERS, Verifier, VerifierPool
from mta_train import TrainSettings
from mta_train.dapo import group_advantages, masked_advantages
from mta_train.data import training_prompt
from mta_train.parquet import ability
from mta_train.techniques import TECHNIQUES


@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(VERIFIERS, "shouted", Verifier(ext.verify_shouted))
    monkeypatch.setitem(TASKS, "capitals-mini", Task("capitals-mini", "four capitals", "tests/extension_rows.py",
                                                    "shouted", ext.load_capitals))
    monkeypatch.setitem(TECHNIQUES, "low-only", ext.TECHNIQUE)
    monkeypatch.setitem(BACKENDS, "paris", Backend(ext.paris_sampler, "json", "nothing to install",
                                                   "answers Paris", loads_model=False))


def test_a_new_verifier_and_task_are_probed_end_to_end_on_a_new_backend(rows: None, tmp_path: Path) -> None:
    settings = PassKSettings(model="example/paris", task="capitals-mini", backend="paris", n=4,
                             out=tmp_path / "run", verify_workers=1, fit=None)
    result = probe_passk(settings)
    payload = json.loads((tmp_path / "run" / "passk.json").read_text())
    assert payload["num_problems"] == 4 and payload["pass_at_k"]["1"] == pytest.approx(0.25, rel=1e-9)
    assert result.run_dir == tmp_path / "run" and json.loads((result.run_dir / "run.json").read_text())["verifier"] == "shouted"
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {s["problem_id"] for s in samples if s["correct"]} == {"France"}  # PARIS == Paris, shouted
    with VerifierPool(workers=1, timeout=5.0) as pool:  # the row reaches the killable workers too
        verdicts = pool.verify("shouted", [("<answer>rome</answer>", load_task("capitals-mini").problems[1])])
    assert verdicts[0].correct


def test_a_new_verifier_is_read_by_the_train_side(rows: None) -> None:
    problem = load_task("capitals-mini").problems[0]
    assert ability("shouted") == "logic"
    assert "<answer>" in training_prompt(problem, "shouted")


def test_a_new_technique_trains_with_its_own_mask_locally_and_on_verl(rows: None) -> None:
    scores = [1.0, 0.0, 0.0, 1.0]
    assert masked_advantages(group_advantages(scores), scores, ext.TECHNIQUE.keeps)[::3] == [0.0, 0.0]
    settings = TrainSettings(technique="low-only", backend="verl")
    assert settings.dapo.steps == 300  # the paper's DAPO, from the table row alone
    pytest.importorskip("verl")
    from verl.trainer.ppo import core_algos

    import mta_train.verl_plugin as plugin

    plugin.register_estimators()
    assert core_algos.get_adv_estimator_fn("low-only") == plugin.MaskedGrpo(ext.keeps_low)


def test_the_command_line_lists_and_runs_the_new_rows(rows: None, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["probe", "tasks"], terminal_width=200)
    assert "capitals-mini" in listed.output and "shouted" in listed.output
    assert "low-only" in runner.invoke(app, ["train", "techniques"], terminal_width=200).output
    ran = runner.invoke(app, ["probe", "passk", "--model", "example/paris", "--task", "capitals-mini",
                              "--backend", "paris", "-n", "2", "--no-fit", "--out", str(tmp_path / "cli")])
    assert ran.exit_code == 0, ran.output
    assert json.loads((tmp_path / "cli" / "passk.json").read_text())["num_problems"] == 4
