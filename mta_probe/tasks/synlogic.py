"""SynLogic-Easy validation: the data from a local copy of the hub repository (or the hub), scored
by the per-task verifiers of a local clone of SynLogic's GitHub repository.

Two repositories, two folders: the data is published only on the hub (MiniMaxAI/SynLogic); the
verifiers (and the generators) live in github.com/MiniMax-AI/SynLogic, which is not on PyPI. The
loader refuses to run without that clone: scoring SynLogic any other way (exact match) marks
every solution of a constraint-checked task wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import DATA_DIR_VARIABLE, TaskOptions, env_path, local_data
from mta_probe.problem import Problem, answer_text
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

SYNLOGIC_HUB_ID = "MiniMaxAI/SynLogic"
SYNLOGIC_GITHUB = "https://github.com/MiniMax-AI/SynLogic"
SYNLOGIC_CLONE_VARIABLE = "MTA_SYNLOGIC_CLONE"
# What makes a folder a SynLogic clone: the classes every task's verifier imports.
CLONE_MARKERS = ("base/data.py", "base/verifier.py")
CLONE_HOW = (f"SynLogic is scored by its own per-task verifiers, read from a clone of its GitHub "
             f"repository: git clone {SYNLOGIC_GITHUB}, then set {SYNLOGIC_CLONE_VARIABLE}=PATH")
DATA_HOW = (f"git clone https://huggingface.co/datasets/{SYNLOGIC_HUB_ID} (with git lfs), then "
            "pass --data-dir PATH, or set MTA_SYNLOGIC=PATH")


def is_synlogic_clone(folder: Path) -> bool:
    """True when `folder` holds SynLogic's `base/data.py` and `base/verifier.py`."""
    return all((folder / marker).is_file() for marker in CLONE_MARKERS)


def synlogic_clone(options: TaskOptions) -> Path:
    """The SynLogic clone whose verifiers score this run.

    `$MTA_SYNLOGIC_CLONE` (which must be a clone), else the first of `options.data_dir`, its
    `synlogic` subfolder and `$MTA_DATA_DIR/synlogic` that is one. (A variable, not a TaskOptions
    field: the clone does not change what a run is, so it stays out of run identities.)

    Raises:
        DataUnavailableError: no clone; the line says how to get one.
    """
    given = env_path(SYNLOGIC_CLONE_VARIABLE)
    if given is not None:
        if not is_synlogic_clone(given):
            raise DataUnavailableError(f"{SYNLOGIC_CLONE_VARIABLE}={given} is not a SynLogic clone "
                                       f"(no {' or '.join(CLONE_MARKERS)}): {CLONE_HOW}")
        return given.resolve()
    shared = env_path(DATA_DIR_VARIABLE)
    data_dir = options.data_dir
    for folder in (data_dir, data_dir / "synlogic" if data_dir else None,
                   shared / "synlogic" if shared else None):
        if folder is not None and is_synlogic_clone(folder):
            return folder.resolve()
    raise DataUnavailableError(CLONE_HOW)


def synlogic_problem(row: dict[str, Any], index: int, clone: Path | None = None) -> Problem:
    """MiniMaxAI/SynLogic row (data_source, prompt [chat list], extra_info.game_data_str) to a Problem.

    A row without `game_data_str` gets one built from `original_question`/`original_answer`, as the
    paper's `logic_data_process.py` does. The SynLogic verifiers take that JSON (question, answer,
    difficulty, metadata), so it travels in meta["game_data_str"], with the data_source that picks
    the verifier and the clone it is read from (meta["synlogic_clone"]).
    """
    extra = row["extra_info"]
    game_data_str = extra.get("game_data_str")
    if game_data_str is None:
        game_data_str = json.dumps({"question": extra["original_question"],
                                    "answer": extra["original_answer"], "difficulty": 1,
                                    "metadata": {}})
    game = json.loads(game_data_str)
    source = row["data_source"]
    meta = {"data_source": source, "game_data_str": game_data_str}
    if clone is not None:
        meta["synlogic_clone"] = str(clone)
    return Problem(id=f"{source}/{index}",
                   prompt=ANSWER_TAG_TEMPLATE.format(question=row["prompt"][0]["content"]),
                   statement=str(game["question"]), gold=answer_text(game["answer"]), meta=meta)


def load_synlogic(options: TaskOptions) -> list[Problem]:
    """SynLogic-Easy validation (a local copy of the hub repo when given, else the hub), each
    problem carrying the SynLogic clone that scores it."""
    clone = synlogic_clone(options)
    root = local_data(options, "synlogic", "synlogic_easy/validation.parquet", env_var="MTA_SYNLOGIC",
                      how=DATA_HOW)
    if root is not None:
        parquet = root / "synlogic_easy" / "validation.parquet"
        rows = hub_rows("parquet", None, "train", data_files=str(parquet))
    else:
        rows = hub_rows(SYNLOGIC_HUB_ID, "easy", "validation")
    return [synlogic_problem(r, i, clone) for i, r in enumerate(rows)]
