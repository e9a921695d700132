"""KOR-Bench loading (mta_probe/tasks/kor.py) from a local clone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks import TASKS, TaskOptions, load_task
from mta_probe.tasks.prompts import KOR_TEMPLATES

FIXTURES = Path(__file__).parent / "fixtures"
KOR_CLONE = FIXTURES / "kor"


KOR_FIRST = {"kor-op": ("operation/1", "[[10]]"), "kor-cf": ("counterfactual/1", "[[B]]"),
             "kor-cipher": ("cipher/1", "[[DBC]]"), "kor-puzzle": ("puzzle/1", "[[3 1 2]]"),
             "kor-logic": ("logic/1", "[[F]]")}


@pytest.mark.parametrize("name", list(KOR_FIRST))
def test_kor_fixture_clone(name: str):
    task = load_task(name, options=TaskOptions(data_dir=KOR_CLONE))
    category = TASKS[name].source.rsplit("/", 1)[1]
    rules = {str(json.loads(line)["idx"]): json.loads(line)["rule_content"] for line in
             (KOR_CLONE / "data" / category / "rule.jsonl").read_text(encoding="utf-8").splitlines()}
    assert task.verifier == "kor" and len(task.problems) == 3
    assert (task.problems[0].id, task.problems[0].gold) == KOR_FIRST[name]
    for problem in task.problems:
        rule = rules[problem.meta["rule_id"]]
        assert problem.prompt == KOR_TEMPLATES[category].format(rule=rule, question=problem.statement)
        assert problem.prompt.endswith("### Answer:\n") and "[[" in problem.gold
        assert problem.meta["category"] == category


def test_kor_env_var_and_data_folder(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MTA_KOR_BENCH", str(KOR_CLONE))
    from_env = load_task("kor-op").problems
    assert from_env == load_task("kor-op", options=TaskOptions(data_dir=KOR_CLONE / "data")).problems


def test_kor_missing_clone_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MTA_KOR_BENCH", raising=False)
    with pytest.raises(DataUnavailableError, match="git clone https://github.com/KOR-Bench/KOR-Bench"):
        load_task("kor-op", options=TaskOptions(data_dir=tmp_path))


def test_kor_sample_with_unknown_rule(tmp_path: Path):
    folder = tmp_path / "data" / "operation"
    folder.mkdir(parents=True)
    (folder / "rule.jsonl").write_text('{"idx": "1", "rule_content": "r"}\n')
    (folder / "sample.jsonl").write_text('{"idx": "1", "rule_id": "9", "question": "q", "answer": "[[1]]"}\n')
    with pytest.raises(BadInputError, match="line 1: rule_id 9 is not in rule.jsonl"):
        load_task("kor-op", options=TaskOptions(data_dir=tmp_path))
