"""Majority vote over a group's answers, with answers compared by the task's own equivalence.

Vote and TTRL take the group's most common answer as the label; Shao et al.'s "incorrect" labels
are the most common answer of a problem's rollouts when it is wrong. What counts as "the same
answer" is the task's verifier: two math answers agree when math-verify says they are equal
(0.5, 1/2 and \\frac{1}{2} are one answer), a KOR-Bench answer by its normalized bracket text, a
reasoning-gym answer by its normalized text (its scorers read the true answer from the entry, so
they cannot compare two model answers). Counting raw strings instead splits one value over its
spellings: 0.5, 0.5, 1/2, 1/2, \\frac{1}{2}, 3, 3, 3 would elect "3".

Clustering is greedy in response order: an answer joins the first cluster whose representative
(its first member) it is equivalent to, else it opens a cluster. The label is the representative
of the largest cluster; ties go to the cluster opened first. TTRL (Zuo et al.,
`ttrl/ttt_metrics.py`) logs, per prompt, the label's share of the votes (`majority_ratio`) and
whether the label is right (`label_accuracy`); `Vote` carries both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mta_probe.verify import Verdict, get_verifier, normalize_answer, verify_bounded
from mta_train.reward import Group


@dataclass(frozen=True)
class Vote:
    """The majority vote of one group.

    Attributes:
        label: the representative answer of the largest cluster; None when no response answers.
        voters: per response, whether it is in the winning cluster.
        ratio: the winning cluster's share of ALL responses (unanswered ones count).
        label_correct: the label is right against the true gold (logged, never rewarded).
    """

    label: str | None
    voters: tuple[bool, ...]
    ratio: float
    label_correct: bool

    def stats(self) -> dict[str, float]:
        """What vote and TTRL log per group (TTRL's names)."""
        return {"majority_ratio": self.ratio, "label_accuracy": float(self.label_correct)}


def vote_answer(verdict: Verdict, verifier: str) -> str | None:
    """The answer a response votes for: the verifier's own extraction; None for code (a program
    has no answer to count) and for empty answers."""
    if get_verifier(verifier).family == "code" or verdict.answer is None or not verdict.answer.strip():
        return None
    return verdict.answer.strip()


def same_answer(group: Group, index: int, answer: str, label: str) -> bool:
    """Whether response `index` (whose answer is `answer`) agrees with `label` for the task."""
    if normalize_answer(answer) == normalize_answer(label):
        return True
    # A verifier that reads the true answer from the problem's metadata cannot take a
    # pseudo-label in its place: such answers are compared as normalized text only.
    if get_verifier(group.verifier).reads_metadata:
        return False
    labelled = replace(group.problem, gold=label)
    # In a killable worker, as every reward's verification (mta_train/reward.py).
    return verify_bounded(group.verifier, [(group.texts[index], labelled)],
                          group.verify_timeout)[0].correct


def clusters(group: Group, verdicts: list[Verdict]) -> list[list[int]]:
    """Response indices grouped by equivalent answers, in order of first appearance."""
    found: list[list[int]] = []
    answers = [vote_answer(v, group.verifier) for v in verdicts]
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        for members in found:
            if same_answer(group, index, answer, answers[members[0]]):  # type: ignore[arg-type]
                members.append(index)
                break
        else:
            found.append([index])
    return found


def majority_vote(group: Group, verdicts: list[Verdict]) -> Vote:
    """The group's majority answer by the task's equivalence (module docstring).

    Args:
        group: the responses.
        verdicts: each response's verdict against the true label (`reward.verdicts`); the vote
            reads only their extracted answers, the true label only for `label_correct`.
    """
    found = clusters(group, verdicts)
    if not found:
        return Vote(None, tuple(False for _ in group.texts), 0.0, False)
    winner = max(found, key=len)  # max keeps the first of equal sizes: ties go to the earliest
    members = set(winner)
    return Vote(label=vote_answer(verdicts[winner[0]], group.verifier),
                voters=tuple(i in members for i in range(len(group.texts))),
                ratio=len(winner) / len(group.texts),
                label_correct=bool(verdicts[winner[0]].correct))
