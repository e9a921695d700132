"""ROUGE-L F-measure, identical to rouge-score's `rougeL`, and the exact-match rule.

rouge-score tokenizes by lowercasing, replacing every run of characters outside `[a-z0-9]` by a
space and splitting (optionally Porter-stemming tokens longer than 3 characters), then scores the
longest common subsequence of the two token lists: P = LCS/len(prediction), R = LCS/len(target),
F = 2PR/(P+R), and 0 when either list is empty. mta calls rouge-score's own tokenizer (so every
quirk is shared) and computes the LCS with rapidfuzz's bit-parallel `LCSseq` instead of
rouge-score's Python double loop. `tests/test_estimators_rouge.py` checks equality on thousands of pairs.

What this score cannot see: text outside ASCII letters and digits vanishes before scoring (CJK,
Greek, accented words, LaTeX commands reduced to their letters), so a Chinese problem scores 0
against anything; punctuation and formatting never count; a paraphrased leak scores low.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import LCSseq
from rouge_score.tokenize import tokenize as _rouge_tokenize


@lru_cache(maxsize=1)
def _stemmer():  # nltk's Porter stemmer, exactly as rouge-score builds it
    from nltk.stem import porter

    return porter.PorterStemmer()


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    return _stemmer().stem(token)


class _CachedStemmer:
    """Porter stems memoised: a corpus repeats its words, and stemming is the slow part."""

    def stem(self, token: str) -> str:
        return _stem(token)


_WORD = re.compile(r"[a-z0-9]+")


def rouge_tokens(text: str, *, stem: bool = False) -> list[str]:
    """rouge-score's default tokenization of `text`.

    Without stemming, rouge-score's tokens are exactly the maximal runs of `[a-z0-9]` in the
    lowercased text (it replaces every other run by a space, splits, and keeps tokens matching
    `^[a-z0-9]+$`), so one `findall` gives the same list several times faster. With stemming
    its own tokenizer runs, since a stem is checked against that pattern again.
    """
    if not stem:
        return _WORD.findall(text.lower())
    return _rouge_tokenize(text, _CachedStemmer())


def rouge_l(target: str, prediction: str, *, stem: bool = False) -> float:
    """ROUGE-L F-measure of `prediction` against `target`, equal to rouge-score's `rougeL`.

    Examples:
        >>> round(rouge_l("the cat sat on the mat", "the cat lay on a mat"), 4)
        0.6667
    """
    return rouge_l_tokens(rouge_tokens(target, stem=stem), rouge_tokens(prediction, stem=stem))


def rouge_l_tokens(target: list[str], prediction: list[str]) -> float:
    """ROUGE-L F-measure of two token lists."""
    if not target or not prediction:
        return 0.0
    lcs = LCSseq.similarity(target, prediction)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(prediction), lcs / len(target)
    return 2 * precision * recall / (precision + recall)


def exact_match(reference: str, completion: str) -> bool:
    """True when the completion's first words are the reference's words, after normalization.

    Both texts are normalized like ROUGE (lowercase, only `[a-z0-9]` runs kept as words, no
    stemming); the match holds when the reference has at least one word and the completion's
    first len(reference) words equal them. Text the completion adds after the remainder does not
    matter: a greedy continuation rarely stops exactly at the end of the problem statement.
    """
    ref = rouge_tokens(reference)
    return bool(ref) and rouge_tokens(completion)[: len(ref)] == ref
