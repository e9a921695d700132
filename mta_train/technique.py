"""What a technique is: a reward over a group, an advantage rule and a choice of training data.

Every technique of the paper is plain DAPO (mta_train/settings.py) with some of these three
changed; each lives in one file under mta_train/techniques/ whose docstring lists the changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mta_train.reward import Group, Reward

AdvantageRule = Literal["grpo", "nsr", "psr"]
TrainingData = Literal["train", "eval", "one-shot"]


@dataclass(frozen=True)
class Technique:
    """One row of TECHNIQUES.

    Attributes:
        name: the key users type (`mta train --technique NAME`).
        summary: one line for listings.
        reward: scores the rollouts of one prompt.
        advantage: "grpo" (group-normalized), "nsr" (only samples with score < 1 keep their
            advantage) or "psr" (only samples with score > 0 do), as the paper masks them.
        data: "train" (the task's training set), "eval" (the evaluation set, unlabelled: TTRL)
            or "one-shot" (one or two examples repeated to fill the batch).
        group_level: the reward of a response depends on the other responses of its group
            (majority vote), so it cannot be a per-sample reward function.
        needs_logprobs: the reward reads the policy's log-probabilities (entropy minimization),
            so it can only be computed after they are.
        uses_labels: the reward reads the true label (False for the self-rewarded ones).
    """

    name: str
    summary: str
    reward: Callable[[Group], list[Reward]]
    advantage: AdvantageRule = "grpo"
    data: TrainingData = "train"
    group_level: bool = False
    needs_logprobs: bool = False
    uses_labels: bool = True
