"""vote: the group's majority answer is the label (Table 2 "Vote", self-rewarded).

Differences from DAPO with ground-truth reward:
1. The label is the most frequent answer among the group's own responses (answers compared
   after normalization; ties go to the first seen); the true label is never read.
2. Reward = format AND the answer matches that majority label (by the task's verifier, so
   math answers match by math-verify equivalence).
3. A group where no response gives an answer earns 0 everywhere (and is then dropped by
   dynamic sampling).
The reward of one response depends on its whole group, so on verl it cannot be a per-sample
reward function: verl's agent loop is hooked (`MtaAgentLoopManager` in mta_train/verl_plugin.py)
to wait for the group's responses, score them together, and hand verl the scores. The paper's code never implemented it (its reward
manager raises KeyError: defect 2 in anchors.md).
"""

from __future__ import annotations

from mta_train.reward import Group, Reward, agrees_with, graded, majority_answer
from mta_train.technique import Technique


def reward(group: Group) -> list[Reward]:
    """1 for formatted responses that agree with the group's majority answer."""
    label, _ = majority_answer(group)
    if label is None:
        return graded(group, [0.0] * len(group.texts))
    return graded(group, agrees_with(group, label))


TECHNIQUE = Technique(
    name="vote",
    summary="majority answer of the group is the label (no ground truth)",
    reward=reward,
    group_level=True,
    uses_labels=False,
)
