"""SynLogic: every item scored by its own task's verifier, loaded from the user's clone of
github.com/MiniMax-AI/SynLogic (`games/tasks/<task>/scripts/<task>_verifier.py`).

The answer is the text of the FIRST `<answer>...</answer>` block, handed to the task's
`Verifier.verify(Data, answer)` with the item's `Data` rebuilt from `game_data_str`: what the
paper's `src/syn_logic_reward.py` does (its regex lacks DOTALL; mta's reads across lines, defect 4
in docs/train.md). The verifier then finds the answer inside that text its own way (`\\boxed{}`, a
```python block, a grid, "The answer is ...") and checks it, often by constraints rather than
against a stored answer. Three things mta adds around the official call:

- an empty answer is never correct (one SynLogic verifier accepts an empty answer when the
  reference is empty, and `<answer></answer>` must not pass for the constraint-checked tasks);
- the verifier module's `eval` is `mta_probe.verify.expressions.evaluate_expression`: model text
  is computed as literals and arithmetic, never run as code, in the worker;
- what the verifiers print is swallowed, and an exception becomes a wrong verdict with its reason.

The clone comes from the problem (`meta["synlogic_clone"]`, set by the task loader) or from
`$MTA_SYNLOGIC_CLONE`. Its modules are imported once per worker process, with the clone first on
sys.path (the verifiers import `base.data` and `base.verifier` from its root).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import sys
from pathlib import Path
from typing import Any

from mta_probe.problem import Problem
from mta_probe.verify.answers import ANSWER_TAG
from mta_probe.verify.expressions import evaluate_expression
from mta_probe.verify.verdict import NO_ANSWER, Verdict

SYNLOGIC_CLONE_URL = "https://github.com/MiniMax-AI/SynLogic"
SYNLOGIC_CLONE_VARIABLE = "MTA_SYNLOGIC_CLONE"


def _game(task: str, class_name: str, script: str | None = None) -> tuple[str, str]:
    return f"games.tasks.{task}.scripts.{script or task + '_verifier'}", class_name


# data_source -> (module inside the clone, verifier class): the clone's task2verifier.py, less its
# bbh_* and bbeh_* rows (BIG-Bench Hard and Extra Hard are tasks of their own in mta), plus
# game_of_24 (task2verifier.py calls that verifier's rows "mathador").
SYNLOGIC_VERIFIERS: dict[str, tuple[str, str]] = {
    "arrow_maze": _game("arrow_maze", "ArrowMazeVerifier"),
    "boolean_expressions": _game("boolean_expressions", "BooleanExpressionsVerifier"),
    "buggy_tables": _game("buggy_tables", "BuggyTableVerifier", "game_of_buggy_tables_verifier"),
    "calcudoko": _game("calcudoko", "CalcudokoVerifier"),
    "campsite": _game("campsite", "CampsiteVerifier"),
    "cipher": _game("cipher", "CipherVerifier"),
    "cryptarithm": _game("cryptarithm", "CryptarithmVerifier"),
    "dyck_language": _game("dyck_language", "DyckLanguageVerifier"),
    "dyck_language_errors": _game("dyck_language_errors", "DyckLanguageErrorsVerifier"),
    "dyck_language_reasoning_errors": _game("dyck_language_reasoning_errors",
                                            "DyckLanguageReasoningErrorsVerifier"),
    "futoshiki": _game("futoshiki", "FutoshikiVerifier"),
    "game_of_24": _game("game_of_24", "GameOf24Verifier"),
    "goods_exchange": _game("goods_exchange", "GoodsExchangeVerifier"),
    "gpqa_diamond": ("corpus.misc.tasks.gpqa.scripts.gpqa_verifier", "GPQAVerifier"),
    "kukurasu": _game("kukurasu", "KukurasuVerifier"),
    "math_path": _game("math_path", "MathPathVerifier"),
    "arc_agi": ("corpus.misc.tasks.arc_agi.scripts.arc_agi_verifier", "ArcAGIVerifier"),
    "arc_agi_2": ("corpus.misc.tasks.arc_agi.scripts.arc_agi_verifier", "ArcAGIVerifier"),
    "mathador": _game("game_of_24", "GameOf24Verifier"),
    "minesweeper": _game("minesweeper", "MinesweeperVerifier"),
    "norinori": _game("norinori", "NorinoriVerifier"),
    "number_wall": _game("number_wall", "NumberWallVerifier"),
    "numbrix": _game("numbrix", "NumbrixVerifier"),
    "object_counting": _game("object_counting", "ObjectCountingVerifier"),
    "object_properties": _game("object_properties", "ObjectPropertiesVerifier"),
    "operation": _game("operation", "OperationVerifier"),
    "skyscraper_puzzle": _game("skyscraper_puzzle", "SkyscraperPuzzleVerifier"),
    "space_reasoning": _game("space_reasoning", "SpaceReasoningVerifier"),
    "space_reasoning_tree": _game("space_reasoning_tree", "SpaceReasoningTreeVerifier"),
    "star_placement_puzzle": _game("star_placement_puzzle", "StarPlacementPuzzleVerifier"),
    "sudoku": _game("sudoku", "SudokuVerifier"),
    "survo": _game("survo", "SurvoVerifier"),
    "time_sequence": _game("time_sequence", "TimeSequenceVerifier"),
    "web_of_lies": _game("web_of_lies", "WebOfLiesVerifier"),
    "word_sorting": _game("word_sorting", "WordSortingVerifier"),
    "word_sorting_mistake": _game("word_sorting_mistake", "WordSortingMistakeVerifier"),
    "wordscapes": _game("wordscapes", "WordscapesVerifier"),
    "zebra_puzzle": ("corpus.misc.tasks.zebra_puzzle.scripts.zebra_puzzle_verifier",
                     "ZebraPuzzleVerifier"),
}


class SynLogicUnavailable(Exception):
    """This item's SynLogic verifier cannot be loaded; the message is the verdict's reason."""


def verify_synlogic(completion: str, problem: Problem) -> Verdict:
    """The item's own SynLogic verifier on the text of the first `<answer>` block.

    Args:
        completion: the model's text.
        problem: a SynLogic problem: meta["data_source"], meta["game_data_str"], and
            meta["synlogic_clone"] (else $MTA_SYNLOGIC_CLONE).

    Returns:
        Correct when the verifier gives its full score (True or 1.0).
    """
    tagged = ANSWER_TAG.search(completion)
    if tagged is None or not tagged.group(1).strip():
        return Verdict(False, None if tagged is None else "", NO_ANSWER)
    answer = tagged.group(1)
    try:
        verifier, data_class = load_verifier(clone_of(problem), task_of(problem))
    except SynLogicUnavailable as error:
        return Verdict(False, answer.strip(), str(error))
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            score = verifier.verify(data_class.from_json_str(problem.meta["game_data_str"]), answer)
    except Exception as error:  # noqa: BLE001 - the official verifier's own failure
        return Verdict(False, answer.strip(), f"SynLogic verifier raised {type(error).__name__}: "
                                              f"{str(error)[:200]}")
    return Verdict(full_score(score), answer.strip())


def full_score(score: Any) -> bool:
    """True, 1, 1.0 (or a numpy bool True) is a full score; anything else, None included, is not."""
    try:
        return score is not None and float(score) >= 1.0
    except (TypeError, ValueError):
        return False


def task_of(problem: Problem) -> str:
    """The item's task type: its data_source, without the `val/` prefix verl adds."""
    return str(problem.meta["data_source"]).removeprefix("val/")


def clone_of(problem: Problem) -> str:
    """The SynLogic clone to load verifiers from: the problem's, else $MTA_SYNLOGIC_CLONE."""
    for candidate in (problem.meta.get("synlogic_clone"), os.environ.get(SYNLOGIC_CLONE_VARIABLE)):
        if candidate and (Path(candidate) / "base" / "data.py").is_file():
            return str(Path(candidate).resolve())
    raise SynLogicUnavailable(f"no SynLogic clone: git clone {SYNLOGIC_CLONE_URL} and set "
                              f"{SYNLOGIC_CLONE_VARIABLE}=PATH")


@functools.cache
def load_verifier(clone: str, task: str) -> tuple[Any, Any]:
    """(an instance of the task's Verifier class, the clone's Data class), imported once.

    Raises:
        SynLogicUnavailable: unknown task, a clone without this task's verifier, a verifier that
            needs a package this environment lacks, or another clone already loaded here.
    """
    if task not in SYNLOGIC_VERIFIERS:
        raise SynLogicUnavailable(f"no SynLogic verifier for data_source {task!r}")
    module_name, class_name = SYNLOGIC_VERIFIERS[task]
    relative = module_name.replace(".", "/") + ".py"
    if not (Path(clone) / relative).is_file():
        raise SynLogicUnavailable(f"the SynLogic clone at {clone} has no {relative}")
    _put_first_on_path(clone)
    try:
        module = importlib.import_module(module_name)
        data_class = importlib.import_module("base.data").Data
    except ImportError as error:
        needed = f" (pip install {error.name})" if isinstance(error, ModuleNotFoundError) else ""
        raise SynLogicUnavailable(f"SynLogic's {task} verifier cannot be imported from {clone}: "
                                  f"{error}{needed}") from error
    _replace_eval(clone)
    return getattr(module, class_name)(), data_class


def _put_first_on_path(clone: str) -> None:
    """The clone's root first on sys.path; a process holds one clone's `base` package only."""
    loaded = sys.modules.get("base")
    if loaded is not None:  # a namespace package (no __init__.py in SynLogic) has only __path__
        places = [*getattr(loaded, "__path__", []), getattr(loaded, "__file__", None) or ""]
        if not any(place and Path(place).resolve().is_relative_to(clone) for place in places):
            raise SynLogicUnavailable(f"another package named 'base' ({places[0]}) is loaded in "
                                      f"this process; cannot load SynLogic's from {clone}")
    if clone not in sys.path:
        sys.path.insert(0, clone)


def _replace_eval(clone: str) -> None:
    """In every module loaded from the clone, `eval` computes literals only (see the docstring)."""
    for module in list(sys.modules.values()):
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve().is_relative_to(clone):
            module.eval = evaluate_expression  # type: ignore[attr-defined]
