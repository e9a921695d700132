"""Majority vote by the task's equivalence (mta_train/majority.py), as vote, TTRL and Shao's labels use it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mta_probe.tasks import Problem
from mta_train.majority import clusters, majority_vote
from mta_train.reward import Group, verdicts
from mta_train.techniques import get_technique

HALF = Problem(id="half", prompt="p", statement="What is 1/2?", gold="1/2")
PARIS = Problem(id="capital", prompt="p", statement="Capital of France?", gold="Paris")


def tagged(answer: object) -> str:
    return f"<think>\nstep one\nstep two\n</think>\n<answer>{answer}</answer>"


def vote_of(problem: Problem, verifier: str, *texts: str):
    group = Group(problem=problem, verifier=verifier, texts=texts)
    return majority_vote(group, verdicts(group))


def test_equivalent_spellings_are_one_vote() -> None:
    """The issue's example: counting strings elects "3"; math-verify elects one half, five votes."""
    texts = tuple(tagged(a) for a in ("0.5", "0.5", "1/2", "1/2", "\\frac{1}{2}", "3", "3", "3"))
    group = Group(problem=HALF, verifier="math", texts=texts)
    vote = majority_vote(group, verdicts(group))
    assert vote.label == "0.5"  # the first spelling of the winning cluster
    assert vote.voters == (True,) * 5 + (False,) * 3
    assert vote.ratio == pytest.approx(5 / 8) and vote.label_correct
    rewards = get_technique("vote").reward(group)
    assert [r.score for r in rewards] == [1.0] * 5 + [0.0] * 3
    assert rewards[0].extra == {"majority_ratio": pytest.approx(5 / 8), "label_accuracy": 1.0}


def test_clusters_keep_order_of_first_appearance() -> None:
    texts = (tagged("3"), tagged("0.5"), tagged("6/2"), "nothing", tagged("1/2"))
    group = Group(problem=HALF, verifier="math", texts=texts)
    assert clusters(group, verdicts(group)) == [[0, 2], [1, 4]]


@pytest.mark.parametrize(("texts", "label", "ratio"), [
    # share over ALL responses (the unanswered one counts in the denominator)
    ((tagged("Paris"), tagged("Lyon"), tagged("Paris"), "nothing"), "Paris", 0.5),
    # tie 2-2: the answer seen first wins
    ((tagged("Lyon"), tagged("Paris"), tagged("Paris"), tagged("Lyon")), "Lyon", 0.5),
    # normalized text: case, spaces and a trailing period do not split a vote
    ((tagged("Paris"), tagged(" paris."), tagged("Lyon")), "Paris", 2 / 3),
    # unformatted answers vote too (TTRL votes on answers, not on the format)
    (("\\boxed{Lyon}", "the answer is Lyon", tagged("Paris")), "Lyon", 2 / 3),
    # nobody answers, or only empty answers
    (("nothing", "nothing either"), None, 0.0),
    ((tagged(""), tagged("  ")), None, 0.0),
])
def test_majority(texts: tuple[str, ...], label: str | None, ratio: float) -> None:
    vote = vote_of(PARIS, "normalized", *texts)
    assert vote.label == label
    assert vote.ratio == pytest.approx(ratio)


def test_the_vote_never_reads_the_gold_but_reports_its_accuracy() -> None:
    texts = (tagged("3"), tagged("3"), tagged("4"))
    for gold, correct in (("3", True), ("4", False), ("nobody says this", False)):
        vote = vote_of(replace(HALF, gold=gold), "math", *texts)
        assert (vote.label, vote.voters, vote.label_correct) == ("3", (True, True, False), correct)


def test_reasoning_gym_compares_answers_as_text(sum_problem: Problem) -> None:
    # gym scorers read the true answer from the entry: a pseudo-label is compared as text
    vote = vote_of(sum_problem, "gym", tagged("5"), tagged(" 5 "), tagged("-4"))
    assert (vote.label, vote.voters) == ("5", (True, True, False))
    assert not vote.label_correct  # the true sum is -4


def test_code_has_no_answer_to_vote_for(humaneval_problem: Problem) -> None:
    vote = vote_of(humaneval_problem, "code", "```python\nx = 1\n```", tagged("1"))
    assert vote.label is None and vote.voters == (False, False)
