"""Answer extraction (mta_probe/verify/answers.py): tags, boxes, phrases, choices, brackets, code blocks."""

from __future__ import annotations

import pytest

from mta_probe.verify import extract_answer, has_format
from mta_probe.verify.answers import extract_choice, extract_code

MULTILINE = "<think>\nStep 1: 2+2.\nStep 2: so four.\n</think>\n<answer>\n4\n</answer>"


@pytest.mark.parametrize(("completion", "numeric", "expected"), [
    # the FIRST <answer>, across lines (the paper's regex lacked DOTALL)
    (MULTILINE, False, "4"),
    ("<answer>1</answer> then <answer>2</answer>", False, "1"),
    # the LAST \boxed, braces balanced
    ("\\boxed{1} no, \\boxed{\\frac{1}{2}}", False, "\\frac{1}{2}"),
    ("\\boxed{\\frac{1}{2}", False, None),  # never closed
    # an echoed instruction's empty box is skipped; only empty boxes give the empty text
    ("so \\boxed{5}. Put your final answer within \\boxed{}.", False, "5"),
    ("put your final answer within \\boxed{}.", False, ""),
    # 'answer is' / 'Answer:' then the rest of that line
    ("I think the answer is 42.\nDone", False, "42"),
    ("Answer: Paris", False, "Paris"),
    # last number only on request
    ("It costs 1,234 dollars, not 12", True, "12"),
    ("we get 3/4 in the end", True, "3/4"),
    ("no digits here", True, None),
    ("It is 7", False, None),
])
def test_extract_answer(completion: str, numeric: bool, expected: str | None) -> None:
    assert extract_answer(completion, numeric_fallback=numeric) == expected


@pytest.mark.parametrize(("completion", "expected"), [
    (MULTILINE, True),
    ("<think>a</think><answer>b</answer>", True),
    ("<answer>b</answer>", False),
    ("<think>a</think><answer>b</answer> trailing text", False),
    ("<think>a\n</think>", False),
])
def test_has_format(completion: str, expected: bool) -> None:
    assert has_format(completion) is expected


@pytest.mark.parametrize(("completion", "expected"), [
    ("The answer is (B).", "B"),
    ("Answer: C", "C"),
    ("<answer>D</answer>", "D"),
    ("<answer>(A) 12 apples</answer>", "A"),
    ("Options: (A) 1 (B) 2\nI pick (C)", "C"),
    ("A. 5\nB. 6\nI am not sure", None),  # an option list is not an answer
    ("the answer is a mystery", None),  # lower-case 'a' is a word, not option A
])
def test_extract_choice(completion: str, expected: str | None) -> None:
    assert extract_choice(completion, "ABCD") == expected


def test_extract_code_prefers_block_defining_entry_point() -> None:
    text = ("```python\ndef helper():\n    return 1\n```\n"
            "```python\ndef f(x):\n    return x\n```\n```\nx\n```")
    assert extract_code(text, "f") == "def f(x):\n    return x\n"
    assert extract_code("```python\ndef f(x):\n    return x", "f") == "def f(x):\n    return x"
    assert extract_code("no fence", "f") is None
