"""BIG-Bench Hard and BIG-Bench Extra Hard, each scored as its official scorer scores it.

**BBEH** ("bbeh") follows `bbeh/evaluate.py` of github.com/google-deepmind/bbeh to the letter:
the text after its final-answer prefixes, LaTeX and markdown unwrapped, lower-cased, its first
line, then `fuzzy_match` (`(a)` = `a`, `404` = `404.0`, `, ` = `,`, `[x]` = `x`, quotes and a
final `?` ignored). mta's prompt asks for an `<answer>` block: when a completion has one, its
content is scored as if it were the whole completion.

**BBH** ("bbh") has two official scorers: its paper's metric (the text after "So the answer is "
equals the target; reproduces the published Codex accuracies exactly) and SynLogic's per-subset
BBH verifiers, which the Mirage paper scores with. mta accepts every single-answer form either one
accepts: `(A)`, `(A) 01/02/2020`, "the answer is (A)", `yes` for `Yes`, `24.0` for `24`, sorted
words with commas, `plausible` for `yes` in sports_understanding. Where the two disagree with the
answer itself, mta decides by the answer: a bare letter `A` names option (A) (BBEH's own scorer
takes `a` for `(a)`), `true` is `True`. It rejects what both reject (option text alone, `1,234`)
and, unlike SynLogic's search for the first match anywhere, any text naming two answers.
docs/verifiers.md ("BBH and BBEH") lists the forms and the measured agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta_probe.problem import Problem
from mta_probe.verify.answers import ANSWER_PHRASE, ANSWER_TAG, last_boxed
from mta_probe.verify.text import normalize_answer
from mta_probe.verify.verdict import NO_ANSWER, Verdict

SEVERAL_ANSWERS = "more than one answer"

# ---------------------------------------------------------------------------------------------
# BBH

# How each subset's answer is read. "choice": a letter among "(A)".."(R)" options; "polar": two
# values (see BBH_POLAR); "number": an integer; "dyck": closing brackets; "words": a sorted list.
BBH_ANSWER_KIND = {
    "boolean_expressions": "polar", "causal_judgement": "polar", "date_understanding": "choice",
    "disambiguation_qa": "choice", "dyck_languages": "dyck", "formal_fallacies": "polar",
    "geometric_shapes": "choice", "hyperbaton": "choice",
    "logical_deduction_five_objects": "choice", "logical_deduction_seven_objects": "choice",
    "logical_deduction_three_objects": "choice", "movie_recommendation": "choice",
    "multistep_arithmetic_two": "number", "navigate": "polar", "object_counting": "number",
    "penguins_in_a_table": "choice", "reasoning_about_colored_objects": "choice",
    "ruin_names": "choice", "salient_translation_error_detection": "choice", "snarks": "choice",
    "sports_understanding": "polar", "temporal_sequences": "choice",
    "tracking_shuffled_objects_five_objects": "choice",
    "tracking_shuffled_objects_seven_objects": "choice",
    "tracking_shuffled_objects_three_objects": "choice", "web_of_lies": "polar",
    "word_sorting": "words",
}
_YES_NO = {"Yes": ("yes",), "No": ("no",)}
# The phrases that name each value of a two-valued subset: SynLogic's BBH verifiers' vocabulary
# (corpus/misc/tasks/bbh/scripts/*_verifier.py), matched as whole words, case-insensitively.
BBH_POLAR: dict[str, dict[str, tuple[str, ...]]] = {
    "boolean_expressions": {"True": ("true",), "False": ("false",)},
    "causal_judgement": _YES_NO,
    "navigate": _YES_NO,
    "formal_fallacies": {"valid": ("valid",), "invalid": ("invalid",)},
    "sports_understanding": {"yes": ("yes", "plausible"), "no": ("no", "not plausible")},
    "web_of_lies": {"Yes": ("yes", "tells the truth", "is telling the truth"),
                    "No": ("no", "does not tell the truth", "is not telling the truth")},
}
LETTER_GOLD = re.compile(r"^\(([A-Z])\)$")
_LETTER_IN_PARENS = re.compile(r"\(([A-Z])\)")
_BARE_LETTER = re.compile(r"^\(?([A-Z])\)?[.:]?$")
# A line that is an option and nothing else: `B`, `(B)`, `(B) 12/25/1937`.
_BARE_CHOICE = re.compile(r"^(?:\([A-Z]\)(?:[.:]?\s.*)?|[A-Z][.:)]?)$")
_INTEGER_OR_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
_MARKUP = re.compile(r"\\(?:boxed|fbox|text|textbf|texttt|mathrm)\s*\{([^{}]*)\}")
_WORD_EDGES = ".,;:!?\"`()[]*"


def verify_bbh(completion: str, problem: Problem) -> Verdict:
    """BBH: the one answer the completion gives, read as its subset's kind, against the target.

    The answer is looked for in order: the first `<answer>` block (the text after an "answer is"
    inside it first); else, after the last `</think>`, the rest of the line after the last
    "answer is" / "Answer:", then the last `\\boxed{}`. The first of these that names any answer
    decides; one that names two different answers is wrong. Without any of them, the last
    non-empty line counts only when it is nothing but an answer (`(B)`, `(B) 12/25/1937`, `No`,
    `24`): a direct answer, not a line of reasoning cut off by the token limit.
    """
    kind, read, gold = _bbh_reading(problem)
    regions = bbh_answer_regions(completion)
    lines = [line for line in _after_think(completion).splitlines() if line.strip()]
    if not regions and lines and _is_bare_answer(kind, _unmarked(lines[-1]), problem):
        regions = [lines[-1]]
    for region in regions:
        found = read(_unmarked(region))
        if found:
            if len(found) > 1:
                return Verdict(False, region, SEVERAL_ANSWERS)
            answer = found.pop()
            return Verdict(answer == gold, answer)
    return Verdict(False, None, NO_ANSWER)


def bbh_answer_regions(completion: str) -> list[str]:
    """The explicit answers of a completion, most explicit first (see verify_bbh)."""
    tagged = ANSWER_TAG.search(completion)
    if tagged:
        content = tagged.group(1)
        return [text for text in (_after_last_phrase(content), content) if text and text.strip()]
    tail = _after_think(completion)
    return [text for text in (_after_last_phrase(tail), last_boxed(tail)) if text and text.strip()]


def _after_think(completion: str) -> str:
    """The completion after its last `</think>`: the reasoning is not the answer."""
    return completion.rsplit("</think>", 1)[-1]


def _is_bare_answer(kind: str, line: str, problem: Problem) -> bool:
    """Whether a line is an answer and nothing else, for a problem of this kind."""
    if kind == "choice":
        return _BARE_CHOICE.match(line) is not None
    if kind == "polar":
        phrases = {p for group in BBH_POLAR[str(problem.meta.get("subset"))].values() for p in group}
        return line.lower().rstrip("!") in phrases
    if kind == "number":
        return _INTEGER_OR_DECIMAL.fullmatch(line) is not None
    if kind == "dyck":
        return set(line.split()) <= set(")]}>") and bool(line.split())
    if kind == "words":
        tokens = [t.strip(_WORD_EDGES) for t in re.split(r"[\s,]+", line) if t.strip(_WORD_EDGES)]
        return bool(tokens) and _sorted_words(line, problem.statement) == {" ".join(tokens)}
    return True


def _after_last_phrase(text: str) -> str | None:
    """The rest of the line after the last "answer is" / "answer:" in `text`, if any."""
    matches = list(ANSWER_PHRASE.finditer(text))
    return matches[-1].group(1) if matches else None


def _unmarked(text: str) -> str:
    """`text` without LaTeX wrappers (`\\boxed{}`, `\\text{}`), markdown emphasis, `$` and
    backticks, and without a final period."""
    previous = None
    while previous != text:
        previous = text
        text = _MARKUP.sub(r"\1", text)
    text = text.replace("**", "").replace("__", "").replace("`", "").replace("$", "").strip()
    return text[:-1].rstrip() if text.endswith(".") else text


def _bbh_reading(problem: Problem) -> tuple[str, Callable[[str], set[str]], str]:
    """(kind, reader from answer text to the set of answers it names, the target as read)."""
    subset = str(problem.meta.get("subset", ""))
    kind = BBH_ANSWER_KIND.get(subset) or _kind_of_gold(problem.gold)
    read = _reader(kind, subset, problem.statement)
    gold = read(_unmarked(problem.gold))
    if len(gold) != 1:  # three upstream items whose target is no option ("Monsters, Inc")
        kind, read = "text", _reader("text", subset, problem.statement)
        gold = read(_unmarked(problem.gold))
    return kind, read, next(iter(gold), "")


def _reader(kind: str, subset: str, statement: str) -> Callable[[str], set[str]]:
    """The function that reads the answers a text names, for one kind of BBH answer."""
    if kind == "polar":
        return lambda text: _polar_values(text, BBH_POLAR[subset])
    if kind == "words":
        return lambda text: _sorted_words(text, statement)
    readers = {"choice": _choice_letters, "number": _numbers, "dyck": _dyck,
               "text": lambda text: {normalize_answer(text)} if normalize_answer(text) else set()}
    return readers[kind]


def _kind_of_gold(gold: str) -> str:
    """The kind of a problem outside the 27 subsets (a user's JSONL file), from its gold."""
    if LETTER_GOLD.match(gold.strip()):
        return "choice"
    return "number" if _INTEGER_OR_DECIMAL.fullmatch(gold.strip()) else "text"


def _choice_letters(text: str) -> set[str]:
    """Options named: every `(X)` in the text, else a bare letter `X` (`X.`, `X)`) alone."""
    letters = {f"({letter})" for letter in _LETTER_IN_PARENS.findall(text)}
    if letters:
        return letters
    bare = _BARE_LETTER.match(text.strip())
    return {f"({bare.group(1)})"} if bare else set()


def _polar_values(text: str, values: dict[str, tuple[str, ...]]) -> set[str]:
    """The values whose phrases occur in `text` as whole words; longer phrases win, so "not
    plausible" is not also "plausible"."""
    phrases = sorted(((phrase, value) for value, group in values.items() for phrase in group),
                     key=lambda item: -len(item[0]))
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p, _ in phrases) + r")\b", re.IGNORECASE)
    by_phrase = dict(phrases)
    return {by_phrase[hit.group(1).lower()] for hit in pattern.finditer(text)}


def _numbers(text: str) -> set[str]:
    """The numeric values written in the text (`24` and `24.0` are one value; `1,234` is two)."""
    return {str(float(number)) for number in _INTEGER_OR_DECIMAL.findall(text)}


def _dyck(text: str) -> set[str]:
    """The closing sequence, tokens separated by single spaces."""
    return {" ".join(text.split())} if text.split() else set()


def _sorted_words(text: str, statement: str) -> set[str]:
    """The words of the item's list, in the order the text gives them (commas, numbering and
    other words ignored, as SynLogic's verifier does)."""
    listed = statement.split("List:", 1)[1].split("\n", 1)[0].split() if "List:" in statement else []
    tokens = [token.strip(_WORD_EDGES) for token in re.split(r"[\s,]+", text)]
    words = [token for token in tokens if token in listed] if listed else [t for t in tokens if t]
    return {" ".join(words)} if words else set()


# ---------------------------------------------------------------------------------------------
# BBEH

# evaluate.py's final-answer prefixes, applied in this order, each to what the previous left.
BBEH_PREFIXES = ("The answer is:", "The final answer is ", "The final answer is: ", "The answer is ")
# Its LaTeX wrappers: the text after the first `NAME{`, when the answer ends with `}`.
BBEH_LATEX = ("boxed{", "text{", "texttt{")


def verify_bbeh(completion: str, problem: Problem) -> Verdict:
    """BBEH: `bbeh/evaluate.py`'s `evaluate_correctness`, on the `<answer>` content when there is
    one; an empty answer is never correct."""
    tagged = ANSWER_TAG.search(completion)
    prediction = bbeh_prediction(tagged.group(1) if tagged else completion)
    if not prediction.strip():
        return Verdict(False, None, NO_ANSWER)
    return Verdict(bbeh_match(prediction, bbeh_reference(problem.gold)), prediction)


def bbeh_prediction(sample: str) -> str:
    """What evaluate.py compares: the final answer, lower-cased, `, ` -> `,`, `**` removed, its
    first line, a final period dropped."""
    answer = sample.strip()
    for prefix in BBEH_PREFIXES:
        if prefix in answer:
            answer = answer.rsplit(prefix, 1)[1].strip()
    answer = _bbeh_unwrap(answer.removesuffix("."))
    answer = answer.lower().replace(", ", ",").replace("**", "").split("\n")[0]
    return answer.removesuffix(".")


def _bbeh_unwrap(answer: str) -> str:
    """evaluate.py's `strip_latex`: `$...$`, then `\\boxed{...}`, `\\text{...}`, `\\texttt{...}`."""
    if answer.startswith("$") and answer.endswith("$"):
        answer = answer[1:-1]
    for wrapper in BBEH_LATEX:
        if wrapper in answer and answer.endswith("}"):
            answer = answer[:-1].split(wrapper)[1]
    return answer


def bbeh_reference(target: str) -> str:
    """The target as evaluate.py compares it: stripped, lower-cased, `, ` -> `,`."""
    return target.strip().lower().replace(", ", ",")


def bbeh_match(prediction: str, reference: str) -> bool:
    """evaluate.py's `fuzzy_match`. A three-character `(x)` on either side settles the verdict
    by its letter alone, before any other rule, as there."""
    if prediction == reference:
        return True
    if len(prediction) == 3 and prediction[0] == "(" and prediction[-1] == ")":
        return prediction[1] == reference
    if len(reference) == 3 and reference[0] == "(" and reference[-1] == ")":
        return reference[1] == prediction
    try:
        if float(prediction) == float(reference):
            return True
    except ValueError:
        pass
    return (prediction.replace("'", "") == reference.replace("'", "")
            or prediction == f"[{reference}]" or reference == f"[{prediction}]"
            or (prediction.endswith("?") and prediction[:-1] == reference))
