"""What a local step logs: entropy over the trained batch (verl's actor/entropy), vote
statistics, and one history record per problem however often it was drawn."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from mta_probe.tasks import Problem
from mta_train.local import history_records
from mta_train.reward import Reward
from mta_train.step_metrics import step_record, trained_entropy, vote_metrics


@dataclass
class FakeGroup:
    problem: Problem
    rewards: list[Reward]
    entropies: list[torch.Tensor]

    @property
    def sequences(self):
        return [type("S", (), {"response_ids": tuple(range(len(e)))})() for e in self.entropies]

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.rewards]


def group(pid: str, scores: list[float], entropies: list[list[float]], **extra: float) -> FakeGroup:
    problem = Problem(id=pid, prompt="p", statement="s", gold="g")
    return FakeGroup(problem, [Reward(s, float(s > 0), 1.0, dict(extra)) for s in scores],
                     [torch.tensor(e) for e in entropies])


KEPT = group("a", [1.0, 0.0], [[1.0, 1.0, 1.0], [4.0]])
FLAT = group("b", [0.0, 0.0], [[9.0], [9.0, 9.0]])


@pytest.mark.parametrize(("mode", "expected"), [
    ("token-mean", (3 + 4 + 3 + 4) / 8),  # the kept group twice (the fallback repeats it)
    ("seq-mean-token-mean", (1 + 4 + 1 + 4) / 4),
    ("seq-mean-token-sum", (3 + 4 + 3 + 4) / 4),
])
def test_entropy_is_over_the_trained_batch_aggregated_like_the_loss(mode: str, expected: float) -> None:
    assert trained_entropy([KEPT, KEPT], mode) == pytest.approx(expected)
    record = step_record(1, [KEPT, FLAT], [KEPT, KEPT], "duplicated", {}, mode, 0.0)
    assert record["entropy"] == pytest.approx(expected)
    # the dropped flat group counts in what the policy generated, not in what was trained
    assert record["rollout_entropy"] == pytest.approx((3 + 4 + 9 + 18) / 7)
    assert (record["groups_kept"], record["groups_total"], record["batch_reward_mean"]) == (1, 2, 0.5)


def test_vote_statistics_are_means_over_generated_groups() -> None:
    voted = [group("a", [1.0, 1.0], [[1.0], [1.0]], majority_ratio=1.0, label_accuracy=1.0),
             group("b", [1.0, 0.0], [[1.0], [1.0]], majority_ratio=0.5, label_accuracy=0.0)]
    assert vote_metrics(voted) == {"majority_ratio": 0.75, "label_accuracy": 0.5, "maj@2": 0.5}
    assert vote_metrics([KEPT]) == {}
    assert "maj@2" in step_record(3, voted, voted[:1], None, {}, "token-mean", 0.0)


def test_a_problem_drawn_twice_in_a_step_is_one_history_record() -> None:
    """One-shot fills its batch with one example: its two groups are one accuracy, not the
    second overwriting the first."""
    twice = [group("x", [1.0, 1.0], [[1.0], [1.0]]), group("x", [0.0, 0.0], [[1.0], [1.0]]),
             group("y", [1.0, 0.0], [[1.0], [1.0]])]
    assert history_records(4, twice) == [{"problem_id": "x", "epoch": 4, "accuracy": 0.5},
                                         {"problem_id": "y", "epoch": 4, "accuracy": 0.5}]
