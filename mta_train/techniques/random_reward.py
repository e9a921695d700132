"""random: a coin flip instead of a verifier (Table 2 "Random"; Shao et al.'s spurious reward).

Differences from DAPO with ground-truth reward:
1. Reward = 1 when the response has the `<think>...</think><answer>...</answer>` format AND a
   coin with probability gamma = 0.5 (Appendix B) says 1; a response without the format earns 0
   whatever the coin. This is the paper's `random_score_with_format` (its scripts' score_type
   `random_score_with_format` / `math_random_score_with_format`), so the paper's random runs
   also teach the `<answer>` format its validation reads.
2. The coin is seeded by (run seed, step, problem), so a resumed step draws the same coins.
Variant "shao": the coin alone, whatever the response (Shao et al.'s `random0.5`).
Everything else (advantages, clipping, dynamic sampling) is DAPO's.
"""

from __future__ import annotations

import random

from mta_train.reward import Group, Reward, formatted, graded
from mta_train.technique import Technique, Variant

GAMMA = 0.5
PAPER_SOURCE = ("model-task-align-rl src/syn_logic_reward.py:129-140 (random_score_with_format: "
                "format AND uniform(0,1) >= 0.5), scripts/RQ1/*-random.sh")
SHAO_SOURCE = ("Spurious_Rewards code/ttrl/verifier/auto_verify.py:7-8 (random_reward_fn, "
               "REWARD=random0.5 in code/scripts/rlvr_deepscaler_grpo_qwen_random.sh)")


def coins(group: Group) -> list[bool]:
    """One fair coin per response, from the group's seed."""
    stream = random.Random(group.seed)
    return [stream.random() < GAMMA for _ in group.texts]


def reward(group: Group) -> list[Reward]:
    """The paper's: 1 when the response is formatted and its coin says 1."""
    return graded(group, [float(coin and formatted(group, text))
                          for coin, text in zip(coins(group), group.texts, strict=True)])


def reward_coin_only(group: Group) -> list[Reward]:
    """Shao et al.'s: each response gets 1 with probability GAMMA."""
    return graded(group, [float(coin) for coin in coins(group)])


TECHNIQUE = Technique(
    name="random",
    summary="reward 1 with probability 0.5 when the format holds (variant shao: the coin alone)",
    variants={"paper": Variant(reward, PAPER_SOURCE), "shao": Variant(reward_coin_only, SHAO_SOURCE)},
    uses_labels=False,
)
