"""random: a coin flip instead of a verifier (Table 2 "Random"; Shao et al.'s spurious reward).

Differences from DAPO with ground-truth reward:
1. Reward = 1 with probability gamma = 0.5 (Appendix B), independently of the response.
2. The coin is seeded by (run seed, step, problem), so a resumed step draws the same coins.
Everything else (advantages, clipping, dynamic sampling) is DAPO's.
"""

from __future__ import annotations

import random

from mta_train.reward import Group, Reward, graded
from mta_train.technique import Technique

GAMMA = 0.5


def reward(group: Group) -> list[Reward]:
    """Each response gets 1 with probability GAMMA."""
    coins = random.Random(group.seed)
    return graded(group, [float(coins.random() < GAMMA) for _ in group.texts])


TECHNIQUE = Technique(
    name="random",
    summary="reward 1 with probability 0.5, whatever the response",
    reward=reward,
    uses_labels=False,
)
