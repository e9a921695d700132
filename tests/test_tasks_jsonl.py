"""A user's JSONL task (mta_probe/tasks/jsonl.py): loading, prompts, and one readable line per bad file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mta_probe.errors import BadInputError
from mta_probe.tasks import TaskOptions, load_task
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE, MATH_TEMPLATE
from mta_probe.verify import VERIFIERS

FIXTURES = Path(__file__).parent / "fixtures"


def test_jsonl_file_loads(verifiers: dict[str, Any]):
    task = load_task(str(FIXTURES / "user_math.jsonl"), options=TaskOptions(verifier="math"))
    assert (task.name, task.verifier) == ("user_math", "math")
    first, second, third = task.problems
    assert (first.id, second.id, third.id) == ("double", "2", "7")  # line 2; a blank line 3
    assert first.statement == "What is $2 \\times 21$?" and first.gold == "42"
    assert first.prompt == MATH_TEMPLATE.format(problem=first.statement)
    assert third.prompt == "Reply with the number seven in \\boxed{}." and third.gold == "7"
    assert load_task(str(FIXTURES / "user_math.jsonl"), limit=1,
                     options=TaskOptions(verifier="math")).problems == [first]


def test_jsonl_question_gets_the_answer_tag_instruction(tmp_path: Path, verifiers: dict[str, Any]):
    path = tmp_path / "logic.jsonl"
    path.write_text(json.dumps({"question": "Is 7 prime?", "answer": "yes", "num_choices": 2}) + "\n")
    (problem,) = load_task(str(path), options=TaskOptions(verifier="exact")).problems
    assert problem.prompt == ANSWER_TAG_TEMPLATE.format(question="Is 7 prime?")
    assert problem.num_choices == 2


@pytest.mark.parametrize("content, match", [
    (b"", "holds no problems"),
    (b"\n  \n", "holds no problems"),
    (b'{"question": "q", "answer": "a"}\n{"question": "q2", "answer": \n', "line 2: invalid JSON"),
    (b'{"question": "q", "answer": "a"}\n\xff\xfe\n', "line 2: not UTF-8"),
    (b'{"question": "q"}\n', 'line 1: needs an "answer"'),
    (b'{"answer": "a"}\n', 'line 1: needs a "question" or "prompt"'),
    (b'[1, 2]\n', "line 1: expected a JSON object"),
    (b'{"id": 1, "question": "q", "answer": "a"}\n{"id": "1", "question": "r", "answer": "b"}\n',
     "line 2: duplicate id '1'"),
    (b'{"question": "q", "answer": "a", "num_choices": 1}\n', "num_choices"),
])
def test_jsonl_errors_name_file_and_line(tmp_path: Path, content: bytes, match: str,
                                         verifiers: dict[str, Any]):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=match) as info:
        load_task(str(path), options=TaskOptions(verifier="exact"))
    assert "bad.jsonl" in str(info.value)


def test_jsonl_needs_a_known_verifier(verifiers: dict[str, Any]):
    path = str(FIXTURES / "user_math.jsonl")
    with pytest.raises(BadInputError, match="needs a verifier"):
        load_task(path)
    with pytest.raises(BadInputError, match="unknown verifier 'maths'"):
        load_task(path, options=TaskOptions(verifier="maths"))


def test_jsonl_missing_file(verifiers: dict[str, Any]):
    with pytest.raises(BadInputError, match="no such file"):
        load_task("does/not/exist.jsonl", options=TaskOptions(verifier="exact"))


@pytest.mark.parametrize("verifier, style", [(name, row.prompt) for name, row in VERIFIERS.items()])
def test_jsonl_question_is_asked_in_its_verifiers_prompt_style(tmp_path: Path, verifier: str, style: str):
    # The style comes from the verifier's row alone: math-lenient asks for \boxed{} like math (a
    # name test, `== "math"`, once gave it the <answer> instruction).
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "What is 3 + 4?", "answer": "7"}) + "\n")
    (problem,) = load_task(str(path), options=TaskOptions(verifier=verifier)).problems
    expected = {"boxed": "What is 3 + 4?\n\nPlease reason step by step, and put your final answer within \\boxed{}.",
                "answer-tag": ANSWER_TAG_TEMPLATE.format(question="What is 3 + 4?"),
                "verbatim": "What is 3 + 4?"}[style]
    assert problem.prompt == expected
    assert (verifier == "math-lenient") <= (style == "boxed")
