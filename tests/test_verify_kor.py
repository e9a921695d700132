"""The KOR-Bench verifier (mta_probe/verify/kor.py, kor_puzzle.py, arithmetic.py).

Three layers: tables of (gold, completion, expected) per rule family, written from reading KOR's
`eval/eval_utils.py`; every real gold of the benchmark accepted as an answer; and KOR's own
`evaluate_response_vs_answer`, loaded at test time from a KOR-Bench clone (`MTA_KOR_CLONE`, else
shared/scorers/kor-bench: tests/benchdata.py), run side by side with mta on the same tables and on
KOR's released model answers (with their released verdicts).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from benchdata import benchmark_dir, scorer_clone
from problems import problem

from mta_probe.tasks import Problem, TaskOptions, load_task
from mta_probe.verify import verify_one
from mta_probe.verify.arithmetic import evaluate_arithmetic
from mta_probe.verify.kor import kor_answer, scored_region

FORMAT = "\nPlease provide the answer in the format [[output]]."

# (category, rule_id, idx, gold, completion, mta's verdict, how KOR's scorer differs or "").
# "empty": KOR accepts, mta refuses an answer empty once cleaned. "think": mta reads after
# </think>, KOR reads the whole text. "continuation": KOR reads the answer a base model gives to
# the next question it writes itself, mta only the answer to this one. "sympy": KOR's scorer accepts too when sympy's LaTeX parser
# works (antlr4 4.11 installed); its released verdicts were made without it.
CASES: list[tuple[str, str, str, str, str, bool, str]] = [
    # counterfactual / cipher / plain operation: first [[...]], quotes, spaces, brackets deleted
    ("counterfactual", "1", "1", "[[C]]", "[[C]]\n\n### Question:\nWho ...?\n\n### Answer:\n[[D]]", True, ""),
    ("counterfactual", "1", "1", "[[C]]", "[[D]]\n\n### Question:\nWho ...?\n\n### Answer:\n[[C]]", False, ""),
    ("counterfactual", "1", "1", "[[C]]", "So the answer is [[ C ]].", True, ""),
    ("counterfactual", "1", "1", "[[C]]", "[[c]]", False, ""),
    ("counterfactual", "1", "1", "[[C]]", "the option is [C]", True, ""),
    ("counterfactual", "1", "1", "[[C]]", "$\\boxed{C}$", True, ""),
    ("counterfactual", "1", "1", "[[C]]", "\\boxed{C}", False, ""),
    ("counterfactual", "1", "1", "[[C]]", "C", False, ""),
    ("counterfactual", "1", "1", "[[C]]", "[[ ]]", False, ""),
    ("counterfactual", "1", "1", "[[C]]", "<think>like this: [[A]]</think>\n[[C]]", True, "think"),
    # a base model's continuation: KOR reads $\boxed{}$ only when no [[...]] is anywhere in the text,
    # and [...] only when neither is, so the form it reads first may be the continuation's
    ("logic", "5", "47", "[[-]]", f"[-]\n\n### Question:\nWhat is the output?{FORMAT}\n\n### Answer:\nYes",
     False, ""),  # KOR's released answer of Mistral-7B-v0.1, logic three-shot, idx 47, shortened
    ("counterfactual", "1", "1", "[[C]]", "$\\boxed{C}$\n\n### Question:\nWho ...?\n\n### Answer:\n[[D]]",
     False, ""),
    ("counterfactual", "1", "1", "[[C]]", "[C]\n\n### Question:\nWho ...?\n\n### Answer:\n$\\boxed{D}$",
     False, ""),
    ("counterfactual", "1", "1", "[[C]]", "[C]\n\n### Question:\nWho ...?\n\n### Answer:\n[D]", True, ""),
    ("counterfactual", "1", "1", "[[C]]", "[D]\n\n### Question:\nWho ...?\n\n### Answer:\n[[C]]",
     False, "continuation"),
    ("counterfactual", "1", "1", "[[C]]", f"[C] is the answer.{FORMAT}", False, ""),  # no continuation
    ("cipher", "3", "5", "[[HELLO]]", '[["H E L L O"]]', True, ""),
    ("cipher", "3", "5", "[[17]]", "[[[17]]]", True, ""),
    ("cipher", "3", "5", "[[HELLO]]", "[[HELLO.]]", False, ""),
    ("operation", "1", "1", "[[6]]", "[[6.0]]", False, ""),
    # logic: quotes, spaces, periods deleted from both sides; rule 5 rows order-free
    ("logic", "7", "48", "[[A=1,E=8]]", "[[A=1, E=8.]]", True, ""),
    ("logic", "7", "48", "[[A=1,E=8]]", "[[E=8,A=1]]", False, ""),
    ("logic", "5", "50", "[[I,O];[+,-];[-,+];[0,0]]", "[[I,O];[-,+];[+,-];[0,0]]", True, ""),
    ("logic", "5", "50", "[[I,O];[+,-];[-,+];[0,0]]", "[[I,O];[0,0];[-,+];[+,-]]", False, ""),
    # operation: inequality sets, set rule 18, tuple rules 23-25
    ("operation", "18", "178", "[[{x∣x≤0 or x≥1}]]", "[[x ≥ 1 or x ≤ 0]]", True, ""),
    ("operation", "18", "178", "[[{x∣x≤0 or x≥1}]]", "[[x ≥ 0 or x ≤ 1]]", False, ""),
    ("operation", "18", "171", "[[{1,2,4,5}]]", "[[{5, 4, 2, 1}]]", True, ""),
    ("operation", "18", "171", "[[{1,2,4,5}]]", "[[{1,2,4}]]", False, ""),
    ("operation", "23", "221", "[[((1,2),(9,64))]]", "[[(1, 2), (9, 64)]]", True, ""),
    ("operation", "23", "221", "[[((1,2),(9,64))]]", "[[((2,1),(9,64))]]", False, ""),
    # operation expression items: KOR's LaTeX cleaning, then the strings (spaces count)
    ("operation", "14", "170", "[[1+e]]", "[[1+e]]", True, ""),
    ("operation", "14", "170", "[[1+e]]", "[[f(1)=1+e]]", True, ""),
    ("operation", "14", "170", "[[1+e]]", "[[f(1) = 1+e]]", False, "sympy"),
    ("operation", "14", "170", "[[1+e]]", "[[\\(1+e\\)]]", True, ""),
    ("operation", "14", "170", "[[1+e]]", "[[1 + e]]", False, "sympy"),
    ("operation", "14", "170", "[[1+e]]", "[[e+1]]", False, "sympy"),
    ("operation", "14", "170", "[[1+e]]", "[[2+e]]", False, ""),
    # operation golds with several roots: order-free parts
    ("operation", "3", "15", "[[4or-12]]", "[[-12 or 4]]", True, ""),
    ("operation", "3", "15", "[[4or-12]]", "[[-12 \\text{or} 4]]", True, ""),
    ("operation", "3", "15", "[[4or-12]]", "[[4]]", False, ""),
    # puzzle rules
    ("puzzle", "1", "1", "[[nine ten]]", "[[Nine, Ten]]", True, ""),
    ("puzzle", "1", "1", "[[nine ten]]", "[[nine ten nine]]", False, ""),
    ("puzzle", "2", "12", "[[dict,diction]]", "[[diction]]", True, ""),
    ("puzzle", "2", "12", "[[dict,diction]]", "[[dic]]", False, ""),
    ("puzzle", "3", "21", "[[pea ape]]", "[[Ape, pea]]", True, ""),
    ("puzzle", "3", "21", "[[pea ape]]", "[[pea]]", False, ""),
    ("puzzle", "4", "33", "[[scape capes paces]]", "[[capes]]", True, ""),
    ("puzzle", "4", "33", "[[scape capes paces]]", "[[cape]]", True, ""),  # a substring of the gold
    ("puzzle", "4", "33", "[[scape capes paces]]", "[[spaces]]", False, ""),
    ("puzzle", "4", "33", "[[scape capes paces]]", "[[123]]", False, "empty"),
    ("puzzle", "5", "41", "[[O=1,T=2,G=8,U=0]]", "[[T=2, O=1, U=0, G=8]]", True, ""),
    ("puzzle", "5", "41", "[[O=1,T=2,G=8,U=0]]", "[[T=2,O=1,U=0,G=9]]", False, ""),
    ("puzzle", "9", "81", "[[6+2*3-2=10]]", "[[6 + 2 × 3 − 2]]", True, ""),
    ("puzzle", "9", "81", "[[6+2*3-2=10]]", "[[6+2*3-2=11]]", True, ""),  # only the left side counts
    ("puzzle", "9", "81", "[[6+2*3-2=10]]", "[[2*3+6-2=10]]", False, ""),
    ("puzzle", "9", "81", "[[6+2*3-2=10]]", "[[6+2*3-3=10]]", False, ""),
    ("puzzle", "9", "81", "[[6+2*3-2=10]]", "[[6+2(3)-2=10]]", False, ""),
    ("puzzle", "10", "91", "[[(9+5-2)×2]]", "[[2*(9+5-2)]]", True, ""),
    ("puzzle", "10", "91", "[[(9+5-2)×2]]", "[[(9+5-2)*2 = 24]]", True, ""),
    ("puzzle", "10", "91", "[[(9+5-2)×2]]", "[[(9-5+2)*2]]", False, ""),
    ("puzzle", "10", "91", "[[(9+5-2)×2]]", "[[(9+5-2)*2*1]]", False, ""),
    ("puzzle", "18", "171", "[[← 9 →,↑ 7]]", "[[←9→ ↑7]]", True, ""),
    ("puzzle", "18", "171", "[[← 9 →,↑ 7]]", "[[←9← ↑7]]", False, ""),
    ("puzzle", "6", "51", "[[ABC]]", "[[A-B-C]]", True, ""),
    ("puzzle", "6", "51", "[[ABC]]", "[[abc]]", False, ""),
    ("puzzle", "6", "51", "[[ABC]]", "[ABC]", False, ""),  # puzzles read [[...]] only
]


def kor_problem(category: str, rule_id: str, idx: str, gold: str) -> Problem:
    return problem(gold, category=category, rule_id=rule_id, idx=idx)


@pytest.mark.parametrize("category, rule_id, idx, gold, completion, correct, departure", CASES)
def test_kor_rule_table(category: str, rule_id: str, idx: str, gold: str, completion: str,
                        correct: bool, departure: str) -> None:
    assert verify_one("kor", completion, kor_problem(category, rule_id, idx, gold)).correct is correct


@pytest.mark.parametrize("completion, expected", [
    ("first [[x]] then [[ 1, 2 ]]", "x"),                      # the FIRST, inner spaces trimmed
    ("[[[17]]]", "[17"),
    ("$\\boxed{B}$ then [B]", "B"),
    ("no double: [ 4 ] and $\\boxed{5}$", "5"),              # $\boxed{}$ before [ ]
    ("<think>[[A]]</think> <answer>[[7]]</answer> [[8]]", "7"),
    ("<answer>7</answer> [[8]]", "8"),                        # an answer block without brackets
    ("nothing bracketed", None),
])
def test_kor_answer_and_the_region_it_reads(completion: str, expected: str | None) -> None:
    assert kor_answer(scored_region(completion)) == expected


@pytest.mark.parametrize("text, continuation, expected", [
    ("[-]\n\n", "### Question:\nin the format [[output]]", None),  # KOR reads the continuation's
    ("[-]\n\n", "### Question:\nin the format $\\boxed{x}$", None),
    ("[-]\n\n", "### Question:\nin the format [x]", "-"),  # the first [...] is this answer's
    ("[[A]] [-]\n\n", "### Question:\n[[B]]", "A"),
    ("$\\boxed{A}$\n\n", "### Question:\n[x]", "A"),
    ("[-", "]\n### Question:\n", None),  # a bracket the continuation closes is not an answer
])
def test_kor_answer_after_a_cut(text: str, continuation: str, expected: str | None) -> None:
    assert kor_answer(text, continuation) == expected


def test_empty_answers_are_never_correct() -> None:
    for category, rule_id in [("counterfactual", "1"), ("puzzle", "4"), ("puzzle", "2"), ("logic", "5"),
                              ("operation", "18"), ("puzzle", "6")]:
        for empty in ("[[ ]]", "[[]]", '[[""]]', "[[\n]]"):
            verdict = verify_one("kor", empty, kor_problem(category, rule_id, "1", "[[ abc ]]"))
            assert not verdict.correct and verdict.reason == "empty answer", (category, rule_id, empty)


def test_a_bare_gold_is_read_as_bracketed_and_no_brackets_is_no_answer() -> None:
    assert verify_one("kor", "so [[1, 2]]", problem("1,2")).correct
    verdict = verify_one("kor", "the answer is 5", problem("5"))
    assert not verdict.correct and verdict.reason == "no answer found"


@pytest.mark.parametrize("text, value", [
    ("(8 - 2) * (3 + 1)", 24), ("6/2+5+4", 12.0), (" 7*5-(9+2)", 24), ("-3 + 2**3", 5), ("10 % 4", 2),
    ("3(4+5)", None), ("__import__('os')", None), ("x + 1", None), ("9**9**9", None), ("1/0", None),
    ("(" * 5000 + "1" + ")" * 5000, None),
])
def test_arithmetic_is_python_arithmetic_and_nothing_else(text: str, value: float | None) -> None:
    assert evaluate_arithmetic(text) == value


def test_every_real_gold_written_as_an_answer_is_accepted() -> None:
    root = benchmark_dir("kor-bench")
    refused = []
    for label in ("op", "cf", "cipher", "puzzle", "logic"):
        for item in load_task(f"kor-{label}", options=TaskOptions(data_dir=root)).problems:
            inner = item.gold[2:-2]
            # Golds listing several accepted answers (puzzle rules 2, 4, 10): a model writes one.
            first = {"2": inner.split(",")[0], "4": inner.split()[0], "10": inner.split("\n")[0]}
            answer = first.get(item.meta["rule_id"], inner) if label == "puzzle" else inner
            if not verify_one("kor", f"[[{answer}]]", item).correct:
                refused.append(item.id)
    # Puzzle 84's gold equation is false (2+2+3*4 is 16, not 28): KOR's own rule refuses it too.
    assert refused == ["puzzle/84"]


# Side by side with KOR's own scorer, from a clone: MTA_KOR_CLONE, else shared/scorers/kor-bench.

def _kor_clone() -> Path:
    return scorer_clone("MTA_KOR_CLONE", "kor-bench", "eval/eval_utils.py")


@pytest.fixture(scope="module")
def official() -> Callable[..., bool]:
    """KOR's `evaluate_response_vs_answer`, imported from the clone without leaving its top-level
    packages (`utils`, `config`) in sys.modules."""
    clone = _kor_clone()
    sys.path[:0] = [str(clone), str(clone / "eval")]
    try:
        module = importlib.import_module("eval_utils")
    finally:
        del sys.path[:2]
        for name, loaded in list(sys.modules.items()):
            if str(getattr(loaded, "__file__", None) or "").startswith(str(clone)):
                del sys.modules[name]
    return module.evaluate_response_vs_answer


def _sympy_latex_works() -> bool:
    try:
        from sympy.parsing.latex import parse_latex

        parse_latex("x")
        return True
    except Exception:  # noqa: BLE001 -- ImportError without antlr4 4.11, whatever a broken install raises
        return False


def _kor_says(official: Callable[..., bool], response: str, gold: str, category: str, rule_id: str,
              idx: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # KOR eval()s "3(4+5)"
        return bool(official(response, gold, category, rule_id, idx))


@pytest.mark.parametrize("category, rule_id, idx, gold, completion, correct, departure", CASES)
def test_tables_match_kors_eval_utils(official: Callable[..., bool], category: str, rule_id: str, idx: str,
                                      gold: str, completion: str, correct: bool, departure: str) -> None:
    kor = _kor_says(official, completion, gold, category, rule_id, idx)
    if departure == "sympy":
        assert kor is (not correct if _sympy_latex_works() else correct)
    elif departure:
        assert kor is not correct
    else:
        assert kor is correct


RELEASED_MODELS = ("Qwen2.5-7B_", "Qwen2.5-72B-Instruct_", "Meta-Llama-3.1-8B-Instruct_", "gemma-2-9b_",
                   "gpt-4o_", "Mistral-7B-v0.1_")


def test_released_answers_match_kors_verdicts(official: Callable[..., bool]) -> None:
    """Six models (base and chat, three-shot and zero-shot) x five categories: 7,500 answers, each
    scored by mta, by KOR's eval_utils run here, and by KOR when it released them. All three
    agree on every answer (KOR's empty-answer departure, one answer of the 77,500 released, is
    not among these six models; with sympy's LaTeX parser working, eval_utils judges operation
    expressions differently from its released verdicts, so those are compared with the
    released verdicts only)."""
    clone = _kor_clone()
    symbolic = _sympy_latex_works()
    items = {}
    for label in ("op", "cf", "cipher", "puzzle", "logic"):
        for p in load_task(f"kor-{label}", options=TaskOptions(data_dir=clone)).problems:
            items[p.meta["category"], p.meta["idx"]] = p
    files = [f for f in sorted((clone / "eval" / "results" / "0923_main").glob("evaluation_*.json"))
             if f.name[len("evaluation_"):].startswith(RELEASED_MODELS)]
    assert len(files) == 30
    checked, differ = 0, []
    for path in files:
        category = path.name[len("evaluation_"):].split("_")[1]
        for record in json.loads(path.read_text()):
            item = dataclasses.replace(items[category, record["idx"]], gold=record["answer"])
            mine = verify_one("kor", record["response"], item).correct
            released = bool(record["is_correct"])
            live = _kor_says(official, record["response"], record["answer"], category,
                             item.meta["rule_id"], record["idx"])
            if symbolic and category == "operation":
                live = released
            if not mine == released == live:
                differ.append((path.name, record["idx"], mine, released, live))
            checked += 1
    assert checked == 7500
    assert differ == []  # (file, idx, mta, released verdict, eval_utils here)
