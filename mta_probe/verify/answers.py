"""Pulling the final answer out of a completion.

`extract_answer` tries, in this order, and returns the first hit:

1. the text of the FIRST `<answer>...</answer>` (multi-line: the paper's regex lacked DOTALL,
   so any answer spanning lines scored 0, defect 4 in docs/train.md);
2. the contents of the LAST non-empty `\\boxed{...}` (braces balanced, so `\\boxed{\\frac{1}{2}}`
   works; an echoed instruction's empty `\\boxed{}` is skipped);
3. the rest of the line after the LAST answer phrase ("answer is", "Answer:", "final answer to
   this problem is", in markdown emphasis or not: `**Final Answer:** 7`), so that in "Answer:
   The answer is 7" the second phrase counts; a trailing period, emphasis around the value
   (`**7**`) and `$...$` around a plain value (`$7$`, not `$\\frac{1}{2}$`) are removed;
4. only when the caller asks (`numeric_fallback=True`): the last number in the text.

Task-specific extractors sit beside it: `extract_choice` (a multiple-choice letter); KOR-Bench's
`[[...]]` is read by `mta_probe.verify.kor.kor_answer`, as KOR reads it. `has_format` is the paper's reward format check.
"""

from __future__ import annotations

import re

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
# SynLogic's format, which the paper uses (its Appendix): think block, then answer block, nothing
# else. DOTALL so that multi-line reasoning is accepted.
THINK_ANSWER_FORMAT = re.compile(r"^\s*<think>.*?</think>\s*<answer>.*?</answer>\s*$", re.DOTALL)
# "answer is", "Answer:", "answer to this problem is": the gap before "is" stays within one
# clause (no line break, colon or sentence end; a decimal point is allowed) and 80 characters.
# Markdown emphasis may wrap the phrase ("**Final Answer:**", "**Answer**:").
ANSWER_LEAD = re.compile(r"\banswer[*_]*(?:[ \t]+(?:to|for|of|in)\b(?:[^\n.:]|\.(?=\d)){0,80}?)?"
                         r"(?:\s+is\b|[ \t]*[*_]*[ \t]*:)(?:[*_]+(?=\s))?", re.IGNORECASE)
AFTER_LEAD = re.compile(r"\s*:?\s*(.*)")
# BBH's reading (mta_probe.verify.bigbench), kept as its scorer comparison measured it: the rest
# of the line after "answer is" / "answer:".
ANSWER_PHRASE = re.compile(r"(?:answer\s+is|answer\s*:)\s*:?\s*(.*)", re.IGNORECASE)
# `$7$`, `$$-3.5$$`: math delimiters around a value with no LaTeX in it.
PLAIN_MATH = re.compile(r"^\$\$?([^$\\{}^_]+)\$\$?$")
EMPHASIS = re.compile(r"^(\*{1,3}|_{1,3})(.+?)\1$")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
BOX_COMMANDS = ("\\boxed", "\\fbox")

# Multiple-choice patterns, strongest first; each captures one capital letter.
CHOICE_PATTERNS = (
    re.compile(r"(?i:answer\s*(?:is|:))\s*:?\s*\**\(?([A-Z])\b"),
    re.compile(r"\(([A-Z])\)"),
    re.compile(r"^\s*\**([A-Z])[.):]", re.MULTILINE),
    re.compile(r"^\s*\**([A-Z])\**\s*$", re.MULTILINE),
)


def extract_answer(completion: str, *, numeric_fallback: bool = False) -> str | None:
    """The final answer of a completion, by the documented order (see the module docstring).

    Args:
        completion: the model's text.
        numeric_fallback: when nothing else matches, return the last number in the text.

    Returns:
        The stripped answer text, or None when nothing could be found.

    Examples:
        >>> extract_answer("<think>\\nx=1\\n</think><answer>\\n42\\n</answer>")
        '42'
        >>> extract_answer("so \\\\boxed{\\\\frac{1}{2}}.")
        '\\\\frac{1}{2}'
    """
    tagged = ANSWER_TAG.search(completion)
    if tagged:
        return tagged.group(1).strip()
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed.strip()
    phrased = _after_answer_phrase(completion)
    if phrased:
        return phrased
    if numeric_fallback:
        return last_number(completion)
    return None


def last_boxed(text: str) -> str | None:
    """Contents of the last non-empty `\\boxed{...}` (or `\\fbox{...}`), braces balanced.

    Empty boxes are skipped: a model that echoes the instruction "within \\boxed{}." after its
    answer has still answered. When every box is empty, the empty text is returned.

    Args:
        text: where to look.

    Returns:
        The text between the braces, or None (no box, or the last one never closed).
    """
    end, empty = len(text), None
    while (start := max(text.rfind(command + "{", 0, end) for command in BOX_COMMANDS)) >= 0:
        contents = _braced(text, text.index("{", start))
        if contents is None:  # a box left open ends the search, as before any empty box
            return empty
        if contents.strip():
            return contents
        empty, end = contents, start
    return empty


def _braced(text: str, opening: int) -> str | None:
    """The text inside the brace at `opening` and its balanced partner; None if never closed."""
    depth = 0
    for position in range(opening, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[opening + 1 : position]
    return None


def _after_answer_phrase(text: str) -> str | None:
    """What the last answer phrase states; None when there is none or it states nothing."""
    last = None
    for last in ANSWER_LEAD.finditer(text):  # only the last one is read: clean only it
        pass
    return (_stated(text, last) or None) if last else None


def phrased_answers(text: str) -> list[str]:
    """What each answer phrase of `text` states, in order ("" where the line ends with it).

    The value runs to the end of its line, so when one line has two phrases the first one's
    value holds the second; the second's is what `extract_answer` reads.

    Args:
        text: where to look.

    Returns:
        One value per phrase (rule 3 of the module docstring), trailing period, emphasis and
        plain `$...$` removed.
    """
    return [_stated(text, lead) for lead in ANSWER_LEAD.finditer(text)]


def _stated(text: str, lead: re.Match[str]) -> str:
    """The value the answer phrase `lead` of `text` states, as written."""
    return _as_written(AFTER_LEAD.match(text, lead.end()).group(1))


def _as_written(rest: str) -> str:
    """The value in what follows an answer phrase: a trailing period, markdown emphasis and
    `$...$` around a plain value removed, until none is left."""
    previous = None
    while previous != rest:
        previous = rest
        rest = rest.strip().rstrip(".").strip()
        if rest.startswith(("*", "_")) or rest.endswith(("*", "_")):
            # bold or italic around the value, or a bold sentence's closing `**` ("**The answer
            # is 7.**"); asterisks at a value's ends are markdown, unless they are all it holds
            rest = EMPHASIS.sub(r"\2", rest)
            rest = rest.strip("*") or rest
        rest = PLAIN_MATH.sub(r"\1", rest)
    return rest


def last_number(text: str) -> str | None:
    """The last number in `text` (integers, decimals, `a/b`), thousands commas removed.

    Args:
        text: where to look.

    Returns:
        The number as written (without commas), or None when there is none.
    """
    numbers = NUMBER.findall(text)
    if not numbers:
        return None
    return numbers[-1].replace(",", "")


def extract_choice(completion: str, letters: str = "ABCDEFGHIJ") -> str | None:
    """A multiple-choice letter: `(B)`, `B.`, `answer is B`, a lone `B` on a line, ...

    Looks in the extracted answer first (an `<answer>` block, a box, an 'answer is' line), then
    in the last non-empty line only: option lists earlier in the text ("A. 5 / B. 6") would
    otherwise pass for answers. Within one text the strongest pattern wins and, among its
    matches, the last one.

    Args:
        completion: the model's text.
        letters: the valid letters, in option order.

    Returns:
        The upper-case letter, or None when none of `letters` is found.
    """
    answer = extract_answer(completion)
    lines = [line for line in completion.splitlines() if line.strip()]
    for region in (answer, lines[-1] if lines else None):
        if not region:
            continue
        if len(region.strip()) == 1 and region.strip().upper() in letters:
            return region.strip().upper()
        for pattern in CHOICE_PATTERNS:
            hits = [hit.upper() for hit in pattern.findall(region) if hit.upper() in letters]
            if hits:
                return hits[-1]
    return None


def has_format(completion: str) -> bool:
    """The paper's format check: `<think>...</think><answer>...</answer>` and nothing else.

    Unlike the paper's code, a `<think>` block spanning several lines passes.

    Args:
        completion: the model's text.

    Returns:
        True when the completion has exactly that shape (surrounding whitespace allowed).
    """
    return THINK_ANSWER_FORMAT.match(completion) is not None


FENCED_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
CODE_LANGUAGES = ("", "python", "py", "python3")


def extract_code(completion: str, entry_point: str | None = None) -> str | None:
    """The Python code in a completion's fenced blocks (```python ... ```).

    Among the Python (or untagged) blocks, the last one that defines `entry_point` wins, else
    the longest. A final block left open (the completion hit its token limit) counts too.

    Args:
        completion: the model's text.
        entry_point: a function name the preferred block defines, if any.

    Returns:
        The block's code, or None when there is no fenced block.
    """
    blocks = [code for language, code in FENCED_BLOCK.findall(completion)
              if language.lower() in CODE_LANGUAGES]
    if completion.count("```") % 2 == 1:
        tail = completion[completion.rfind("```") + 3 :]
        language, _, code = tail.partition("\n")
        if language.strip().lower() in CODE_LANGUAGES:
            blocks.append(code)
    if not blocks:
        return None
    if entry_point:
        defining = [code for code in blocks if defines(code, entry_point)]
        if defining:
            return defining[-1]
    return max(blocks, key=len)


def defines(code: str, name: str) -> bool:
    """Whether `code` has a top-level or nested `def name(`.

    Args:
        code: Python source.
        name: the function name.

    Returns:
        True when a definition of `name` appears.
    """
    pattern = rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\("
    return re.search(pattern, code, re.MULTILINE) is not None
