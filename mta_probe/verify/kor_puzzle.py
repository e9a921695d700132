"""KOR-Bench puzzle answers, compared rule by rule as KOR's `eval_utils.py` compares them.

Each function takes the text of the answer's first `[[...]]` and the gold's, both as written
(KOR does not trim them), and says whether they match. Rules without an entry in
`PUZZLE_RULES` use `puzzle_general`: the same word characters in the same order.

One departure from KOR: where KOR tests "is the answer's letter string contained in the gold"
(rules 2 and 4), an answer with no letters is wrong; KOR accepts it, since "" is in every string.
Expressions (rules 9, 10) are evaluated by `evaluate_arithmetic`, never by `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta_probe.verify.arithmetic import evaluate_arithmetic

OPERATORS = re.compile(r"[+\-*/]")
RESULT = re.compile(r"=\s*(-?\d+)")
TARGET_24 = 24


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z]", "", text).lower()


def _ascii_operators(text: str) -> str:
    return text.replace("×", "*").replace("−", "-")


def letters_equal(answer: str, gold: str) -> bool:
    """Rule 1: the same letters, case ignored, everything else dropped."""
    return _letters(answer) == _letters(gold)


def one_of(answer: str, gold: str) -> bool:
    """Rule 2: the answer's letters are one of the comma-separated golds."""
    letters = _letters(answer)
    return bool(letters) and letters in gold.split(",")


def same_words(answer: str, gold: str) -> bool:
    """Rule 3: the same words in any order (the answer's split at non-word characters and
    lower-cased, the gold's split at single spaces)."""
    return sorted(w for w in re.split(r"\W+", answer.lower()) if w) == sorted(gold.split(" "))


def within(answer: str, gold: str) -> bool:
    """Rule 4: the answer's letters appear in the gold (the gold lists every accepted word)."""
    letters = _letters(answer)
    return bool(letters) and letters in gold


def same_assignments(answer: str, gold: str) -> bool:
    """Rule 5: the same comma-separated assignments in any order, whitespace ignored in the answer."""
    return sorted(re.sub(r"\s+", "", answer).split(",")) == sorted(gold.split(","))


def equation(answer: str, gold: str) -> bool:
    """Rule 9: the same operators in the same order left of `=`, and that side evaluates to the
    gold's integer result."""
    answer, gold = _ascii_operators(answer), _ascii_operators(gold)
    if OPERATORS.findall(answer.split("=")[0]) != OPERATORS.findall(gold.split("=")[0]):
        return False
    expected = RESULT.search(gold)
    if expected is None:
        return False
    value = evaluate_arithmetic(answer.split("=")[0])
    return value is not None and value == int(expected.group(1))


def game_24(answer: str, gold: str) -> bool:
    """Rule 10: the answer uses the gold's numbers and letters (as a multiset of characters) and
    evaluates to 24. Only the gold's first line counts (it lists several solutions)."""
    expression = _ascii_operators(answer).split("=")[0]
    reference = gold.split("\n")[0].split("=")[0]
    if sorted(re.sub(r"\W+", "", expression)) != sorted(re.sub(r"\W+", "", reference)):
        return False
    value = evaluate_arithmetic(expression)
    return value is not None and value == TARGET_24


def grid_equal(answer: str, gold: str) -> bool:
    """Rule 18: equal once commas, whitespace and square brackets are removed."""
    def squeeze(text: str) -> str:
        return re.sub(r"[,\s\[\]]+", "", text)
    return squeeze(answer) == squeeze(gold)


def puzzle_general(answer: str, gold: str) -> bool:
    """Every other rule: equal once every non-word character is removed (case kept)."""
    return re.sub(r"\W+", "", answer) == re.sub(r"\W+", "", gold)


PUZZLE_RULES: dict[str, Callable[[str, str], bool]] = {
    "1": letters_equal,
    "2": one_of,
    "3": same_words,
    "4": within,
    "5": same_assignments,
    "9": equation,
    "10": game_24,
    "18": grid_equal,
}
