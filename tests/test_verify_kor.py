"""The KOR-Bench verifier (mta_probe/verify/kor.py)."""

from __future__ import annotations

import pytest
from problems import problem

from mta_probe.verify import verify_one


@pytest.mark.parametrize(("gold", "completion", "correct"), [
    ("[[1,2]]", "so [[1, 2]]", True),
    ("HELLO", "<answer>[[hello]]</answer>", True),
    ("[[ABD]]", "[[ABC]]", False),
    ("5", "the answer is 5", False),  # KOR requires the [[ ]] form
])
def test_kor(gold: str, completion: str, correct: bool) -> None:
    assert verify_one("kor", completion, problem(gold)).correct is correct
