"""The reasoning-gym verifier (mta_probe/verify/gym.py): each dataset's own scorer."""

from __future__ import annotations

import pytest
import reasoning_gym
from problems import problem

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem
from mta_probe.verify import Verdict, verify_one


def _gym_problems() -> list[Problem]:
    entries = list(reasoning_gym.create_dataset("chain_sum", size=5, seed=1))
    return [problem(entry["answer"], gym_entry=entry) for entry in entries]


@pytest.mark.parametrize("problem", _gym_problems(), ids=lambda p: p.gold)
def test_gym_chain_sum(problem: Problem) -> None:
    entry = problem.meta["gym_entry"]
    score = reasoning_gym.get_score_answer_fn("chain_sum")
    right, wrong = entry["answer"], str(int(entry["answer"]) + 1)
    assert verify_one("gym", f"<answer>{right}</answer>", problem) == Verdict(True, right)
    assert verify_one("gym", f"<answer>{wrong}</answer>", problem) == Verdict(False, wrong)
    assert not verify_one("gym", f"The sum is {right}", problem).correct  # no marked answer
    assert verify_one("gym-lenient", f"The sum is {right}", problem).correct  # numeric fallback
    assert score(right, entry) == 1.0 and score(wrong, entry) < 1.0  # the peer agrees


def test_gym_requires_an_entry() -> None:
    with pytest.raises(BadInputError):
        verify_one("gym", "<answer>1</answer>", problem("1"))
