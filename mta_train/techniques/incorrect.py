"""incorrect: rewards wrong answers (Table 2 "Incorrect"; Appendix B).

Differences from DAPO with ground-truth reward:
1. Math (verifier "math"): following Shao et al., the label is an incorrect answer: the most
   frequent wrong answer among the group's responses (Shao et al. fixed it offline from another
   model's rollouts; mta takes it online from the policy's own group). Reward = format AND the
   answer equals that label. A group with no wrong answer earns 0 everywhere.
2. Logic and code (every other verifier): as the paper says for these tasks, reward = format
   AND an answer is given AND it is wrong.
On verl the group is scored by the agent-loop hook `MtaAgentLoopManager`
(mta_train/verl_plugin.py), as for `vote`.
The paper's own code defines the math "incorrect" reward twice and the second definition rewards
correct answers (defect 1 in anchors.md); here a correct response never earns a reward.
"""

from __future__ import annotations

from dataclasses import replace

from mta_train.reward import CODE_VERIFIERS, Group, Reward, answers, formatted, graded, is_correct, majority_answer
from mta_train.technique import Technique


def reward(group: Group) -> list[Reward]:
    """1 for a formatted wrong answer (math: the group's most common wrong answer)."""
    problem, verifier = group.problem, group.verifier
    wrong = [not is_correct(text, problem, verifier) for text in group.texts]
    shaped = [formatted(group, text) for text in group.texts]
    if verifier not in ("math", "math-lenient"):
        # Code has no answer to read: its format (a block defining the function) is the answer.
        answered = ([True] * len(group.texts) if verifier in CODE_VERIFIERS
                    else [bool(a and a.strip()) for a in answers(group)])
        return graded(group, [float(f and w and a)
                              for f, w, a in zip(shaped, wrong, answered, strict=True)],
                      acc=[not w for w in wrong])
    wrong_only = replace(group, texts=tuple(t for t, w in zip(group.texts, wrong) if w))
    label, _ = majority_answer(wrong_only)
    if label is None:
        return graded(group, [0.0] * len(group.texts), acc=[not w for w in wrong])
    labelled = replace(problem, gold=label)
    return graded(group, [float(f and w and is_correct(text, labelled, verifier))
                          for text, f, w in zip(group.texts, shaped, wrong, strict=True)],
                  acc=[not w for w in wrong])


TECHNIQUE = Technique(
    name="incorrect",
    summary="rewards wrong answers (math: the group's most common wrong answer)",
    reward=reward,
    group_level=True,
)
