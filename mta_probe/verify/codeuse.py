"""Does a completion reason with code? The indicator of Tables 8 and 9 of the paper.

Shao et al. observed that Qwen2.5 models reason by writing Python, and that rewards which remove
this habit change accuracy; the paper counts such completions before and after RL (Appendix E).
A completion counts as *using code* when any of these holds:

1. it has a fenced block (```) tagged with a programming language in `CODE_LANGUAGES`;
2. it has an untagged fenced block with at least one line that looks like code (`CODE_LINE`,
   or an assignment such as `x = f(3)`);
3. outside fences, at least two lines look like code (one line such as "for x in S:" can be prose).

What is not counted: LaTeX and plain arithmetic, pseudo-code in prose, and code in a language
whose lines `CODE_LINE` does not recognise unless it is fenced and tagged. On code tasks
(HumanEval) every answer is code, so the share says nothing there; it is still reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CODE_LANGUAGES = frozenset({"python", "py", "python3", "cpp", "c++", "c", "java", "javascript", "js",
                            "typescript", "ts", "go", "rust", "ruby", "bash", "sh", "sql", "r", "julia"})

FENCE = re.compile(r"```[ \t]*([\w+#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
CODE_LINE = re.compile(
    r"^\s*(def \w+\s*\(|class \w+[(:]|import \w+|from [\w.]+ import |print\(|return\b|"
    r"for \w+(, *\w+)* in .+:\s*$|while .+:\s*$|if .+:\s*$|elif .+:\s*$|else:\s*$)"
)
# Only inside an untagged fence: in prose, "x = 5" is algebra, not code.
ASSIGNMENT = re.compile(r"^\s*\w+(\[.*\])? *[+\-*/]?= *\S")


def _looks_like_code(lines: Iterable[str], *, fenced: bool = False) -> int:
    return sum(1 for line in lines if CODE_LINE.match(line) or (fenced and ASSIGNMENT.match(line)))


def uses_code(completion: str) -> bool:
    """True when the completion reasons with code, by the three rules of the module docstring.

    Examples:
        >>> uses_code("```python\\nprint(2 + 3)\\n```")
        True
        >>> uses_code("We add 2 and 3 to get 5.")
        False
    """
    outside = FENCE.sub("\n", completion)
    for language, body in FENCE.findall(completion):
        if language.lower() in CODE_LANGUAGES:
            return True
        if not language and _looks_like_code(body.splitlines(), fenced=True) >= 1:
            return True
    return _looks_like_code(outside.splitlines()) >= 2


def code_usage(completions: Iterable[str]) -> float | None:
    """The share of completions that use code; None for no completions."""
    flags = [uses_code(c) for c in completions]
    return sum(flags) / len(flags) if flags else None
