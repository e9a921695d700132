"""JSON Lines files: reading them line by line, and a user's own problems as a task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.problem import Problem
from mta_probe.tasks.prompts import QUESTION_TEMPLATES
from mta_probe.verify import VERIFIERS, get_verifier


def read_jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; BadInputError names the file and line."""
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}") from exc
    rows = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{path}, line {number}: not UTF-8 text") from exc
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}, line {number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise BadInputError(f"{path}, line {number}: expected a JSON object")
        rows.append((number, obj))
    return rows


def jsonl_verifier(path: Path, verifier: str | None) -> str:
    """The verifier a JSONL task names (BadInputError when none or an unknown one)."""
    if verifier is None:
        raise BadInputError(f"{path}: a JSONL task needs a verifier (--verifier), one of "
                            f"{', '.join(VERIFIERS)}")
    get_verifier(verifier)
    return verifier


def jsonl_problems(path: Path, verifier: str) -> list[Problem]:
    """Problems from a user JSONL file.

    Each line holds "question" (the bare problem; the prompt adds the verifier's answer
    instruction) or "prompt" (sent verbatim), "answer" (text or number), and optionally "id",
    "num_choices" (int) and "meta" (object, e.g. {"tests": [...]} for code-io). Ids default to the
    line number. A "question" is asked in its verifier's prompt style (`Verifier.prompt`: the
    math verifiers ask for \\boxed{}, the code ones send it verbatim, the rest ask for <answer>).

    Args:
        path: the file.
        verifier: the verifier name, which picks the answer instruction for "question" lines.

    Returns:
        One Problem per non-blank line, in file order.
    """
    if not path.is_file():
        raise BadInputError(f"no such file: {path}")
    rows = read_jsonl_objects(path)
    if not rows:
        raise BadInputError(f"{path} holds no problems")
    asked = QUESTION_TEMPLATES[get_verifier(verifier).prompt]  # how a "question" line is put
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, row in rows:
        problem = _jsonl_problem(path, number, row, asked)
        if problem.id in seen:
            raise BadInputError(f"{path}, line {number}: duplicate id {problem.id!r}")
        seen.add(problem.id)
        problems.append(problem)
    return problems


def _jsonl_problem(path: Path, number: int, row: dict[str, Any], asked: str) -> Problem:
    where = f"{path}, line {number}"
    text = row.get("question", row.get("prompt"))
    if not isinstance(text, str) or not text.strip():
        raise BadInputError(f"{where}: needs a \"question\" or \"prompt\" string")
    answer = row.get("answer")
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise BadInputError(f"{where}: needs an \"answer\" (text or number)")
    num_choices, meta = row.get("num_choices"), row.get("meta", {})
    if num_choices is not None and (type(num_choices) is not int or num_choices < 2):
        raise BadInputError(f"{where}: \"num_choices\" must be an integer of at least 2")
    if not isinstance(meta, dict):
        raise BadInputError(f"{where}: \"meta\" must be an object")
    prompt = (asked if "question" in row else QUESTION_TEMPLATES["verbatim"]).format(question=text)
    return Problem(id=str(row.get("id", number)), prompt=prompt, statement=text,
                   gold=str(answer), num_choices=num_choices, meta=meta)
