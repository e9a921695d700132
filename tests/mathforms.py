"""Answer forms a model really writes for a competition-math gold, and wrong answers near it.

Used by tests/test_verify_competition_math.py and bench/math_grader.py to compare mta's "math"
verifier with MATH's own `grade_answer` (openai/prm800k `prm800k/grading/grader.py`), loaded at
test time from a clone (`MTA_PRM800K_CLONE`, else shared/scorers/prm800k: tests/benchdata.py). The forms are rewritings a model makes of the
same answer (`\\dfrac`, spacing, `$`, `\\text{}`, units, degrees, mixed numbers, thousands
separators, `x = `, decimals, leading zeros, a trailing period, ...); which of them count as right
is the official grader's call, not this module's. The wrong answers change the value (a digit, a
sign, an option letter, a dropped element) so that no grader should accept them.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from benchdata import scorer_clone

FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
ATOMIC_FRAC = re.compile(r"\\[dt]?frac\s*\{(\d+|\\?[a-z]+)\}\s*\{(\d+|\\?[a-z]+)\}")
INTEGER = re.compile(r"^-?\d+$")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
PLAIN_FRACTION = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
MIXED = re.compile(r"^(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$")
DEGREES = re.compile(r"^(.*?)\^\\circ$")
TEXT_GOLD = re.compile(r"^\\text\{(.+)\}$")
UNITS = re.compile(r"^(.*?)\s*\\(?:text|mbox)\{\s*([a-z ]+)\}(\^2)?$")


def grader_clone() -> Path:
    """The `prm800k` folder of a prm800k clone: MTA_PRM800K_CLONE (the clone's root or that
    folder), else shared/scorers/prm800k; skips the calling test when the grader is not there."""
    root = scorer_clone("MTA_PRM800K_CLONE", "prm800k", "prm800k/grading/grader.py",
                        "grading/grader.py")
    return root / "prm800k" if (root / "prm800k" / "grading").is_dir() else root


def official_grader(folder: Path) -> Callable[[str, str], bool]:
    """PRM800K's `grade_answer(given, gold)`, imported from the clone (its package is `grading`)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import warnings

    with warnings.catch_warnings():  # the grader's regexes are not raw strings
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("grading.grader").grade_answer


def _fraction_value(gold: str) -> Fraction | None:
    match = PLAIN_FRACTION.match(gold.replace(" ", ""))
    if match:
        sign = -1 if match.group(1) else 1
        return sign * Fraction(int(match.group(2)), int(match.group(3)))
    return None


def _decimal(value: Fraction) -> str | None:
    """The exact decimal of a fraction whose denominator has only the factors 2 and 5."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return None
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text


def _symbolic_forms(gold: str) -> list[str]:
    """Rewritings of a LaTeX expression: slashes for fractions, other matrix and interval
    spellings, reordered sums, radicals and pi written differently, LaTeX spacing."""
    forms = [FRAC.sub(r"(\1)/(\2)", gold), ATOMIC_FRAC.sub(r"\1/\2", gold),
             gold.replace("\\pi", " \\pi").replace("  ", " "), gold.replace("\\,", ""),
             gold.replace("pmatrix", "bmatrix"), gold.replace(",", ",\\ "),
             gold.replace("\\infty", "+\\infty") if "-\\infty" not in gold else gold,
             re.sub(r"\\sqrt\{(\w)\}", r"\\sqrt \1", gold)]
    radical = re.fullmatch(r"\\frac\{(\d*)\s*(\\sqrt\{\d+\})\}\{(\d+)\}", gold)
    if radical:
        forms.append(f"\\frac{{{radical.group(1) or 1}}}{{{radical.group(3)}}}{radical.group(2)}")
    terms = re.fullmatch(r"([^+\-\s]+)\s*([+-])\s*([^+\-\s]+)", gold)
    if terms and "," not in gold:
        first, sign, second = terms.groups()
        forms.append(f"{second} + {first}" if sign == "+" else f"-{second} + {first}")
    pm = re.fullmatch(r"(.+?)\s*\\pm\s*(.+)", gold)
    if pm:
        forms.append(f"{pm.group(1)}\\pm{pm.group(2)}")
    return forms


def _number_forms(gold: str) -> list[str]:
    forms = []
    if INTEGER.match(gold):
        value = int(gold)
        forms += [str(value), f"{value}.0"]
        if abs(value) >= 1000:
            forms += [f"{value:,}", f"{value:,}".replace(",", "{,}"), f"{value:,}".replace(",", ",\\!")]
        if gold.startswith("0") and len(gold) > 1:
            forms.append(gold)  # AIME's leading zeros, kept
        elif 0 <= value < 100:
            forms.append(f"{value:03d}")  # AIME's three-digit convention
    elif re.fullmatch(r"-?\d*\.\d+", gold):
        forms += [gold.lstrip("0") or gold, ("0" + gold) if gold.startswith(".") else gold]
    return forms


def _fraction_forms(gold: str) -> list[str]:
    value = _fraction_value(gold)
    mixed = MIXED.match(gold)
    if mixed:
        whole, num, den = (int(g) for g in mixed.groups())
        value = Fraction(whole * den + num, den)
        forms = [f"{whole}\\frac{{{num}}}{{{den}}}", f"{whole} {num}/{den}",
                 f"{whole}\\tfrac{{{num}}}{{{den}}}"]
    elif value is not None:
        forms = []
    else:
        return []
    sign = "-" if value < 0 else ""
    a, b = abs(value.numerator), value.denominator
    forms += [f"{sign}\\frac{{{a}}}{{{b}}}", f"{sign}\\dfrac{{{a}}}{{{b}}}", f"{sign}{a}/{b}",
              f"\\frac{{{sign}{a}}}{{{b}}}"]
    decimal = _decimal(value)
    if decimal is not None:
        forms.append(decimal)
    return forms


def _latex_forms(gold: str) -> list[str]:
    forms = [gold, gold.replace("\\frac", "\\dfrac"), gold.replace(" ", ""),
             re.sub(r"\s*([+\-=,])\s*", r" \1 ", gold).strip(),
             FRAC.sub(r"\\frac{\1}{\2}", re.sub(r"\\frac\s*(\d)(\d)", r"\\frac{\1}{\2}", gold)),
             gold.replace("\\left", "").replace("\\right", ""),
             re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", gold), f"{gold}."]
    if gold.startswith("(") and "\\left" not in gold and gold.endswith((")", "]")):
        forms.append(f"\\left{gold[0]}{gold[1:-1]}\\right{gold[-1]}")
    if "=" not in gold and "," not in gold and not gold.startswith("\\text"):
        forms.append(f"x = {gold}")
    equation = re.match(r"^([a-z])\s*=\s*(.+)$", gold)
    if equation:
        forms.append(equation.group(2))
    return forms


def _decorated_forms(gold: str) -> list[str]:
    forms = []
    degrees = DEGREES.match(gold)
    if degrees:
        x = degrees.group(1)
        forms += [x, f"{x}^{{\\circ}}", f"{x}°", f"{x} degrees", f"{x}^\\circ."]
    text = TEXT_GOLD.match(gold)
    if text:
        inner = text.group(1)
        forms += [inner, inner.lower(), f"\\textbf{{{inner}}}", f"\\mathrm{{{inner}}}"]
        letter = re.fullmatch(r"\(([A-E])\)", inner)
        if letter:
            forms += [letter.group(1), f"\\text{{{letter.group(1)}}}", f"\\textbf{{({letter.group(1)})}}"]
    if gold.startswith("\\$"):
        amount = gold[2:]
        plain = amount.replace(",\\!", ",")
        forms += [amount, plain, f"\\${plain}", f"\\text{{\\$}}{amount}", f"{plain} dollars"]
        if amount.endswith("0") and "." in amount:
            forms.append(amount.rstrip("0"))
    units = UNITS.match(gold)
    if units:
        x, unit, square = units.group(1), units.group(2).strip(), units.group(3) or ""
        forms += [x, f"{x} \\text{{ {unit}}}{square}", f"{x}\\text{{ {unit}}}{square}"]
    if gold.endswith("\\%"):
        forms += [gold[:-2], f"{gold[:-2]}%"]
    return forms


def _unit_forms(gold: str) -> list[str]:
    """A number answer with a unit or currency a model adds (grade_answer removes units)."""
    if not (INTEGER.match(gold) or re.fullmatch(r"\d*\.\d+", gold)):
        return []
    return [f"{gold} \\text{{ cm}}", f"{gold}\\text{{ inches}}", f"{gold} \\text{{ degrees}}",
            f"\\${gold}", f"{gold}^\\circ", f"{gold}\\%"]


def answer_forms(gold: str) -> list[str]:
    """Distinct realistic ways to write the answer `gold` (the gold itself first)."""
    gold = gold.strip()
    forms = [gold]
    for make in (_latex_forms, _symbolic_forms, _number_forms, _fraction_forms, _decorated_forms, _unit_forms):
        forms += make(gold)
    seen: dict[str, None] = {}
    for form in forms:
        if form.strip():
            seen.setdefault(form.strip(), None)
    return list(seen)


def _bump_number(gold: str, which: int) -> str | None:
    """`gold` with its first (0) or last (-1) number increased by one."""
    numbers = list(NUMBER.finditer(gold))
    if not numbers:
        return None
    chosen = numbers[which]
    text = chosen.group(0)
    bumped = str(int(text) + 1) if re.fullmatch(r"-?\d+", text) else f"{float(text) + 1:g}"
    return gold[: chosen.start()] + bumped + gold[chosen.end():]


def wrong_answers(gold: str) -> list[str]:
    """Answers near `gold` that change its value: its first or last number + 1, a sign, a swapped fraction, a
    different option letter, a dropped element; None of them equals the gold."""
    gold = gold.strip()
    wrong = [_bump_number(gold, 0), _bump_number(gold, -1)]
    if gold.startswith("-"):
        wrong.append(gold[1:])
    elif not gold.startswith(("(", "\\left", "\\begin", "\\text", "\\{", "x", "y")):
        wrong.append(f"-{gold}")
    frac = FRAC.search(gold)
    if frac and frac.group(1) != frac.group(2):
        wrong.append(gold[: frac.start()] + f"\\frac{{{frac.group(2)}}}{{{frac.group(1)}}}" + gold[frac.end():])
    letter = re.search(r"\(([A-E])\)", gold)
    if letter:
        other = "B" if letter.group(1) == "A" else "A"
        wrong.append(gold.replace(f"({letter.group(1)})", f"({other})"))
    if "," in gold and gold.startswith("("):
        wrong.append(gold.split(",")[0] + ")")
    text = TEXT_GOLD.match(gold)
    if text and not letter:
        wrong.append(f"\\text{{not {text.group(1)}}}")
    seen = dict.fromkeys(w for w in wrong if w and w.strip() and w.strip() != gold)
    return list(seen)


def completions(form: str) -> dict[str, str]:
    """The completions a model writes around an answer: boxed (the prompt's format) and phrased."""
    return {"boxed": f"We compute step by step.\n\nSo the final answer is $\\boxed{{{form}}}$.",
            "phrase": f"We compute step by step.\nThe answer is ${form}$."}
