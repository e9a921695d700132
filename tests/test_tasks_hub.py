"""Hub access (mta_probe/tasks/hub.py): each loader reads the split it names."""

from __future__ import annotations

import pytest
from hubstub import fake_hub

from mta_probe.tasks import load_task


def test_hub_loaders_read_the_right_splits(monkeypatch: pytest.MonkeyPatch):
    calls = fake_hub(monkeypatch, rows={
        ("HuggingFaceH4/MATH-500", None): [{"problem": "p", "answer": "1", "unique_id": "u"}],
        ("HuggingFaceH4/aime_2024", None): [{"id": 1, "problem": "p", "answer": "1"}],
        ("math-ai/amc23", None): [{"question": "p", "answer": 2.5}]})
    assert load_task("amc23").problems[0].id == "0" and load_task("amc23").problems[0].gold == "2.5"
    load_task("math500")
    load_task("aime24")
    assert set(calls) == {("math-ai/amc23", None, "test", None),
                          ("HuggingFaceH4/MATH-500", None, "test", None),
                          ("HuggingFaceH4/aime_2024", None, "train", None)}
