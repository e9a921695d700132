"""Competition math: MATH-500, AIME 2024 and AMC 2023, from local files or the hub.

Local files (`--data-dir`, or `$MTA_DATA_DIR/<name>`; see `local_data`) may be laid out as the
GitHub copies that evaluation repositories ship (`math500/test.jsonl`, `aime24/test.jsonl`,
`amc23/test.jsonl`, as in QwenLM/Qwen2.5-Math and hkust-nlp/simpleRL-reason) or as a download of
the hub repository (`test.jsonl`, or parquet files such as `data/train-00000-of-00001.parquet`).
The row converters accept both sets of field names: AMC's question is `question` in both copies,
its answer a float (`27.0`); AIME's GitHub answers keep leading zeros (`025`), the hub's do not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.jsonl import read_jsonl_objects
from mta_probe.tasks.options import TaskOptions, local_data
from mta_probe.problem import Problem, answer_text
from mta_probe.tasks.prompts import MATH_TEMPLATE

# Globs of a local copy, GitHub layout first; `local_data` returns the first folder that has one.
LOCAL_LAYOUTS = ("test.jsonl", "train.jsonl", "*.parquet", "data/*.parquet")
LEADING_ZEROS = re.compile(r"^0+(\d)")


def math_problem(pid: str, problem: str, answer: Any, **meta: Any) -> Problem:
    """A math Problem: the boxed-answer zero-shot prompt around the published problem."""
    return Problem(id=pid, prompt=MATH_TEMPLATE.format(problem=problem), statement=problem,
                   gold=answer_text(answer), meta=dict(meta))


def math500_problem(row: dict[str, Any]) -> Problem:
    """MATH-500 row (problem, answer, unique_id, subject, level) to a Problem."""
    return math_problem(row["unique_id"], row["problem"], row["answer"],
                        subject=row.get("subject"), level=row.get("level"))


def aime24_problem(row: dict[str, Any]) -> Problem:
    """AIME 2024 row (id, problem, answer, url) to a Problem; `025` becomes `25`, as the hub has it."""
    answer = LEADING_ZEROS.sub(r"\1", answer_text(row["answer"]))
    return math_problem(str(row["id"]), row["problem"], answer, url=row.get("url"))


def amc23_problem(row: dict[str, Any], index: int) -> Problem:
    """AMC 2023 row (id, question, answer, url) to a Problem; `index` replaces a missing id."""
    return math_problem(str(row.get("id", index)), row.get("question") or row["problem"],
                        row["answer"], url=row.get("url"))


def local_rows(folder: Path) -> list[dict[str, Any]]:
    """The rows of a local copy: its JSONL file, else its parquet files (in name order)."""
    for name in ("test.jsonl", "train.jsonl"):
        if (folder / name).is_file():
            return [row for _, row in read_jsonl_objects(folder / name)]
    files = sorted([*folder.glob("*.parquet"), *folder.glob("data/*.parquet")])
    return [row for f in files for row in hub_rows("parquet", None, "train", data_files=str(f))]


def _rows(options: TaskOptions, name: str, repo: str, split: str) -> list[dict[str, Any]]:
    how = f"download {repo} from the hub, or a GitHub copy holding {name}/test.jsonl"
    folder = local_data(options, name, LOCAL_LAYOUTS, how=how)
    return local_rows(folder) if folder is not None else hub_rows(repo, None, split)


def load_math500(options: TaskOptions) -> list[Problem]:
    """MATH-500 (500 problems): local files when given, else HuggingFaceH4/MATH-500 (test)."""
    return [math500_problem(r) for r in _rows(options, "math500", "HuggingFaceH4/MATH-500", "test")]


def load_aime24(options: TaskOptions) -> list[Problem]:
    """AIME 2024 (30 problems): local files when given, else HuggingFaceH4/aime_2024 (train)."""
    return [aime24_problem(r) for r in _rows(options, "aime24", "HuggingFaceH4/aime_2024", "train")]


def load_amc23(options: TaskOptions) -> list[Problem]:
    """AMC 2023 (40 problems): local files when given, else math-ai/amc23 (test)."""
    rows = _rows(options, "amc23", "math-ai/amc23", "test")
    return [amc23_problem(r, i) for i, r in enumerate(rows)]
