"""vote: the group's majority answer is the label (Table 2 "Vote", self-rewarded).

Differences from DAPO with ground-truth reward:
1. The label is the most common answer among the group's own responses, answers compared by
   the task's own equivalence (math-verify for math: 0.5, 1/2 and \\frac{1}{2} are one vote;
   mta_train/majority.py); ties go to the answer seen first. The true label is never read for
   the reward.
2. Reward = format AND the answer is in the majority's cluster.
3. A group where no response gives an answer earns 0 everywhere (and is then dropped by
   dynamic sampling).
4. Every response carries the group's `majority_ratio` and `label_accuracy` (TTRL's names), so
   each step logs them and their mean over groups: `label_accuracy` is maj@k over the group of
   k = group_size rollouts, the paper's Table 4 "Maj@16".
The reward of one response depends on its whole group, so on verl it cannot be a per-sample
reward function: verl's agent loop is hooked (`MtaAgentLoopManager` in mta_train/verl_plugin.py)
to wait for the group's responses, score them together, and hand verl the scores. The paper's
code never implemented it (its reward manager raises KeyError for `maj_vote`: defect 2 in
docs/train.md).
"""

from __future__ import annotations

from mta_train.majority import majority_vote
from mta_train.reward import Group, Reward, formatted, graded, verdicts
from mta_train.technique import Technique, Variant

SOURCE = ("model-task-align-rl scripts/RQ1/*-maj.sh (score_type=maj_vote, not implemented in "
          "src/syn_logic_reward.py:174-189); TTRL verl/utils/reward_score/ttrl/ttt_metrics.py:8-46")


def reward(group: Group) -> list[Reward]:
    """1 for formatted responses that agree with the group's majority answer."""
    judged = verdicts(group)
    vote = majority_vote(group, judged)
    scores = [float(voter and formatted(group, text))
              for voter, text in zip(vote.voters, group.texts, strict=True)]
    return graded(group, scores, acc=[v.correct for v in judged], extra=vote.stats())


TECHNIQUE = Technique(
    name="vote",
    summary="majority answer of the group is the label (no ground truth)",
    variants={"paper": Variant(reward, SOURCE)},
    group_level=True,
    uses_labels=False,
)
