"""Wang et al.'s one-shot selection: rank examples by the std of their accuracy history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy
import pytest

from mta_probe.errors import BadInputError
from mta_train.selection import Ranked, rank_examples, read_history, select_example

# problem id -> accuracy per epoch 1, 2, ...
HISTORY = {
    "7": [0.0, 0.25, 0.75, 1.0],  # moved most
    "12": [0.5, 0.5, 0.5, 0.5],  # never moved
    "3": [0.125, 0.0, 0.375, 0.25],
    "40": [1.0, 0.0],  # two epochs only, std 0.5
    "9": [0.625],  # one epoch: std 0
}


def write_history(path: Path, history: dict[str, list[float]], *, shuffled: bool = True) -> Path:
    rows = [{"problem_id": pid, "epoch": epoch, "accuracy": acc}
            for pid, values in history.items() for epoch, acc in enumerate(values, start=1)]
    if shuffled:  # the reader must not rely on file order
        rows = rows[::-1]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_read_history_orders_each_example_by_epoch(tmp_path: Path) -> None:
    path = write_history(tmp_path / "history.jsonl", HISTORY)
    assert read_history(path) == HISTORY


def test_rank_matches_numpy_population_std(tmp_path: Path) -> None:
    ranked = rank_examples(read_history(write_history(tmp_path / "h.jsonl", HISTORY)))
    expected = sorted(HISTORY, key=lambda pid: -float(numpy.std(HISTORY[pid])))
    assert [r.problem_id for r in ranked] == expected == ["40", "7", "3", "12", "9"]
    for row in ranked:
        values = HISTORY[row.problem_id]
        assert row.std == pytest.approx(float(numpy.std(values)), abs=1e-12)
        assert row.mean == pytest.approx(float(numpy.mean(values)), abs=1e-12)
        assert row.epochs == len(values)
    # population, not sample, std (numpy's default, as Wang et al.)
    assert ranked[0].std == pytest.approx(0.5)


def test_ties_go_to_more_epochs_then_to_the_id() -> None:
    history = {"b": [0.0, 1.0], "a": [0.0, 1.0], "c": [0.0, 1.0, 0.0, 1.0], "z": [0.5], "y": [0.3]}
    ranked = rank_examples(history)
    assert [r.problem_id for r in ranked] == ["c", "a", "b", "y", "z"]
    assert [r.std for r in ranked] == [0.5, 0.5, 0.5, 0.0, 0.0]


def test_select_example_takes_the_top(tmp_path: Path) -> None:
    path = write_history(tmp_path / "h.jsonl", HISTORY)
    assert select_example(path) == [Ranked("40", 0.5, 2, 0.5)]
    assert [r.problem_id for r in select_example(path, count=2)] == ["40", "7"]
    assert len(select_example(path, count=50)) == len(HISTORY)


@pytest.mark.parametrize("count", [0, -1])
def test_select_example_refuses_a_count_below_one(tmp_path: Path, count: int) -> None:
    with pytest.raises(BadInputError, match="count"):
        select_example(write_history(tmp_path / "h.jsonl", HISTORY), count=count)


def test_blank_lines_are_skipped_and_the_last_record_of_an_epoch_wins(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('\n{"problem_id": 5, "epoch": 2, "accuracy": 0.5}\n   \n'
                    '{"problem_id": "5", "epoch": 1, "accuracy": 0.0}\n'
                    '{"problem_id": "5", "epoch": 2, "accuracy": 1.0}\n', encoding="utf-8")
    # integer ids become strings, so 5 and "5" are the same example
    assert read_history(path) == {"5": [0.0, 1.0]}


GOOD = '{"problem_id": "a", "epoch": 1, "accuracy": 0.5}'


@pytest.mark.parametrize("bad", [
    "not json",
    '{"problem_id": "a", "epoch": 2}',  # no accuracy
    '{"epoch": 2, "accuracy": 0.5}',  # no id
    '{"problem_id": "a", "accuracy": 0.5}',  # no epoch
    '{"problem_id": "a", "epoch": "two", "accuracy": 0.5}',
    '{"problem_id": "a", "epoch": 2, "accuracy": "high"}',
    '{"problem_id": "a", "epoch": null, "accuracy": 0.5}',
    '[1, 2, 3]',
    '"a string"',
])
def test_bad_lines_name_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "h.jsonl"
    # the bad record is on line 4: the blank line 2 still counts
    path.write_text(f"{GOOD}\n\n{GOOD}\n{bad}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=rf"{re.escape(str(path))}:4: expected problem_id"):
        read_history(path)


@pytest.mark.parametrize("accuracy", ["1.5", "-0.25", "NaN", "Infinity"])
def test_accuracy_outside_unit_interval_is_refused(tmp_path: Path, accuracy: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(f'{GOOD}\n{{"problem_id": "b", "epoch": 1, "accuracy": {accuracy}}}\n',
                    encoding="utf-8")
    where = re.escape(str(path))
    with pytest.raises(BadInputError, match=rf"{where}:2: accuracy .* is not in \[0, 1\]"):
        read_history(path)


@pytest.mark.parametrize("accuracy", [0.0, 1.0])
def test_accuracy_bounds_are_accepted(tmp_path: Path, accuracy: float) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(f'{{"problem_id": "b", "epoch": 1, "accuracy": {accuracy}}}\n',
                    encoding="utf-8")
    assert read_history(path) == {"b": [accuracy]}


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no accuracy history"):
        select_example(tmp_path / "absent.jsonl")
    with pytest.raises(BadInputError, match="no accuracy history"):
        read_history(tmp_path)  # a folder is not a history file


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no accuracy records"):
        read_history(path)
