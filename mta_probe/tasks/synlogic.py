"""SynLogic-Easy validation: a local copy of the hub repository, or the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mta_probe.errors import DataUnavailableError
from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions, env_path
from mta_probe.tasks.problem import Problem, answer_text
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

SYNLOGIC_HUB_ID = "MiniMaxAI/SynLogic"


def synlogic_problem(row: dict[str, Any], index: int) -> Problem:
    """MiniMaxAI/SynLogic row (data_source, prompt [chat list], extra_info.game_data_str) to a Problem.

    A row without `game_data_str` gets one built from `original_question`/`original_answer`, as the
    paper's `logic_data_process.py` does. The SynLogic verifiers take that JSON (question, answer,
    difficulty, metadata), so it travels in meta["game_data_str"].
    """
    extra = row["extra_info"]
    game_data_str = extra.get("game_data_str")
    if game_data_str is None:
        game_data_str = json.dumps({"question": extra["original_question"],
                                    "answer": extra["original_answer"], "difficulty": 1,
                                    "metadata": {}})
    game = json.loads(game_data_str)
    source = row["data_source"]
    return Problem(id=f"{source}/{index}",
                   prompt=ANSWER_TAG_TEMPLATE.format(question=row["prompt"][0]["content"]),
                   statement=str(game["question"]), gold=answer_text(game["answer"]),
                   meta={"data_source": source, "game_data_str": game_data_str})


def load_synlogic(options: TaskOptions) -> list[Problem]:
    """SynLogic-Easy validation: a local copy of the hub repo when given, else the hub."""
    root = options.data_dir or env_path("MTA_SYNLOGIC")
    if root is not None:
        parquet = Path(root) / "synlogic_easy" / "validation.parquet"
        if not parquet.is_file():
            raise DataUnavailableError(f"no SynLogic copy at {root}: expected {parquet} (git clone "
                                       f"https://huggingface.co/datasets/{SYNLOGIC_HUB_ID})")
        rows = hub_rows("parquet", None, "train", data_files=str(parquet))
    else:
        rows = hub_rows(SYNLOGIC_HUB_ID, "easy", "validation")
    return [synlogic_problem(r, i) for i, r in enumerate(rows)]
