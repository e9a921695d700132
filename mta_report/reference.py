"""The paper's published RL results, shipped as data: what a reproduction is compared against.

`data/paper_results.csv` holds every (model, task, technique) cell of Tables 2, 3, 5, 6, 11, 12
and 13 of "Mirage or Method? How Model-Task Alignment Induces Divergent RL Conclusions"
(arXiv 2508.21188), one row per cell as printed: the base accuracy, the accuracy after RL, the
printed gain (percent) and the paper's colour of the (model, task) pair.

The printed gain is kept even where it is not `after - base`: the paper has a few such cells
(tests/test_reference.py lists them), and silently correcting them would hide which number a
reader of the paper sees. Tables 5 and 6 reprint Table 2's ground-truth rows and Table 13
reprints Table 2's and Table 6's rows without KL; `reference_gains()` drops those reprints.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class PaperResult:
    """One cell of the paper's results tables.

    Attributes:
        table: the table that prints the cell: "2", "3", "5", "6", "11", "12" or "13".
        model: mta's model alias: "qwen" (Qwen2.5-7B), "llama" (Llama-3.1-8B-Instruct) or
            "mistral" (Mistral-7B-v0.1).
        task: mta's evaluation task key (a key of `mta_probe.tasks.TASKS`).
        technique: the RL technique (a key of `mta_train.techniques.TECHNIQUES`); the paper's
            "Correct", "GroundTruth", "DAPO", "full set" and "Standard" rows are "ground-truth".
        variant: "" except for one-shot: "random-1", "random-2" (two random examples) or
            "selected-1" (Wang et al.'s variance-selected example).
        kl_coef: the KL penalty coefficient: 0 everywhere except Table 13's "+ KL" rows (0.001).
        base: accuracy of the model before RL, percent.
        after: accuracy after RL, percent.
        gain: the gain the paper prints, percent (usually `after - base` to 0.1).
        category: the paper's colour of the (model, task) pair: "red", "green" or "gray".
    """

    table: str
    model: str
    task: str
    technique: str
    variant: str
    kl_coef: float
    base: float
    after: float
    gain: float
    category: str

    @property
    def setting(self) -> tuple[str, str, str, str, float]:
        """What was trained and measured, whichever table prints it: (model, task, technique,
        variant, kl_coef)."""
        return (self.model, self.task, self.technique, self.variant, self.kl_coef)


@functools.cache
def _rows() -> tuple[PaperResult, ...]:
    text = resources.files("mta_report").joinpath("data/paper_results.csv").read_text(encoding="utf-8")
    return tuple(
        PaperResult(table=row["table"], model=row["model"], task=row["task"],
                    technique=row["technique"], variant=row["variant"],
                    kl_coef=float(row["kl_coef"]), base=float(row["base"]),
                    after=float(row["after"]), gain=float(row["gain"]), category=row["category"])
        for row in csv.DictReader(io.StringIO(text)))


def load_reference() -> list[PaperResult]:
    """Every cell of the paper's results tables, in the paper's table order.

    Returns:
        One `PaperResult` per printed cell (reprints included), Table 2 first. The CSV is read
        once per process; each call returns a new list.
    """
    return list(_rows())


def reference_gains(*, unique: bool = True) -> list[PaperResult]:
    """The paper's results, optionally without the cells that one table reprints from another.

    Args:
        unique: keep one row per setting (model, task, technique, variant, kl_coef): the first
            table that prints it. This keeps Table 2's, 11's and 12's ground-truth rows and
            Table 6's PSR rows, and drops their reprints in Tables 5, 6 and 13 (the numbers are
            identical). False returns every printed cell, like `load_reference()`.

    Returns:
        The rows in the paper's table order.
    """
    rows = load_reference()
    if not unique:
        return rows
    seen: set[tuple[str, str, str, str, float]] = set()
    kept = []
    for row in rows:
        if row.setting not in seen:
            seen.add(row.setting)
            kept.append(row)
    return kept


def paper_category(model: str, task: str) -> str | None:
    """The paper's colour of a (model, task) pair.

    Args:
        model: an mta model alias ("qwen", "llama", "mistral").
        task: an mta task key ("math500", "kor-op", ...).

    Returns:
        "red", "green" or "gray"; None for a pair the paper reports no RL result for (for
        example Mistral on the code tasks).
    """
    return _categories().get((model, task))


@functools.cache
def _categories() -> dict[tuple[str, str], str]:
    return {(row.model, row.task): row.category for row in _rows()}
