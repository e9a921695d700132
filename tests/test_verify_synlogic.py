"""SynLogic scored by its own per-task verifiers (mta_probe/verify/synlogic.py), against those
verifiers called directly, on items SynLogic's own generators make.

The clone is `$MTA_SYNLOGIC_CLONE`, else the real files (benchdata: `synlogic`, a snapshot of
github.com/MiniMax-AI/SynLogic); the tests skip cleanly without either. The direct ("official")
verifier is a separate copy of the task's module, so mta's changes to the module it loads (its
`eval`) cannot reach it. bench/synlogic_agreement.py runs the same comparison on every task type.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from benchdata import REPO, benchmark_dir

from mta_probe.tasks import Problem, synlogic
from mta_probe.verify import NO_ANSWER, verify_one
from mta_probe.verify.synlogic import SYNLOGIC_VERIFIERS, task_of

sys.path.insert(0, str(REPO / "bench"))
import synlogic_items  # noqa: E402

# The clone's game_of_24 generator has invalid escape sequences ("\(") that warn when it compiles.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def clone() -> Path:
    given = os.environ.get("MTA_SYNLOGIC_CLONE", "").strip()
    folder = Path(given) if given else benchmark_dir("synlogic")
    synlogic_items.on_path(folder)
    return folder.resolve()


def _official(clone: Path, task: str) -> Any:
    """A fresh copy of the task's verifier module, as SynLogic ships it, and an instance."""
    module_name, class_name = SYNLOGIC_VERIFIERS[task]
    path = clone / (module_name.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(f"official_{task}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)()


def _official_verdict(verifier: Any, stored: str, answer: str) -> bool:
    from base.data import Data

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            score = verifier.verify(Data.from_json_str(stored), answer)
        except Exception:  # noqa: BLE001 - the official verifier's "wrong"
            return False
    return score is not None and float(score) >= 1.0


def _problem(clone: Path, task: str, stored: str, index: int = 0) -> Problem:
    row = {"data_source": task, "prompt": [{"content": "q"}], "extra_info": {"game_data_str": stored}}
    return synlogic.synlogic_problem(row, index, clone)


def _completion(answer: str) -> str:
    return f"<think>\nwork\n</think>\n<answer>\n{answer}\n</answer>"


def test_table_is_the_clone_s_task2verifier(clone: Path) -> None:
    """Every task of task2verifier.py (less bbh_*/bbeh_*) maps to the same module and class."""
    tree = ast.parse((clone / "task2verifier.py").read_text(encoding="utf-8"))
    module_of = {alias.name: node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) for alias in node.names}
    theirs = {key.value: (module_of[value.id], value.id) for node in ast.walk(tree)
              if isinstance(node, ast.Dict) for key, value in zip(node.keys, node.values)
              if isinstance(key, ast.Constant) and isinstance(value, ast.Name)}
    games = {k: v for k, v in theirs.items() if not k.startswith(("bbh_", "bbeh_"))}
    assert len(games) >= 35
    assert {k: SYNLOGIC_VERIFIERS[k] for k in games} == games
    assert set(SYNLOGIC_VERIFIERS) - set(games) == {"game_of_24"}  # task2verifier's "mathador"


# A few task types of each kind: \boxed{} (boolean_expressions), a ```python block checked by
# constraints with answer="" (sudoku, campsite), an expression eval'd by the verifier with no stored
# answer (game_of_24), a list of tuples (minesweeper), "The answer is ..." (cryptarithm).
FAST_TYPES = ("boolean_expressions", "sudoku", "campsite", "game_of_24", "minesweeper", "cryptarithm")


@pytest.mark.parametrize("task", FAST_TYPES)
def test_generated_items_score_as_synlogic_scores_them(clone: Path, task: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        items = synlogic_items.generate(clone, task, 3, seed=1)
    official = _official(clone, task)
    stored = [synlogic_items.game_data_str(d) for d in items]
    answers = [synlogic_items.RENDER[task](d) for d in items]
    for index, (item, answer) in enumerate(zip(stored, answers)):
        problem = _problem(clone, task, item, index)
        other = answers[(index + 1) % len(answers)]
        assert verify_one("synlogic", _completion(answer), problem).correct
        assert _official_verdict(official, item, answer)
        assert (verify_one("synlogic", _completion(other), problem).correct
                == _official_verdict(official, item, other))
        empty = verify_one("synlogic", "<think>x</think><answer> </answer>", problem)
        assert (empty.correct, empty.reason) == (False, NO_ANSWER)


def test_empty_answer_is_wrong_even_where_synlogic_accepts_it(clone: Path) -> None:
    # buggy_tables' verifier returns True for an empty answer when the stored answer is empty.
    stored = json.dumps({"question": "q", "answer": "", "difficulty": 1, "metadata": {}})
    assert _official_verdict(_official(clone, "buggy_tables"), stored, "")
    verdict = verify_one("synlogic", "<answer></answer>", _problem(clone, "buggy_tables", stored))
    assert (verdict.correct, verdict.reason) == (False, NO_ANSWER)


def test_where_synlogic_is_lenient_mta_is_too(clone: Path) -> None:
    # game_of_24's verifier checks the numbers used, then `abs(result - result) < 1e-10`: any
    # expression over the right numbers passes. mta reports what SynLogic's verifier says.
    stored = json.dumps({"question": "q", "answer": "", "difficulty": 1,
                         "metadata": {"numbers": [5, 7, 8, 9], "operators": ["+", "-", "*", "/"],
                                      "result": 24}})
    for expression in ("5*7*8*9", "(9-7)*8+5", "5*7*8"):
        answer = f"```python\n{expression}\n```"
        assert (verify_one("synlogic", _completion(answer), _problem(clone, "game_of_24", stored)).correct
                == _official_verdict(_official(clone, "game_of_24"), stored, answer))


def test_model_text_is_never_run(clone: Path, tmp_path: Path) -> None:
    # cipher's verifier eval()s the answer; in mta that is literals and arithmetic only.
    stored = json.dumps({"question": "q", "answer": "[[ABC]]", "difficulty": 1, "metadata": {}})
    problem = _problem(clone, "cipher", stored)
    assert verify_one("synlogic", _completion("```python\n[['ABC']]\n```"), problem).correct
    mark = tmp_path / "ran"
    hostile = f"```python\n__import__('pathlib').Path({str(mark)!r}).touch()\n```"
    assert not verify_one("synlogic", _completion(hostile), problem).correct
    assert not mark.exists()


def test_verifiers_print_nothing(clone: Path, capfd: pytest.CaptureFixture[str]) -> None:
    stored = json.dumps({"question": "q", "answer": "", "difficulty": 1,
                         "metadata": {"numbers": [1, 2, 3, 4], "operators": ["+"], "result": 10}})
    verify_one("synlogic", _completion("```python\n1+2+3+4\n```"), _problem(clone, "game_of_24", stored))
    assert capfd.readouterr() == ("", "")


def test_what_cannot_be_scored_says_why(clone: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stored = json.dumps({"question": "q", "answer": "a", "difficulty": 1, "metadata": {}})
    monkeypatch.delenv("MTA_SYNLOGIC_CLONE", raising=False)
    unknown = verify_one("synlogic", "<answer>a</answer>", _problem(clone, "bbh_snarks", stored))
    assert unknown.reason == "no SynLogic verifier for data_source 'bbh_snarks'"
    lost = verify_one("synlogic", "<answer>a</answer>", _problem(tmp_path, "sudoku", stored))
    assert lost.reason.startswith("no SynLogic clone: git clone https://github.com/MiniMax-AI/SynLogic")
    (tmp_path / "base").mkdir()
    for name in ("data.py", "verifier.py"):
        (tmp_path / "base" / name).write_text("")
    partial = verify_one("synlogic", "<answer>a</answer>", _problem(tmp_path, "sudoku", stored))
    assert partial.reason.endswith("has no games/tasks/sudoku/scripts/sudoku_verifier.py")
    assert task_of(_problem(clone, "val/sudoku", stored)) == "sudoku"
