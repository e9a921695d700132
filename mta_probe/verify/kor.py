"""KOR-Bench, scored as KOR's own `eval/eval_utils.py` scores it (`evaluate_response_vs_answer`).

mta's code, written from reading that file (KOR-Bench/KOR-Bench @ bb8194d); docs/verifiers.md
("KOR-Bench") gives its agreement with KOR's released verdicts and how to measure it.

Extraction (`kor_answer`): the FIRST `[[...]]` of the completion, inner whitespace trimmed; else
the first `$\\boxed{...}$`; else the first `[...]`. A base model that answers and then writes a
new "### Question ... [[X]]" is scored on its first answer, the one to this problem. `[[[17]]]`
yields `[17`, which the bracket-deleting comparisons read as `17`, as KOR's do.

The answer to this problem only (rule 1 of `mta_probe.verify.rules`), applied here because KOR's
reading of it depends on the text that follows: KOR falls back to `$\\boxed{}$` only when no
`[[...]]` appears anywhere in the completion, and to `[...]` only when neither does. So when the
form KOR reads first appears only in the continuation (a base model answers `[-]`, then writes a
"### Question ... in the format [[output]]"), KOR reads the continuation's text and mta finds no
answer: both say wrong. They differ only when the continuation's answer happens to equal the gold
(KOR right, mta wrong; none of the 7,500 released answers in the tests).

Comparison, by category, rule id and item idx (`problem.meta`, set by tasks/kor.py):

- logic, rule 5 (truth tables): the `;`-separated rows compare as a multiset, after deleting
  quotes, newlines, spaces and periods from the answer;
- logic, other rules: equal after deleting quotes, newlines, spaces and periods from both;
- operation items 178, 179 (inequality sets): the sorted `≥n`/`≤n` terms are equal;
- operation rule 18 (sets): the same multiset of word characters;
- operation rules 23-25 (tuples): the same sequence of integers;
- operation expression items (`EXPRESSION_ITEMS`): equal after KOR's LaTeX cleaning (the right
  side of the last `=`, no `\\left`, `\\text{}`, `$`, brackets). KOR meant to compare these with
  sympy, but its `parse_latex` needs antlr4 4.11; without it KOR compares the cleaned strings,
  and that is how every one of its released verdicts was made (docs/verifiers.md);
- operation golds with "or" (several roots): the same set of `or`-separated parts;
- puzzle: the first `[[...]]`'s text against the gold's, by rule (`PUZZLE_RULES`): letters only,
  one of several golds, a word set, an equation that evaluates right, the 24 game, ...;
- everything else (counterfactual, cipher, the rest of operation): equal to the gold after
  deleting quotes, newlines, spaces and brackets from the answer. The gold is compared as
  written, so a gold with a space can only be matched by the rules above, as in KOR.

Departures from eval_utils, on purpose: an answer that is empty once cleaned is never correct
(KOR's puzzle rule 4 accepts `[[ ]]`, since "" is a substring of every gold); model text is never
run through `eval` (see `mta_probe.verify.arithmetic`); a completion with a `</think>` is scored on
the text after it, and an `<answer>` block holding a `[[...]]` is scored on that block; an answer
found only in a base model's continuation never counts (above). A gold without `[[...]]` (a user's
file) is read as if wrapped in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta_probe.problem import Problem
from mta_probe.verify.answers import ANSWER_TAG
from mta_probe.verify.kor_puzzle import PUZZLE_RULES, puzzle_general
from mta_probe.verify.rules import answer_region
from mta_probe.verify.verdict import NO_ANSWER, Verdict

EMPTY_ANSWER = "empty answer"
DOUBLE = re.compile(r"\[\[\s*(.*?)\s*\]\]", re.DOTALL)
BOXED = re.compile(r"\$\\boxed\{(.*?)\}\$", re.DOTALL)
SINGLE = re.compile(r"\[\s*(.*?)\s*\]", re.DOTALL)
INNER = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
INEQUALITY = re.compile(r"(≥|≤)\s*([-]?\d+\.?\d*)")

# Operation items whose answers are expressions (derivatives, surds, complex numbers): the
# `idx_ranges` list of eval_utils, as one set.
EXPRESSION_ITEMS = frozenset(
    [18, 73, 74, 77, 94, 115, 116, 117, 121, 122, 123, 125, 131, 132, 134, 135, 136, 141, 143, 149,
     *range(145, 148), *range(151, 157), 160, 161, 162, 164, 165, 166, 170, 206, 209,
     *range(211, 216), 217, 218])
INEQUALITY_ITEMS = frozenset({178, 179})
TUPLE_RULES = frozenset({"23", "24", "25"})


def verify_kor(completion: str, problem: Problem) -> Verdict:
    """KOR-Bench: the completion's first `[[...]]` against the gold, by the item's rule.

    Args:
        completion: the model's whole text (this verifier cuts a continuation itself).
        problem: a KOR item; `meta` holds `category`, `rule_id`, `idx` (absent: compared as a
            counterfactual or cipher item is).

    Returns:
        The Verdict; its answer is the extracted text (for puzzles, the first `[[...]]` as is).
    """
    answered = answer_region(completion, problem.prompt, problem.statement)
    region = scored_region(answered)
    category = str(problem.meta.get("category", ""))
    gold = problem.gold if "[[" in problem.gold else f"[[{problem.gold}]]"
    if category == "puzzle":
        found = INNER.search(region)  # puzzles read `[[...]]` only: a continuation changes nothing
        answer = found.group(1) if found else None
    else:
        answer = kor_answer(region, completion[len(answered):])
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    if not _clean(answer).replace("\\", ""):
        return Verdict(False, answer, EMPTY_ANSWER)
    compare = _comparison(category, str(problem.meta.get("rule_id", "")), problem.meta.get("idx"), gold)
    return Verdict(compare(answer, gold, str(problem.meta.get("rule_id", ""))), answer)


def scored_region(completion: str) -> str:
    """The part of a completion KOR's rules read: after the last `</think>`, and within the first
    `<answer>` block when that block holds a bracketed answer."""
    text = completion.rsplit("</think>", 1)[-1]
    tagged = ANSWER_TAG.search(text)
    if tagged and "[" in tagged.group(1):
        return tagged.group(1)
    return text


def kor_answer(text: str, continuation: str = "") -> str | None:
    """The first `[[...]]` (inner whitespace trimmed), else `$\\boxed{...}$`, else `[...]`; None
    when there is none of them, or when the first form KOR would read is in `continuation` (the
    text after the answer to this problem) and not in `text`."""
    for pattern in (DOUBLE, BOXED, SINGLE):
        found = pattern.search(text)
        if found:
            return found.group(1).strip()
        if continuation and pattern.search(text + continuation):
            return None
    return None


def _comparison(category: str, rule_id: str, idx: object, gold: str) -> Callable[[str, str, str], bool]:
    """The comparison eval_utils applies to this item (its if/elif chain, in order)."""
    number = int(idx) if isinstance(idx, (int, str)) and str(idx).isdigit() else -1
    if category == "logic":
        return _logic_rows if rule_id == "5" else _logic
    if category == "operation":
        if number in INEQUALITY_ITEMS:
            return _inequalities
        if rule_id == "18":
            return _character_set
        if rule_id in TUPLE_RULES:
            return _integers
        if number in EXPRESSION_ITEMS:
            return _expression
        if "or" in gold:
            return _alternatives
    if category == "puzzle":
        return _puzzle
    return _cleaned_equal


def _clean(text: str) -> str:
    """KOR's "clean" level: no quotes, newlines, spaces or square brackets."""
    return re.sub(r'["\n \[\]]', "", text)


def _logic_clean(text: str) -> str:
    """KOR's "logic" level: no quotes, newlines, spaces or periods (brackets stay)."""
    return re.sub(r'["\n .]', "", text)


def latex_clean(text: str) -> str:
    """KOR's "math" level: no quotes, newlines, brackets or `$`; then the right side of the last
    `=`, without `\\(`, `\\)`, `\\text{...}`, `\\left`, `\\right`, `\\displaystyle`, and with
    doubled backslashes single. Spaces stay."""
    text = re.sub(r'["\n\[\]$]', "", text)
    if "=" in text:
        text = text.rsplit("=", 1)[1]
    text = re.sub(r"\\[()\[\]]", "", text)
    text = re.sub(r"\\text\{.*?\}", "", text)
    text = re.sub(r"\\(left|right|displaystyle)", "", text)
    return text.replace("\\\\", "\\")


def _gold_answer(gold: str) -> str:
    """The gold's own bracketed text, extracted as a response's is (golds are `[[...]]`)."""
    found = kor_answer(gold)
    return found if found is not None else gold


def _cleaned_equal(answer: str, gold: str, rule_id: str) -> bool:
    return f"[[{_clean(answer)}]]" == gold


def _logic(answer: str, gold: str, rule_id: str) -> bool:
    return _logic_clean(answer) == _logic_clean(_gold_answer(gold))


def _logic_rows(answer: str, gold: str, rule_id: str) -> bool:
    # The brackets stay on the first and last rows, as in KOR: only inner rows are order-free.
    return sorted(f"[[{_logic_clean(answer)}]]".split(";")) == sorted(gold.split(";"))


def _inequalities(answer: str, gold: str, rule_id: str) -> bool:
    def terms(text: str) -> list[str]:
        return sorted("".join(match) for match in INEQUALITY.findall(text))
    return terms(f"[[{_clean(answer)}]]") == terms(gold)


def _character_set(answer: str, gold: str, rule_id: str) -> bool:
    inner = INNER.search(gold)
    return sorted(re.sub(r"\W+", "", _clean(answer))) == sorted(re.sub(r"\W+", "", inner.group(1) if inner else gold))


def _integers(answer: str, gold: str, rule_id: str) -> bool:
    return [int(n) for n in re.findall(r"\d+", _clean(answer))] == [int(n) for n in re.findall(r"\d+", gold)]


def _expression(answer: str, gold: str, rule_id: str) -> bool:
    return latex_clean(answer) == latex_clean(_gold_answer(gold))


def _alternatives(answer: str, gold: str, rule_id: str) -> bool:
    def parts(cleaned: str) -> list[str]:
        return sorted(part.strip() for part in cleaned.strip("[]").split("or"))
    return parts(_clean(answer).replace("\\text{or}", "or")) == parts(_clean(_gold_answer(gold)))


def _puzzle(answer: str, gold: str, rule_id: str) -> bool:
    inner = INNER.search(gold)
    return PUZZLE_RULES.get(rule_id, puzzle_general)(answer, inner.group(1) if inner else gold)
