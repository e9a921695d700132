"""ground-truth: plain DAPO with the verifiable reward, the paper's baseline (Section 3).

Differences from DAPO with ground-truth reward: none. Reward = 1 when the response has the
`<think>...</think><answer>...</answer>` format AND its answer is correct, else 0.
"""

from __future__ import annotations

from mta_train.reward import Group, Reward, ground_truth
from mta_train.technique import Technique, Variant

SOURCE = ("model-task-align-rl src/syn_logic_reward.py:108-126 (acc_with_think_format, "
          "math_acc_with_think_format), scripts/RQ1/*-ground_truth.sh")


def reward(group: Group) -> list[Reward]:
    """Correct and formatted: 1, else 0."""
    return ground_truth(group)


TECHNIQUE = Technique(
    name="ground-truth",
    summary="DAPO with the verifiable reward: correct answer AND format (the baseline)",
    variants={"paper": Variant(reward, SOURCE)},
)
