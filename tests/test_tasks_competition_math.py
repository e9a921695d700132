"""Competition math rows (mta_probe/tasks/competition_math.py) to Problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchdata import benchmark_dir

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks import TaskOptions, competition_math, load_task


def test_math_rows():
    m = competition_math.math500_problem({"problem": "Compute $1+1$.", "solution": "...", "answer": "2",
                                      "subject": "Algebra", "level": 1,
                                      "unique_id": "test/algebra/1.json"})
    assert (m.id, m.gold, m.statement) == ("test/algebra/1.json", "2", "Compute $1+1$.")
    assert m.prompt == ("Compute $1+1$.\n\nPlease reason step by step, and put your final answer "
                        "within \\boxed{}.")
    a = competition_math.aime24_problem({"id": 60, "problem": "Find $x$.", "solution": "", "answer": "204",
                                     "url": "u", "year": "2024"})
    assert (a.id, a.gold) == ("60", "204")
    c = competition_math.amc23_problem({"id": 3, "question": "How many?", "answer": 27.0, "url": "u"}, 0)
    assert (c.id, c.gold, c.statement) == ("3", "27", "How many?")


def test_real_files_in_the_github_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    root = benchmark_dir("math500").parent
    expected = {"math500": (500, "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)"),
                "aime24": (30, "60", "204"), "amc23": (40, "0", "27")}
    for name, (count, first_id, first_gold) in expected.items():
        problems = load_task(name, options=TaskOptions(data_dir=root)).problems
        assert (len(problems), problems[0].id, problems[0].gold) == (count, first_id, first_gold)
        assert len({p.id for p in problems}) == count and all(p.gold for p in problems)
        # the folder itself, or $MTA_DATA_DIR/<name>, find the same rows
        assert load_task(name, options=TaskOptions(data_dir=root / name)).problems == problems
        monkeypatch.setenv("MTA_DATA_DIR", str(root))
        assert load_task(name).problems == problems
        monkeypatch.delenv("MTA_DATA_DIR")
    aime = load_task("aime24", options=TaskOptions(data_dir=root)).problems
    assert [p.gold for p in aime if p.id == "67"] == ["25"]  # "025" in the GitHub copy
    amc = load_task("amc23", options=TaskOptions(data_dir=root)).problems
    assert amc[0].statement.startswith("Cities $A$ and $B$ are $45$ miles apart.")


def test_hub_layout_parquet(tmp_path: Path) -> None:
    pyarrow = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("datasets")
    import pyarrow as pa

    (tmp_path / "data").mkdir()
    rows = {"id": [60, 61], "problem": ["Find $x$.", "Find $y$."], "solution": ["", ""],
            "answer": ["204", "113"], "url": ["u", "v"], "year": ["2024", "2024"]}
    pyarrow.write_table(pa.table(rows), tmp_path / "data" / "train-00000-of-00001.parquet")
    problems = load_task("aime24", options=TaskOptions(data_dir=tmp_path)).problems
    assert [(p.id, p.gold, p.statement) for p in problems] == [("60", "204", "Find $x$."),
                                                               ("61", "113", "Find $y$.")]


def test_hub_layout_jsonl_and_a_wrong_folder(tmp_path: Path) -> None:
    row = {"problem": "Compute $1+1$.", "solution": "", "answer": "2", "subject": "Algebra",
           "level": 1, "unique_id": "test/algebra/1.json"}
    (tmp_path / "test.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert load_task("math500", options=TaskOptions(data_dir=tmp_path)).problems[0].gold == "2"
    with pytest.raises(DataUnavailableError, match="no amc23 files"):
        load_task("amc23", options=TaskOptions(data_dir=tmp_path / "nowhere"))
