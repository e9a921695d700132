"""Text answers: normalized string equality, and multiple choice by letter or option text."""

from __future__ import annotations

import re

from mta_probe.problem import Problem
from mta_probe.verify.answers import extract_answer, extract_choice
from mta_probe.verify.verdict import NO_ANSWER, Verdict

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox)\s*\{([^{}]*)\}")


def normalize_answer(text: str) -> str:
    """Text for lenient comparison: no `\\text{}`, case, spacing, surrounding quotes or `$`,
    or trailing punctuation.

    Args:
        text: an answer or a gold string.

    Returns:
        The normalized string (idempotent).
    """
    previous = None
    while previous != text:
        previous = text
        text = TEXT_COMMAND.sub(r"\1", text)
        text = text.strip().strip("$").strip()
        text = text.rstrip(".,;:!?").strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
            text = text[1:-1]
    return " ".join(text.lower().split())


def verify_exact(completion: str, problem: Problem) -> Verdict:
    """The extracted answer equals the gold after stripping surrounding whitespace."""
    answer = extract_answer(completion)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    return Verdict(answer.strip() == problem.gold.strip(), answer)


def verify_normalized(completion: str, problem: Problem) -> Verdict:
    """Equality after `normalize_answer` on both sides."""
    answer = extract_answer(completion)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    return Verdict(normalize_answer(answer) == normalize_answer(problem.gold), answer)


def verify_choice(completion: str, problem: Problem) -> Verdict:
    """Multiple choice: the letter (or the option's text, given meta["choices"]) matches."""
    choices = [normalize_answer(str(choice)) for choice in problem.meta.get("choices", [])]
    size = len(choices) or problem.num_choices or 10
    letters = LETTERS[:size]
    gold = _choice_letter(problem.gold, choices, letters)
    answer = extract_choice(completion, letters)
    if answer is None and choices:
        extracted = extract_answer(completion)
        answer = _choice_letter(extracted, choices, letters) if extracted else None
    if gold is None:  # a free-text gold (yes/no, True/False): compare the text
        extracted = extract_answer(completion)
        if extracted is None:
            return Verdict(False, None, NO_ANSWER)
        return Verdict(normalize_answer(extracted) == normalize_answer(problem.gold), extracted)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    return Verdict(answer == gold, answer)


def _choice_letter(text: str, choices: list[str], letters: str) -> str | None:
    """'B', '(B)', 'B.' or the text of option B -> 'B'; None when it is none of those."""
    cleaned = normalize_answer(text).strip("()[]* ").rstrip(")").upper()
    if len(cleaned) == 1 and cleaned in letters:
        return cleaned
    normalized = normalize_answer(text)
    if normalized in choices:
        return letters[choices.index(normalized)]
    return None
