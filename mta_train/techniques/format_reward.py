"""format: reward the shape of the response only (Table 2 "Format").

Differences from DAPO with ground-truth reward:
1. Reward = 1 when the response has the `<think>...</think><answer>...</answer>` format (code:
   a fenced Python block), whatever its answer. Correctness is logged, never rewarded.
The paper's format is SynLogic's (Appendix B), not Shao et al.'s "answer box present".
"""

from __future__ import annotations

from mta_train.reward import Group, Reward, format_ok, graded
from mta_train.technique import Technique


def reward(group: Group) -> list[Reward]:
    """1 for every formatted response."""
    return graded(group, [float(format_ok(t, group.problem, group.verifier))
                          for t in group.texts])


TECHNIQUE = Technique(
    name="format",
    summary="reward 1 for the <think>/<answer> format, whatever the answer",
    reward=reward,
    uses_labels=False,
)
