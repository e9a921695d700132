"""format: reward the shape of the response only (Table 2 "Format").

Differences from DAPO with ground-truth reward:
1. Reward = 1 when the response has the `<think>...</think><answer>...</answer>` format (code:
   a fenced Python block), whatever its answer. Correctness is logged, never rewarded.
The paper's format is SynLogic's (Appendix B), not Shao et al.'s "answer box present"; Shao's
is the variant "shao" (reward 1 when the response holds a `\\boxed{...}` answer).
"""

from __future__ import annotations

from mta_probe.verify import last_boxed
from mta_train.reward import Group, Reward, format_ok, graded
from mta_train.technique import Technique, Variant

PAPER_SOURCE = ("model-task-align-rl src/syn_logic_reward.py:98-105 (compute_think_format_score; "
                "score_type think_format / math_think_format)")
SHAO_SOURCE = ("Spurious_Rewards code/ttrl/verifier/qwen/qwen_eval.py:28-30 "
               "(box_only_format_reward_fn, REWARD=box_only_format)")


def reward(group: Group) -> list[Reward]:
    """1 for every formatted response."""
    return graded(group, [float(format_ok(t, group.problem, group.verifier))
                          for t in group.texts])


def reward_boxed(group: Group) -> list[Reward]:
    """Shao et al.'s: 1 for every response with a non-empty boxed answer."""
    return graded(group, [float(bool((last_boxed(t) or "").strip())) for t in group.texts])


TECHNIQUE = Technique(
    name="format",
    summary="reward 1 for the <think>/<answer> format, whatever the answer (shao: a \\boxed answer)",
    variants={"paper": Variant(reward, PAPER_SOURCE), "shao": Variant(reward_boxed, SHAO_SOURCE)},
    uses_labels=False,
)
