"""Competition-math answers rewritten as MATH's own graders read them, in mta's own code.

MATH's `grade_answer` (openai/prm800k `prm800k/grading/grader.py`, which first applies Hendrycks'
`math_normalize.py`) accepts an answer when, after normalizing both sides, the strings are equal
or sympy finds their difference zero. What decides most verdicts is the normalization: a symbolic
checker fed the raw text cannot see that `\\$36` is 36, that `5.4 \\text{ cents}` is 5.4, or that
`137 1/2` is 137 and a half (math-verify reads 137 x 1/2). `math_form` applies the same kinds of
rewriting, in this order (`REWRITES`), and keeps LaTeX so that math-verify can parse the result:

1. delimiters: surrounding `$...$`, `\\(...\\)`, `\\[...\\]`, `\\displaystyle`, a trailing period;
2. an answer wrapped whole in `\\text{}` (or `\\textbf`, `\\textit`, `\\mathrm`, `\\mbox`) is unwrapped,
   and a lone option letter `(C)` is `C`;
3. marks: `\\$`, `\\%`, `%`, `\\!`, LaTeX spaces (`\\ `, `\\,`, `\\;`, `\\quad`, `~`), `\\left`,
   `\\right`, degrees (`^\\circ`, `^{\\circ}`, `°`); `\\dfrac` and `\\tfrac` are `\\frac`;
4. "million", "billion", "trillion" are powers of 10; units go: a trailing `\\text{ unit}`
   (Hendrycks: text after `\\text{ ` is a unit), or a trailing unit word of PRM800K's list
   (degree, cm, meter, mile, second, ..., inch, yard; plural, squared);
5. `x = 5` is `5` when the left side is one name of at most two characters;
6. plain numbers: thousands separators (`10,\\!080`, `10{,}080`, `10,080`) when the whole answer is
   one number, `25.0` and `025` are `25`, `.5` is `0.5`;
7. a mixed number `137 1/2` or `137 \\frac{1}{2}` is `137+\\frac{1}{2}`;
8. shorthand: `\\frac12` is `\\frac{1}{2}`, `\\sqrt3` is `\\sqrt{3}`.

`text_key` is the form compared as a string (no spaces, braces around single tokens kept, lower
case, as both graders fold case). What MATH's graders reject on purpose is not copied: an
unreduced fraction (`2/4` for `1/2`) or a decimal for an integer is left to math-verify.
"""

from __future__ import annotations

import re
from collections.abc import Callable

TEXT_WRAPPER = re.compile(r"^\\(?:text|textbf|textit|textrm|mathrm|mbox)\s*\{")
OPTION_LETTER = re.compile(r"^\(([A-Ea-e])\)$")
DEGREE_MARK = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
# PRM800K's unit words (plural and squared forms too); "\text{ unit}" covers the rest.
UNIT_WORDS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day",
              "week", "month", "year", "foot", "feet", "inch", "yard")
UNIT_TEXT = re.compile(r"\s*\\(?:text|mbox|mathrm)\s*\{\s+[^{}]*\}\s*(?:\^\s*\{?\d\}?)?$")
UNIT_WORD = re.compile(r"(?<=[\d}\s])\s*(?:" + "|".join(UNIT_WORDS) + r")(?:e?s)?\s*(?:\^\s*\{?\d\}?)?$")
NAMED_VALUE = re.compile(r"^[A-Za-z](?:_?[A-Za-z0-9])?\s*=\s*(?!.*=)(.+)$")
THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
SCALE_WORD = re.compile(r"\s*(?:\\(?:text|mbox|mathrm)\s*\{\s*)?(million|billion|trillion)\s*\}?$")
POWERS = {"million": 6, "billion": 9, "trillion": 12}
MIXED_LATEX = re.compile(r"^(-?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$")
MIXED_SLASH = re.compile(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
BASE_SUBSCRIPT = re.compile(r"\d\s*_\s*\{?\s*(\d+)\s*\}?")
UNIT_POWER = re.compile(r"(?:\\(?:text|mbox|mathrm)\s*\{\s+[^{}]*\}|(?:" + "|".join(UNIT_WORDS)
                        + r")(?:e?s)?)\s*\^\s*\{?(\d)")
LATEX_SPACE = re.compile(r"(?<!\\)\\(?:[ ,;:]|q?quad\b)|~")


def _strip_delimiters(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            text = text[len(left):-len(right)].strip()
    return text.replace("\\displaystyle", "").strip().rstrip(".").strip()


def _closing_brace(text: str, opening: int) -> int:
    """Index of the brace that closes the one at `opening`, or -1."""
    depth = 0
    for position in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return position
    return -1


def _unwrap_text(text: str) -> str:
    wrapper = TEXT_WRAPPER.match(text)
    if wrapper and _closing_brace(text, wrapper.end() - 1) == len(text) - 1:
        text = text[wrapper.end():-1].strip()
    letter = OPTION_LETTER.match(text)
    return letter.group(1).upper() if letter else text


def _drop_marks(text: str) -> str:
    for mark in ("\\left.", "\\right.", "\\left", "\\right", "\\!", "\\%", "%", "\\$", "$"):
        text = text.replace(mark, "")
    text = LATEX_SPACE.sub(" ", text)
    text = re.sub(r"\\text\{\s*\}", "", text)  # what `\text{\$}` leaves
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    return DEGREE_MARK.sub("", text).strip()


def _scale_word(text: str) -> str:
    return SCALE_WORD.sub(lambda m: f"\\cdot 10^{{{POWERS[m.group(1)]}}}", text)


def _drop_units(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = UNIT_TEXT.sub("", text).strip()
        text = UNIT_WORD.sub("", text).strip()
    return text or previous


def _drop_name(text: str) -> str:
    named = NAMED_VALUE.match(text)
    return named.group(1).strip() if named else text


def _plain_number(text: str) -> str:
    text = re.sub(r"(\d)\s*\{,\}\s*(?=\d{3})", r"\1,", text)
    if THOUSANDS.match(text.replace(" ", "")):
        text = text.replace(" ", "").replace(",", "")
    if re.fullmatch(r"-?\.\d+", text):
        text = text.replace(".", "0.", 1)
    if re.fullmatch(r"-?\d+\.0*", text):
        text = text.split(".")[0]
    return re.sub(r"^(-?)0+(\d)", r"\1\2", text) if re.fullmatch(r"-?\d+", text) else text


def _mixed_number(text: str) -> str:
    mixed = MIXED_LATEX.match(text) or MIXED_SLASH.match(text)
    if not mixed:
        return text
    sign, whole, numerator, denominator = mixed.groups()
    value = f"{whole}+\\frac{{{numerator}}}{{{denominator}}}"
    return f"-({value})" if sign else value


def _shorthand(text: str) -> str:
    text = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\d)", r"\\frac{\1}{\2}", text)
    return re.sub(r"\\sqrt\s*(\d+|[a-zA-Z])", r"\\sqrt{\1}", text)


REWRITES: tuple[Callable[[str], str], ...] = (
    _strip_delimiters, _unwrap_text, _drop_marks, _scale_word, _drop_units, _drop_name, _plain_number,
    _mixed_number, _shorthand,
)


def math_form(text: str) -> str:
    """`text` rewritten by every step of `REWRITES`, in order (see the module docstring).

    Examples:
        >>> math_form("\\\\$32,\\\\!348")
        '32348'
        >>> math_form("137 1/2")
        '137+\\\\frac{1}{2}'
        >>> math_form("\\\\text{(C)}")
        'C'
    """
    for rewrite in REWRITES:
        text = rewrite(text)
    return text


def text_key(form: str) -> str:
    """A `math_form` as compared by string: no whitespace, lower case."""
    return re.sub(r"\s+", "", form).lower()


def unread_marks(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What MATH's graders keep and math-verify drops: the number bases written as subscripts
    (`52_8`, `4210_{5}`) and the powers of units (`\\mbox{ inches}^2`), as written in `text`."""
    return tuple(BASE_SUBSCRIPT.findall(text)), tuple(UNIT_POWER.findall(text))
