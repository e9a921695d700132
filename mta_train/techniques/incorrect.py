"""incorrect: rewards wrong answers (Table 2 "Incorrect"; Appendix B; Shao et al.).

Differences from DAPO with ground-truth reward:
1. Math (verifier "math"), as Shao et al. make it: before training, every training problem gets
   a FIXED incorrect label: the initial model samples `label_samples` (64) rollouts of it, the
   most common answer (by math-verify equivalence) is its label, and problems whose label is
   correct (or that nobody answered) are dropped from the training set (mta_train/labels.py).
   Reward = format AND the answer equals that label. The paper's script
   (`math_incorrect_format_score`, format AND answer == the row's ground truth) reads the label
   from its data rows, which the paper says follow Shao et al.'s definition; this is the default.
2. Logic and code (every other verifier), as the paper says for these tasks (Appendix B):
   reward = format AND an answer is given AND it is wrong.
Variants: "shao" is Shao et al.'s math reward exactly (the fixed label, no format requirement;
other tasks: an answer that is wrong); "online" takes the label from each group instead of a
fixed one (the group's most common wrong answer; mta's earlier choice, no labelling pass).
On verl the group is scored by the agent-loop hook `MtaAgentLoopManager`
(mta_train/verl_plugin.py), as for `vote`.
The paper's own code defines the math "incorrect" reward twice and the second definition rewards
answers that match the row's label (defect 1 in docs/train.md: with true labels it pays correct
answers); here a correct response never earns a reward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mta_probe.errors import BadInputError
from mta_probe.verify import Verdict, get_verifier, verify_bounded
from mta_train.majority import majority_vote
from mta_train.reward import (
    Group,
    Reward,
    formatted,
    graded,
    verdicts,
)
from mta_train.technique import Technique, Variant

LABEL_KEY = "incorrect_label"  # Problem.meta key of the fixed label (mta_train/labels.py)
PAPER_SOURCE = ("model-task-align-rl src/syn_logic_reward.py:142-150 (incorrect_format_score) "
                "and 164-171 (math_incorrect_format_score, format AND answer == the row's "
                "label); Appendix B: labels as Shao et al.")
SHAO_SOURCE = ("Spurious_Rewards code/scripts/majority_voting_labeling.py:16,25-29,74-76 (64 "
               "rollouts at T 1.0, top_p 1.0; majority answer), "
               "code/scripts/relabel_data_based_on_mv_labels.py:62-69,133 (keep problems whose "
               "majority is wrong; the label is that answer), REWARD=math")
ONLINE_SOURCE = "mta: the group's most common wrong answer is the label (no labelling pass)"


def _answered_and_wrong(group: Group, judged: list[Verdict], shaped: list[bool]) -> list[float]:
    """Logic and code: a formatted (when required) wrong answer; code's answer is its block."""
    return [float(f and not v.correct and (get_verifier(group.verifier).family == "code"
                                           or bool(v.answer and v.answer.strip())))
            for f, v in zip(shaped, judged, strict=True)]


def _matches(group: Group, label: str | None, wrong: list[bool], shaped: list[bool]) -> list[float]:
    if label is None:
        return [0.0] * len(group.texts)
    labelled = replace(group.problem, gold=label)
    asked = [text for text, f, w in zip(group.texts, shaped, wrong, strict=True) if f and w]
    # one call for the group's candidates (each in a killable worker, as every reward)
    matched = iter(verify_bounded(group.verifier, [(text, labelled) for text in asked], group.verify_timeout)
                   if asked else [])
    return [float(f and w and next(matched).correct) for f, w in zip(shaped, wrong)]


def _reward(group: Group, *, label_of: Callable[[Group, list[Verdict]], str | None],
            require_format: bool) -> list[Reward]:
    judged = verdicts(group)
    wrong = [not v.correct for v in judged]
    acc = [v.correct for v in judged]
    shaped = [not require_format or formatted(group, text) for text in group.texts]
    if get_verifier(group.verifier).family != "math":
        return graded(group, _answered_and_wrong(group, judged, shaped), acc=acc)
    return graded(group, _matches(group, label_of(group, judged), wrong, shaped), acc=acc)


def fixed_label(group: Group, _judged: list[Verdict]) -> str:
    """The problem's fixed incorrect label (Shao et al.), written by mta_train/labels.py."""
    label = group.problem.meta.get(LABEL_KEY)
    if not isinstance(label, str):
        raise BadInputError(f"problem {group.problem.id} has no fixed incorrect label: the math "
                            "'incorrect' reward trains on problems labelled by mta_train/labels.py "
                            "(or use --variant online)")
    return label


def online_label(group: Group, judged: list[Verdict]) -> str | None:
    """The most common wrong answer of the group (None when no response is wrong)."""
    wrong = [(t, v) for t, v in zip(group.texts, judged, strict=True) if not v.correct]
    wrong_only = replace(group, texts=tuple(t for t, _ in wrong))
    return majority_vote(wrong_only, [v for _, v in wrong]).label


def reward(group: Group) -> list[Reward]:
    """The paper's: formatted and matching the fixed incorrect label (math), or wrong (others)."""
    return _reward(group, label_of=fixed_label, require_format=True)


def reward_shao(group: Group) -> list[Reward]:
    """Shao et al.'s: matching the fixed incorrect label, format not required."""
    return _reward(group, label_of=fixed_label, require_format=False)


def reward_online(group: Group) -> list[Reward]:
    """Formatted and matching the group's most common wrong answer (math), or wrong (others)."""
    return _reward(group, label_of=online_label, require_format=True)


TECHNIQUE = Technique(
    name="incorrect",
    summary="rewards wrong answers (math: a fixed majority-voted incorrect label, Shao et al.)",
    variants={"paper": Variant(reward, PAPER_SOURCE, fixed_label=True),
              "shao": Variant(reward_shao, SHAO_SOURCE, fixed_label=True),
              "online": Variant(reward_online, ONLINE_SOURCE)},
    group_level=True,
)
