"""KOR-Bench: five categories of rule-following problems, read from a local clone of its repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks.jsonl import read_jsonl_objects
from mta_probe.tasks.options import TaskOptions, local_data
from mta_probe.problem import Problem
from mta_probe.tasks.prompts import KOR_TEMPLATES

KOR_CLONE_URL = "https://github.com/KOR-Bench/KOR-Bench"
# How KOR states a finite answer set (read on the 250 items of each category): counterfactual
# questions end "(A, B, C, or D)"; logic letter items give a format hint "[[A/B/C]]", or list
# options "A. Yes B. No", or ask to "select all that apply" (any non-empty subset is an answer).
CF_LETTERS = re.compile(r"\(((?:[A-Z], )+)or ([A-Z])\)")
FORMAT_HINT = re.compile(r"\[\[([A-Z](?:/[A-Z])+)\]\]")
OPTION_LABEL = re.compile(r"(?:^|\s)([A-Z])[.:)]\s*\S", re.MULTILINE)
LETTER_GOLD = re.compile(r"\[\[[A-Z]+\]\]")


def kor_data_root(options: TaskOptions) -> Path:
    """The folder holding KOR's category folders (`<clone>/data`): from --data-dir, MTA_KOR_BENCH
    or $MTA_DATA_DIR/kor-bench. KOR-Bench has no hub copy, so a local clone is required."""
    how = (f"git clone {KOR_CLONE_URL}, then pass --data-dir PATH/KOR-Bench "
           "or set MTA_KOR_BENCH=PATH/KOR-Bench")
    # A clone, or its data folder itself: both hold <category>/sample.jsonl at most one level down.
    root = local_data(options, "kor-bench", ("data/operation/sample.jsonl", "operation/sample.jsonl"),
                      env_var="MTA_KOR_BENCH", how=how, label="KOR-Bench data")
    if root is None:
        raise DataUnavailableError(f"KOR-Bench is read from a local clone: {how}")
    return root / "data" if (root / "data" / "operation").is_dir() else root


def kor_num_choices(category: str, question: str, gold: str) -> int | None:
    """Size of the answer set of a KOR item, for the chance level; None when it is open.

    Counterfactual: the letters of "(A, B, C, or D)" (4 on all 250 items). Logic, when the gold is
    letters: the letters of a "[[A/B/C]]" hint, else 2^m - 1 for "select all that apply" over m
    options, else the options A, B, ... listed. Everything else (and logic rule 1's "a letter from
    A to Z, or Z+n") is open.
    """
    if category == "counterfactual":
        letters = CF_LETTERS.search(question)
        return len(letters.group(1).split(", ")) if letters else None
    if category != "logic" or not LETTER_GOLD.fullmatch(gold.strip()):
        return None
    hint = FORMAT_HINT.search(question)
    if hint:
        return len(hint.group(1).split("/"))
    labels = set(OPTION_LABEL.findall(question))
    options = next(i for i in range(27) if chr(ord("A") + i) not in labels)  # A, B, ... in a row
    if options < 2:
        return None
    return 2 ** options - 1 if "select all that apply" in question.lower() else options


def kor_problem(category: str, rule: dict[str, Any], sample: dict[str, Any]) -> Problem:
    """One KOR-Bench sample (idx, rule_id, question, answer) with its rule (idx, rule_content)."""
    prompt = KOR_TEMPLATES[category].format(rule=rule["rule_content"], question=sample["question"])
    return Problem(id=f"{category}/{sample['idx']}", prompt=prompt, statement=sample["question"],
                   gold=str(sample["answer"]),
                   num_choices=kor_num_choices(category, sample["question"], str(sample["answer"])),
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
