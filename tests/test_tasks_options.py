"""Task options (mta_probe/tasks/options.py): where a benchmark's local files are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks import TaskOptions
from mta_probe.tasks.options import local_data


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """A data folder with one benchmark, math500, in its own subfolder."""
    (tmp_path / "math500").mkdir()
    (tmp_path / "math500" / "test.jsonl").write_text("{}\n")
    return tmp_path


def test_nothing_given_means_the_hub(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MTA_DATA_DIR", raising=False)
    assert local_data(TaskOptions(), "math500", "test.jsonl") is None


@pytest.mark.parametrize("sub", ["", "math500"])
def test_data_dir_is_the_folder_or_its_parent(shelf: Path, sub: str):
    assert local_data(TaskOptions(data_dir=shelf / sub), "math500", "test.jsonl") == shelf / "math500"


def test_shared_variable_names_a_folder_of_benchmarks(shelf: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MTA_DATA_DIR", str(shelf))
    assert local_data(TaskOptions(), "math500", "test.jsonl") == shelf / "math500"
    assert local_data(TaskOptions(), "aime24", "test.jsonl") is None  # not there: the hub


def test_a_given_folder_without_the_files_never_falls_back_to_the_hub(shelf: Path):
    with pytest.raises(DataUnavailableError, match=r"no aime24 files \(test.jsonl\) under .*: get it"):
        local_data(TaskOptions(data_dir=shelf), "aime24", "test.jsonl", how="get it")
