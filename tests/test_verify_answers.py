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


# Answers as instruction-tuned models write them (issue 23: the first four were read as no
# answer, "The answer is 1", "** 7" and "$7$"), and the near misses that must stay what they were.
@pytest.mark.parametrize(("completion", "expected"), [
    # "final answer ... is X": a phrase between "answer" and "is", within one clause
    ("The final answer to this arithmetic problem is 1.", "1"),
    ("So the answer to the question is Madrid.", "Madrid"),
    ("The answer for Japan is Tokyo.", "Tokyo"),
    ("the answer to 3.5 + 1 is 4.5.", "4.5"),  # a decimal point does not end the clause
    ("The answer depends on x. It is 5.", None),  # "is" in another sentence
    ("The answer, after all this, is 5.", None),  # not "answer to/for/of/in ..."
    # "answer: The answer is X": the phrase said twice, across a line break or not
    ("...think about the final answer: \nThe answer is 1.", "1"),
    ("Answer: The answer is 7", "7"),
    ("Final Answer:\n7", "7"),
    # markdown emphasis around the phrase or the value
    ("**Final Answer:** 7", "7"),
    ("**Final Answer**: 7", "7"),
    ("The **answer is** 7", "7"),
    ("The answer is **7**.", "7"),
    ("**The answer is 7.**", "7"),
    ("Answer: *Paris*", "Paris"),
    ("the answer is a*b", "a*b"),  # inside a value, `*` stays
    ("The answer is *", "*"),
    # `$...$` around a plain value; LaTeX inside keeps its delimiters (the math verifier reads it)
    ("The answer is $7$.", "7"),
    ("The final answer is: $$-4$$", "-4"),
    ("The answer is $\\frac{1}{2}$.", "$\\frac{1}{2}$"),
    ("The answer is $x^2$.", "$x^2$"),
    # the last phrase still wins, and tags and boxes still come first
    ("The answer is 3. No wait, the answer is 4.", "4"),
    ("<answer>$7$</answer> The answer is 8.", "$7$"),
    ("\\boxed{5}. **Final Answer:** 6", "5"),
])
def test_extract_answer_reads_answers_as_written(completion: str, expected: str | None) -> None:
    assert extract_answer(completion) == expected


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
