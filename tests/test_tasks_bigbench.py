"""BIG-Bench Hard and Extra Hard (mta_probe/tasks/bigbench.py): the real files, the hub layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchdata import benchmark_dir
from hubstub import fake_hub

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks import TaskOptions, bigbench, load_task
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

DATE_ITEM = ("Today is 1/1/2020. What is the date tomorrow?\nOptions:\n(A) 01/02/2020\n(B) 01/03/2020\n"
             "(C) 12/31/2019\n(D) 02/01/2020\n(E) 01/01/2021\n(F) 01/02/2019")


@pytest.mark.parametrize("subset, question, expected", [
    ("boolean_expressions", "not ( True ) and ( True ) is", 2),
    ("web_of_lies", "Question: Does Ka tell the truth?", 2),
    ("date_understanding", DATE_ITEM, 6),
    ("word_sorting", "Sort the following words alphabetically: List: oven costume", None),
    ("object_counting", "I have a flute and a piano. How many instruments do I have?", None),
])
def test_bbh_num_choices(subset: str, question: str, expected: int | None):
    problem = bigbench.bbh_problem({"input": question, "target": "(A)"}, subset, 4)
    assert (problem.id, problem.num_choices, problem.gold) == (f"{subset}/4", expected, "(A)")
    assert problem.prompt == ANSWER_TAG_TEMPLATE.format(question=question)


def test_bbh_concatenates_27_subsets_and_bbeh_counts_within_tasks(monkeypatch: pytest.MonkeyPatch):
    rows = {("lukaemon/bbh", s): [{"input": f"{s} q{i}", "target": "x"} for i in range(2)]
            for s in bigbench.BBH_SUBSETS}
    rows[("BBEH/bbeh", None)] = [{"input": "a", "target": "1", "task": "t1"},
                                 {"input": "b", "target": "2", "task": "t2"},
                                 {"input": "c", "target": "3", "task": "t1"}]
    fake_hub(monkeypatch, rows=rows)
    monkeypatch.delenv("MTA_DATA_DIR", raising=False)
    bbh = load_task("bbh").problems
    assert len(bigbench.BBH_SUBSETS) == 27 and len(bbh) == 54 == len({p.id for p in bbh})
    assert [p.id for p in load_task("bbeh").problems] == ["t1/0", "t2/0", "t1/1"]


# ---------------------------------------------------------------------------------------------
# The real files (shared/benchmarks: the GitHub layouts), and the same items from the hub


def github_rows(folder: Path) -> list[dict]:
    return json.loads(folder.read_text(encoding="utf-8"))["examples"]


@pytest.fixture(scope="module")
def real() -> dict[str, list]:
    """The problems of both tasks, read once from the real files."""
    return {name: load_task(name, options=TaskOptions(data_dir=benchmark_dir(name))).problems
            for name in ("bbh", "bbeh")}


def test_bbh_reads_all_real_files(real: dict):
    folder = benchmark_dir("bbh")
    problems = real["bbh"]
    assert len(problems) == 6511 == len({p.id for p in problems})
    by_subset = {s: [p for p in problems if p.meta["subset"] == s] for s in bigbench.BBH_SUBSETS}
    for subset, items in by_subset.items():
        rows = github_rows(folder / f"{subset}.json")
        assert [(p.id, p.statement, p.gold) for p in items] == [
            (f"{subset}/{i}", row["input"], row["target"]) for i, row in enumerate(rows)]
    assert len(by_subset["causal_judgement"]) == 187 and len(by_subset["snarks"]) == 178
    assert problems[0].prompt == ANSWER_TAG_TEMPLATE.format(question=problems[0].statement)


def test_bbeh_reads_all_real_files(real: dict):
    folder = benchmark_dir("bbeh")
    problems = real["bbeh"]
    assert len(problems) == 4520 == len({p.id for p in problems})
    assert [p.meta["task"] for p in problems][::200][:3] == ["boardgame_qa", "boolean_expressions",
                                                             "buggy_tables"]
    for task in bigbench.BBEH_TASKS:
        rows = github_rows(folder / f"bbeh_{task}" / "task.json")
        items = [p for p in problems if p.meta["task"] == task]
        assert [(p.id, p.statement, p.gold) for p in items] == [
            (f"{task}/{i}", row["input"], row["target"]) for i, row in enumerate(rows)]
        assert len(items) == (120 if task == "disambiguation_qa" else 200)


def test_hub_layouts_give_the_same_problems(real: dict, monkeypatch: pytest.MonkeyPatch):
    """lukaemon/bbh (one config per subset) and BBEH/bbeh (one split, a `task` column such as
    "boardgame qa", a `mini` flag, tasks in another order) give the problems the files give."""
    bbh_folder, bbeh_folder = benchmark_dir("bbh"), benchmark_dir("bbeh")
    rows = {("lukaemon/bbh", s): github_rows(bbh_folder / f"{s}.json") for s in bigbench.BBH_SUBSETS}
    rows[("BBEH/bbeh", None)] = [
        {**row, "task": task.replace("_", " "), "mini": 0} for task in reversed(bigbench.BBEH_TASKS)
        for row in github_rows(bbeh_folder / f"bbeh_{task}" / "task.json")]
    fake_hub(monkeypatch, rows=rows)
    monkeypatch.delenv("MTA_DATA_DIR", raising=False)
    for name in ("bbh", "bbeh"):
        assert load_task(name).problems == real[name]


def test_clone_and_data_dir_layouts(real: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A clone of each repository, a folder holding `bbh/`, and $MTA_DATA_DIR/<name> all work."""
    bbh_folder, bbeh_folder = benchmark_dir("bbh"), benchmark_dir("bbeh")
    (tmp_path / "BIG-Bench-Hard").mkdir()
    (tmp_path / "BIG-Bench-Hard" / "bbh").symlink_to(bbh_folder)
    (tmp_path / "bbeh-clone" / "bbeh").mkdir(parents=True)
    (tmp_path / "bbeh-clone" / "bbeh" / "benchmark_tasks").symlink_to(bbeh_folder)
    (tmp_path / "shelf").mkdir()
    (tmp_path / "shelf" / "bbh").symlink_to(bbh_folder)
    (tmp_path / "shelf" / "bbeh").symlink_to(bbeh_folder)
    expected = real
    assert load_task("bbh", options=TaskOptions(data_dir=tmp_path / "BIG-Bench-Hard")).problems \
        == expected["bbh"]
    assert load_task("bbeh", options=TaskOptions(data_dir=tmp_path / "bbeh-clone")).problems \
        == expected["bbeh"]
    monkeypatch.setenv("MTA_DATA_DIR", str(tmp_path / "shelf"))
    assert load_task("bbh").problems == expected["bbh"]
    assert load_task("bbeh").problems == expected["bbeh"]


def test_hub_parquet_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The hub's parquet files in a local folder: lukaemon/bbh's `<subset>/test/*.parquet`,
    BBEH/bbeh's `data/*.parquet`."""
    for subset in bigbench.BBH_SUBSETS:
        (tmp_path / "bbh" / subset / "test").mkdir(parents=True)
        (tmp_path / "bbh" / subset / "test" / "0000.parquet").write_bytes(b"")
    (tmp_path / "bbeh" / "data").mkdir(parents=True)
    (tmp_path / "bbeh" / "data" / "train-00000-of-00001.parquet").write_bytes(b"")
    row = {"input": "q", "target": "(A)", "task": "sarc triples"}
    calls = fake_hub(monkeypatch, rows={("parquet", None): [row]})
    bbh = load_task("bbh", options=TaskOptions(data_dir=tmp_path / "bbh")).problems
    assert [p.id for p in bbh[:2]] == ["boolean_expressions/0", "causal_judgement/0"]
    assert calls[0] == ("parquet", None, "train",
                        str(tmp_path / "bbh" / "boolean_expressions" / "test" / "0000.parquet"))
    bbeh = load_task("bbeh", options=TaskOptions(data_dir=tmp_path / "bbeh")).problems
    assert [(p.id, p.meta["task"]) for p in bbeh] == [("sarc_triples/0", "sarc_triples")]
    fake_hub(monkeypatch, rows={("parquet", None): [{"input": "q", "target": "1"}]})
    with pytest.raises(BadInputError, match="BBEH rows need input, target and task"):
        load_task("bbeh", options=TaskOptions(data_dir=tmp_path / "bbeh"))


def test_incomplete_or_broken_local_files(tmp_path: Path):
    (tmp_path / "boolean_expressions.json").write_text('{"examples": [{"input": "q", "target": "True"}]}')
    with pytest.raises(DataUnavailableError, match="BBH subset causal_judgement is missing"):
        load_task("bbh", options=TaskOptions(data_dir=tmp_path))
    for subset in bigbench.BBH_SUBSETS[1:]:
        (tmp_path / f"{subset}.json").write_text('{"examples": [{"input": "q"}]}')
    with pytest.raises(BadInputError, match="causal_judgement.json: example 0 needs text"):
        load_task("bbh", options=TaskOptions(data_dir=tmp_path))
    task = tmp_path / "bbeh_boardgame_qa" / "task.json"
    task.parent.mkdir()
    task.write_text("not json")
    with pytest.raises(BadInputError, match="task.json: not a readable JSON file"):
        load_task("bbeh", options=TaskOptions(data_dir=tmp_path))
    task.write_text('{"examples": []}')
    with pytest.raises(DataUnavailableError, match="BBEH task boolean_expressions is missing"):
        load_task("bbeh", options=TaskOptions(data_dir=tmp_path))
    with pytest.raises(DataUnavailableError, match="no bbh files"):
        load_task("bbh", options=TaskOptions(data_dir=tmp_path / "bbeh_boardgame_qa"))


@pytest.mark.parametrize("name, expected", [
    ("bbeh_boardgame_qa", "boardgame_qa"), ("boardgame qa", "boardgame_qa"),
    ("Sport QA", "sportqa"), ("multistep_arithmetic", "multistep_arithmetic"),
    ("Something New", "something_new"),
])
def test_bbeh_task_names(name: str, expected: str):
    assert bigbench.bbeh_task_name(name) == expected
