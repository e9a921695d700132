"""The task table and load_task (mta_probe/tasks/table.py): every task loads or says cleanly why it cannot, offline."""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any

import pytest
from hubstub import fake_hub

from mta_probe.errors import BadInputError, DataUnavailableError, UnknownTaskError
from mta_probe.tasks import TASKS, load_task
from mta_probe.tasks.gym import gym_names, load_gym


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_loads_or_is_unavailable_offline(name: str, monkeypatch: pytest.MonkeyPatch):
    for var in ("MTA_KOR_BENCH", "MTA_SYNLOGIC", "MTA_SYNLOGIC_CLONE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub(monkeypatch, error=ConnectionError("Couldn't reach 'huggingface.co'\nretrying"))
    try:
        task = load_task(name, limit=2)
    except DataUnavailableError as exc:
        message = str(exc)
        assert "\n" not in message
        assert ("HF_HUB_OFFLINE is set" in message) or ("git clone" in message)
    else:
        # the table tasks whose data ships with mta or its dependencies
        assert name in ("humaneval", "arith-quick", "capitals")
        assert len(task.problems) == 2


def test_the_probes_default_is_the_reproductions_green_task_shipped_in_the_package():
    """`capitals` is docs/reproduction/capitals-famous-test.jsonl, read from the package (so the
    numbers docs/reproduction.md measured on it hold for the default), with a one-line budget."""
    from pathlib import Path

    from mta_probe import PassKSettings, TaskOptions

    task = load_task("capitals")
    documented = load_task(str(Path(__file__).parents[1] / "docs/reproduction/capitals-famous-test.jsonl"),
                           options=TaskOptions(verifier="normalized")).problems
    assert PassKSettings().task == "capitals" and task.verifier == "normalized"
    assert [(p.id, p.prompt, p.gold) for p in task.problems] == [(p.id, p.prompt, p.gold) for p in documented]
    assert len(task.problems) == 20 and task.problems[0].gold == "Paris"
    assert TASKS["capitals"].max_tokens == 32 and TASKS["arith-quick"].max_tokens is None


def test_the_quick_default_is_ten_one_digit_sums():
    task = load_task("arith-quick")
    assert len(task.problems) == 10 and task.verifier == "gym"
    for problem in task.problems:
        terms = problem.meta["gym_entry"]["metadata"]["expression"].split(" ")
        assert len(terms) == 3 and all(len(t) == 1 for t in terms)


def test_table_rows_are_consistent(verifiers: dict[str, Any]):
    for key, task in TASKS.items():
        assert task.name == key
        assert task.verifier in verifiers
        assert task.source and task.description


def test_missing_datasets_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DataUnavailableError, match=r"pip install 'mta\[hub\]'"):
        load_task("math500")


@pytest.mark.parametrize("spec, suggestion", [("math50", "math500"), ("kor-operation", "kor-op"),
                                              ("nonsense", None)])
def test_unknown_task_is_one_readable_line(spec: str, suggestion: str | None):
    with pytest.raises(UnknownTaskError) as info:
        load_task(spec)
    message = str(info.value)
    assert "\n" not in message and "math500" in message and "gym:NAME" in message
    assert (f"did you mean {suggestion}" in message) if suggestion else ("did you mean" not in message)


@pytest.mark.parametrize("limit", [0, -3])
def test_limit_below_one_is_refused(limit: int):
    with pytest.raises(BadInputError, match="at least 1"):
        load_task("humaneval", limit=limit)


def test_limit_takes_the_first_problems():
    full = load_task("humaneval").problems
    assert load_task("humaneval", limit=5).problems == full[:5]


def test_every_gym_dataset_loads_with_defaults():
    for name in gym_names():
        if name == "composite":  # it mixes other datasets and needs them named
            with pytest.raises(BadInputError, match="rejected its configuration"):
                load_gym(name, {"size": "2"})
            continue
        problems, _ = load_gym(name, {"size": "2"})
        assert len(problems) == 2
        json.dumps([p.meta for p in problems])
        pickle.dumps(problems)
