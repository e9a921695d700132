"""KOR-Bench: five categories of rule-following problems, read from a local clone of its repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks.jsonl import read_jsonl_objects
from mta_probe.tasks.options import TaskOptions, local_data
from mta_probe.tasks.problem import Problem
from mta_probe.tasks.prompts import KOR_TEMPLATES

KOR_CLONE_URL = "https://github.com/KOR-Bench/KOR-Bench"


def kor_data_root(options: TaskOptions) -> Path:
    """The folder holding KOR's category folders (`<clone>/data`): from --data-dir, MTA_KOR_BENCH
    or $MTA_DATA_DIR/kor-bench. KOR-Bench has no hub copy, so a local clone is required."""
    how = (f"git clone {KOR_CLONE_URL}, then pass --data-dir PATH/KOR-Bench "
           "or set MTA_KOR_BENCH=PATH/KOR-Bench")
    # A clone, or its data folder itself: both hold <category>/sample.jsonl at most one level down.
    root = local_data(options, "kor-bench", ("data/operation/sample.jsonl", "operation/sample.jsonl"),
                      env_var="MTA_KOR_BENCH", how=how)
    if root is None:
        raise DataUnavailableError(f"KOR-Bench is read from a local clone: {how}")
    return root / "data" if (root / "data" / "operation").is_dir() else root


def kor_problem(category: str, rule: dict[str, Any], sample: dict[str, Any]) -> Problem:
    """One KOR-Bench sample (idx, rule_id, question, answer) with its rule (idx, rule_content)."""
    prompt = KOR_TEMPLATES[category].format(rule=rule["rule_content"], question=sample["question"])
    return Problem(id=f"{category}/{sample['idx']}", prompt=prompt, statement=sample["question"],
                   gold=str(sample["answer"]),
                   meta={"category": category, "rule_id": str(sample["rule_id"]),
                         "idx": str(sample["idx"])})


def load_kor(category: str, options: TaskOptions) -> list[Problem]:
    """All samples of one KOR-Bench category, in file order."""
    folder = kor_data_root(options) / category
    rules = {str(r["idx"]): r for _, r in read_jsonl_objects(folder / "rule.jsonl")}
    problems = []
    for number, sample in read_jsonl_objects(folder / "sample.jsonl"):
        missing = {"idx", "rule_id", "question", "answer"} - sample.keys()
        if missing:
            raise BadInputError(f"{folder / 'sample.jsonl'}, line {number}: missing {sorted(missing)}")
        rule = rules.get(str(sample["rule_id"]))
        if rule is None:
            raise BadInputError(f"{folder / 'sample.jsonl'}, line {number}: rule_id "
                                f"{sample['rule_id']} is not in rule.jsonl")
        problems.append(kor_problem(category, rule, sample))
    return problems
