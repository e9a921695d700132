"""SynLogic rows (mta_probe/tasks/synlogic.py) to Problems, from the hub or a local copy, with the
SynLogic clone whose verifiers score them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hubstub import fake_hub

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks import TaskOptions, load_task, synlogic
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

CLONE_VARIABLES = ("MTA_SYNLOGIC", "MTA_SYNLOGIC_CLONE", "MTA_DATA_DIR")


def _fake_clone(folder: Path) -> Path:
    """A folder with what marks a SynLogic clone: base/data.py and base/verifier.py."""
    (folder / "base").mkdir(parents=True)
    for name in ("data.py", "verifier.py"):
        (folder / "base" / name).write_text("")
    return folder


@pytest.fixture
def no_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLONE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_synlogic_rows():
    game = {"question": "Sort: b,a", "answer": "a,b", "difficulty": 1, "metadata": {"k": 1}}
    row = {"data_source": "word_sorting", "ability": "logic",
           "prompt": [{"role": "user", "content": "Sort: b,a. Answer in \\boxed{}."}],
           "extra_info": {"game_data_str": json.dumps(game), "index": 0}}
    p = synlogic.synlogic_problem(row, 5, Path("/clone"))
    assert (p.id, p.statement, p.gold) == ("word_sorting/5", "Sort: b,a", "a,b")
    assert p.prompt == ANSWER_TAG_TEMPLATE.format(question="Sort: b,a. Answer in \\boxed{}.")
    assert json.loads(p.meta["game_data_str"]) == game and p.meta["data_source"] == "word_sorting"
    assert p.meta["synlogic_clone"] == "/clone"
    row["extra_info"] = {"game_data_str": None, "original_question": "Q?", "original_answer": "A"}
    q = synlogic.synlogic_problem(row, 0)
    assert (q.statement, q.gold) == ("Q?", "A") and "synlogic_clone" not in q.meta
    assert json.loads(q.meta["game_data_str"])["metadata"] == {}


def test_synlogic_reads_easy_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_clone):
    clone = _fake_clone(tmp_path / "SynLogic")
    monkeypatch.setenv("MTA_SYNLOGIC_CLONE", str(clone))
    calls = fake_hub(monkeypatch, rows={("MiniMaxAI/SynLogic", "easy"): []})
    assert load_task("synlogic").problems == []
    assert calls == [("MiniMaxAI/SynLogic", "easy", "validation", None)]
    assert load_task("synlogic").verifier == "synlogic"
    with pytest.raises(DataUnavailableError, match="synlogic_easy/validation.parquet"):
        load_task("synlogic", options=TaskOptions(data_dir=tmp_path / "empty"))


def test_synlogic_without_a_clone_says_how_to_get_one(tmp_path: Path, no_clone):
    # Never a silent exact match: SynLogic is scored by its own verifiers or not at all.
    with pytest.raises(DataUnavailableError, match=r"git clone https://github.com/MiniMax-AI/SynLogic.*"
                                                   r"MTA_SYNLOGIC_CLONE"):
        load_task("synlogic")


def test_synlogic_clone_that_is_not_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_clone):
    monkeypatch.setenv("MTA_SYNLOGIC_CLONE", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="MTA_SYNLOGIC_CLONE=.* is not a SynLogic clone"):
        load_task("synlogic")


def test_synlogic_clone_from_the_variable_or_the_data_folders(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path, no_clone):
    given, shared = _fake_clone(tmp_path / "given"), _fake_clone(tmp_path / "shared" / "synlogic")
    assert synlogic.synlogic_clone(TaskOptions(data_dir=given)) == given.resolve()
    assert synlogic.synlogic_clone(TaskOptions(data_dir=tmp_path / "shared")) == shared.resolve()
    monkeypatch.setenv("MTA_DATA_DIR", str(tmp_path / "shared"))
    assert synlogic.synlogic_clone(TaskOptions()) == shared.resolve()
    monkeypatch.setenv("MTA_SYNLOGIC_CLONE", str(given))  # the variable wins over the data folder
    assert synlogic.synlogic_clone(TaskOptions()) == given.resolve()


def test_loaded_problems_carry_the_clone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_clone):
    clone = _fake_clone(tmp_path / "SynLogic")
    game = {"question": "q", "answer": "", "difficulty": 1, "metadata": {}}
    row = {"data_source": "sudoku", "prompt": [{"role": "user", "content": "q"}],
           "extra_info": {"game_data_str": json.dumps(game)}}
    fake_hub(monkeypatch, rows={("MiniMaxAI/SynLogic", "easy"): [row]})
    monkeypatch.setenv("MTA_SYNLOGIC_CLONE", str(clone))
    problem = load_task("synlogic").problems[0]
    assert problem.meta["synlogic_clone"] == str(clone.resolve())
