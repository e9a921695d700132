"""`mta report ...` on the command line: paper-only figures, a fake run, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import one_error_line, runner
from test_report import PNG_MAGIC, write_probe, write_train

from mta_cli.main import app


@pytest.mark.parametrize("args, says", [
    (["report", "gains", "/no/such/run"], "does not exist"),
    (["report", "gains"], "--with-paper"),
    (["report", "curves", "/no/such/run"], "does not exist"),
    (["report", "correlation", "--plot", "f.jpg"], ".png or .svg"),
    (["report", "correlation", "--tables", "7"], "--tables takes"),
    (["report", "gains", "--with-paper", "--level", "2"], "level"),
    (["report", "correlation", "--k", "0"], "k must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    assert says in one_error_line(args)


def test_empty_directory_is_one_line(tmp_path: Path) -> None:
    assert "holds no run" in one_error_line(["report", "curves", str(tmp_path)])


def test_paper_only_correlation_writes_the_figure(tmp_path: Path) -> None:
    plot = tmp_path / "fig10.png"
    result = runner.invoke(app, ["report", "correlation", "--plot", str(plot), "--out", str(tmp_path / "r"),
                                 "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert "ground-truth" in result.output and "base-accuracy" in result.output


def test_gains_of_a_run_prints_its_actual_gain(tmp_path: Path) -> None:
    write_probe(tmp_path / "runs", "probe", model="tiny", task="arith-quick", pass_at_k={1: 0.2, 32: 0.9})
    write_train(tmp_path / "runs", "train", model="tiny", technique="psr", task="arith-quick", before=0.3, after=0.42)
    result = runner.invoke(app, ["report", "gains", str(tmp_path / "runs"), "--out", str(tmp_path / "r")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The terminal table may be squeezed to the runner's width; the report holds every cell.
    report = (tmp_path / "r" / "report.md").read_text()
    assert "+12.0" in report and "arith-quick" in report
    assert (tmp_path / "r" / "gains.csv").is_file()
    assert "category" in result.output and "100%" in result.output  # held 1 of 1 (green)
