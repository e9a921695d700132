"""The experiment trackers: the table's refusals are one line, and what a run logs lands in the real
TensorBoard and wandb files (wandb offline), read back with their own readers."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trackerfiles import offline_wandb  # noqa: F401  (a pytest fixture: used by name)
from trackerfiles import tensorboard_scalars, tensorboard_texts, wandb_run, wandb_run_file

from mta_probe.errors import BadInputError
from mta_probe.runs import TENSORBOARD_DIR, TRACKERS, check_loggers, open_trackers

ROOT = Path(__file__).resolve().parents[1]




@pytest.mark.parametrize("names, local, says", [
    (["neptune"], True, "unknown logger 'neptune'; use console, tensorboard, wandb, mlflow"),
    (["file"], False, "unknown logger 'file'"),
    (["mlflow"], True, "logger 'mlflow' is passed to verl only (--backend verl); the local trainer and the "
                       "probes log to console, tensorboard, wandb"),
])
def test_a_logger_mta_cannot_serve_is_one_line(names: list[str], local: bool, says: str) -> None:
    with pytest.raises(BadInputError) as caught:
        check_loggers(names, local=local)
    assert str(caught.value).startswith(says) and "\n" not in str(caught.value)


def test_a_missing_package_is_named_with_its_install_line() -> None:
    missing = [name for name, row in TRACKERS.items() if row.package and importlib.util.find_spec(row.package) is None]
    if not missing:
        pytest.skip("every tracker's package is installed here")
    name = missing[0]
    with pytest.raises(BadInputError) as caught:
        check_loggers([name], local=False)
    assert str(caught.value) == f"logger {name!r} needs the {TRACKERS[name].package} package: {TRACKERS[name].install}"


def test_the_local_trackers_are_installed_here() -> None:
    check_loggers([name for name, row in TRACKERS.items() if row.local], local=True)


def test_no_logger_imports_no_tracker() -> None:
    code = ("import sys; from pathlib import Path; from mta_probe.runs import open_trackers\n"
            "with open_trackers((), Path('unused')) as t: t.log({'a': 1.0}, 1); t.summary('s', {'b': 2})\n"
            "print(sorted(m for m in ('wandb', 'tensorboard', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert not (ROOT / "unused").exists()


CURVE = [{"k": 1, "pass@k": 0.25, "ci_low": 0.1, "ci_high": 0.4},
         {"k": 2, "pass@k": 0.375, "ci_low": 0.2, "ci_high": 0.55},
         {"k": 4, "pass@k": 0.5, "ci_low": 0.3, "ci_high": 0.7}]


def _log_everything(run_dir: Path, names: list[str], said: list[str] | None = None) -> None:
    with open_trackers(names, run_dir, config={"seed": 7}, on_status=None if said is None else said.append) as t:
        t.log({"actor/entropy": 1.5, "mta/fallback": None, "note": "text", "mta/groups_kept": True}, 1)
        t.log({"actor/entropy": 1.25}, 2)
        t.curve("passk", "k", CURVE)
        t.table("passk/samples", ["problem_id", "correct"], [["q1", True], ["q2", False]])
        t.summary("align", {"category": "green", "alignment_score": 0.75})


def test_tensorboard_gets_scalars_the_curve_by_k_and_text_tables(tmp_path: Path) -> None:
    run_dir = tmp_path / "passk__m__t"
    _log_everything(run_dir, ["tensorboard"])
    scalars = tensorboard_scalars(run_dir / TENSORBOARD_DIR)
    assert [(s, v) for s, v in scalars["actor/entropy"]] == [(1, 1.5), (2, 1.25)]
    assert scalars["mta/groups_kept"] == [(1, 1.0)]  # a bool is a number; None and text are left out
    assert "mta/fallback" not in scalars and "note" not in scalars
    assert [s for s, _ in scalars["passk/pass@k"]] == [1, 2, 4]  # k is the step
    for name in ("pass@k", "ci_low", "ci_high"):
        # TensorBoard keeps float32: relative tolerance
        assert [v for _, v in scalars[f"passk/{name}"]] == pytest.approx([row[name] for row in CURVE], rel=1e-6)
    assert scalars["align/alignment_score"] == [(0, 0.75)]
    texts = tensorboard_texts(run_dir / TENSORBOARD_DIR)
    assert "| q2 | False |" in texts["passk/samples"]
    assert "| category | green |" in texts["align"]


def test_wandb_offline_run_is_named_after_the_run_directory(tmp_path: Path, offline_wandb: None) -> None:
    run_dir = tmp_path / "random__model__task__local__s0"
    _log_everything(run_dir, ["wandb"])
    run = wandb_run(wandb_run_file(run_dir))
    assert (run["project"], run["name"]) == ("mta", run_dir.name)
    assert run["config"]["seed"] == 7
    assert run["history"][1]["actor/entropy"] == 1.5 and run["history"][2]["actor/entropy"] == 1.25
    assert run["history"][1]["mta/groups_kept"] == 1.0 and "mta/fallback" not in run["history"][1]
    tables = {key: value for row in run["history"].values() for key, value in row.items()
              if key.endswith("/_type")}
    assert tables["passk/table/_type"] == "table-file" and tables["passk/samples/_type"] == "table-file"
    assert run["summary"]["align/category"] == "green" and run["summary"]["align/alignment_score"] == 0.75
    # the tables themselves, as wandb stored them beside the run
    stored = list(wandb_run_file(run_dir).parent.glob("files/media/table/passk/samples_*.table.json"))
    assert len(stored) == 1
    assert json.loads(stored[0].read_text()) == {"columns": ["problem_id", "correct"],
                                                 "data": [["q1", True], ["q2", False]]}


def test_console_says_one_line_a_step(tmp_path: Path) -> None:
    said: list[str] = []
    _log_everything(tmp_path / "run", ["console"], said)
    assert said[0] == "step:1 - actor/entropy:1.5 - mta/groups_kept:1"
    assert said[2] == "passk: k=1 0.250, k=2 0.375, k=4 0.500"
    assert said[3] == "align: category:green - alignment_score:0.75"
    assert not (tmp_path / "run").exists()  # the console writes no file


def test_wandb_without_a_login_is_one_line_naming_the_way_out(tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    code = ("from pathlib import Path; from mta_probe.runs import open_trackers\n"
            "try:\n    open_trackers(['wandb'], Path('run'))\n"
            "except Exception as error:\n    print(type(error).__name__, '|', error)\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    env.update(HOME=str(tmp_path), WANDB_CONFIG_DIR=str(tmp_path), WANDB_MODE="online", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120, check=True)
    line = out.stdout.strip()
    assert line.startswith("BackendError | wandb could not start a run (") and "\n" not in line
    assert line.endswith("log in with `wandb login`, or set WANDB_MODE=offline to keep the run on disk")
