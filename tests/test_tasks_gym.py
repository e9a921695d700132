"""reasoning-gym tasks (mta_probe/tasks/gym.py): generated offline, options parsed by their declared types."""

from __future__ import annotations

import json
import pickle
from typing import Any, Literal, Optional

import pytest
import reasoning_gym

from mta_probe.errors import BadInputError, UnknownTaskError
from mta_probe.tasks import TaskOptions, load_task
from mta_probe.tasks.gym import parse_option

CHAIN_SUM = {"min_terms": "2", "max_terms": "2", "min_digits": "1", "max_digits": "1", "size": "12",
             "seed": "3"}


def test_gym_chain_sum_golds_verify_with_reasoning_gym():
    task = load_task("gym:chain_sum", options=TaskOptions(gym=CHAIN_SUM))
    assert (task.name, task.verifier, len(task.problems)) == ("gym:chain_sum", "gym", 12)
    assert "chain_sum(size=12, seed=3, min_terms=2" in task.source
    score = reasoning_gym.get_score_answer_fn("chain_sum")
    for i, problem in enumerate(task.problems):
        entry = pickle.loads(pickle.dumps(problem)).meta["gym_entry"]  # as a worker receives it
        assert json.loads(json.dumps(problem.meta))  # and it survives JSON
        assert problem.id == f"chain_sum/3/{i}"
        left, op, right = entry["metadata"]["expression"].split()
        assert op in "+-" and 0 <= int(left) <= 9 and 0 <= int(right) <= 9
        assert problem.gold == str(int(left) + int(right) if op == "+" else int(left) - int(right))
        assert score(problem.gold, entry) == 1.0
        assert score(str(int(problem.gold) + 1), entry) < 1.0
        assert problem.statement == entry["question"] and problem.statement in problem.prompt
        assert "<answer>" in problem.prompt


def test_gym_limit_gives_the_same_first_problems():
    options = TaskOptions(gym={"size": "20"})
    limited = load_task("gym:basic_arithmetic", limit=5, options=options).problems
    assert limited == load_task("gym:basic_arithmetic", options=options).problems[:5]
    assert len(load_task("gym:basic_arithmetic").problems) == 50  # default size


def test_gym_entry_keeps_tuples_that_scorers_compare():
    # arc_agi compares the parsed board (a tuple of tuples) with metadata["output"]
    problem = load_task("gym:arc_agi", limit=1, options=TaskOptions(gym={"size": "2"})).problems[0]
    assert reasoning_gym.get_score_answer_fn("arc_agi")(problem.gold, problem.meta["gym_entry"]) == 1.0


@pytest.mark.parametrize("value, hint, expected", [
    ("2", int, 2),
    ("0.25", float, 0.25),
    ("false", bool, False),
    ("Yes", bool, True),
    ("none", Optional[int], None),
    ("7", Optional[int], 7),
    ("natural", Literal["simple", "natural"], "natural"),
    ("+,-", list[str], ["+", "-"]),
    ("+", tuple, ("+",)),
    ("1, 2", list[int], [1, 2]),
    (3, int, 3),  # typed values pass through
])
def test_gym_option_parsing(value: Any, hint: Any, expected: Any):
    parsed = parse_option("opt", value, hint)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize("value, hint", [("two", int), ("maybe", bool), ("fancy", Literal["a", "b"])])
def test_gym_bad_option_value(value: str, hint: Any):
    with pytest.raises(BadInputError, match="opt="):
        parse_option("opt", value, hint)


def test_gym_operators_option_reaches_the_generator():
    options = TaskOptions(gym={"operators": "*", "allow_parentheses": "false", "max_terms": "2"})
    for problem in load_task("gym:basic_arithmetic", limit=10, options=options).problems:
        assert "*" in problem.statement and "+" not in problem.statement.split(":")[-1]


def test_gym_unknown_dataset_lists_close_names():
    with pytest.raises(UnknownTaskError, match="did you mean gym:chain_sum"):
        load_task("gym:chain_sun")


def test_gym_unknown_option_lists_valid_ones():
    with pytest.raises(BadInputError, match=r"no option max_term;.*max_terms"):
        load_task("gym:chain_sum", options=TaskOptions(gym={"max_term": "2"}))
