"""SynLogic rows (mta_probe/tasks/synlogic.py) to Problems, from the hub or a local copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hubstub import fake_hub

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks import TaskOptions, load_task, synlogic
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE


def test_synlogic_rows():
    game = {"question": "Sort: b,a", "answer": "a,b", "difficulty": 1, "metadata": {"k": 1}}
    row = {"data_source": "word_sorting", "ability": "logic",
           "prompt": [{"role": "user", "content": "Sort: b,a. Answer in \\boxed{}."}],
           "extra_info": {"game_data_str": json.dumps(game), "index": 0}}
    p = synlogic.synlogic_problem(row, 5)
    assert (p.id, p.statement, p.gold) == ("word_sorting/5", "Sort: b,a", "a,b")
    assert p.prompt == ANSWER_TAG_TEMPLATE.format(question="Sort: b,a. Answer in \\boxed{}.")
    assert json.loads(p.meta["game_data_str"]) == game and p.meta["data_source"] == "word_sorting"
    row["extra_info"] = {"game_data_str": None, "original_question": "Q?", "original_answer": "A"}
    q = synlogic.synlogic_problem(row, 0)
    assert (q.statement, q.gold) == ("Q?", "A")
    assert json.loads(q.meta["game_data_str"])["metadata"] == {}


def test_synlogic_reads_easy_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("MTA_SYNLOGIC", raising=False)
    calls = fake_hub(monkeypatch, rows={("MiniMaxAI/SynLogic", "easy"): []})
    assert load_task("synlogic").problems == []
    assert calls == [("MiniMaxAI/SynLogic", "easy", "validation", None)]
    with pytest.raises(DataUnavailableError, match="synlogic_easy/validation.parquet"):
        load_task("synlogic", options=TaskOptions(data_dir=tmp_path))
