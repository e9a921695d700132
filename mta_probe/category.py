"""The alignment verdict: red, green or gray, a continuous score, and how stable the verdict is.

The paper (Section 2.3) sorts model-task pairs into three groups: red (potential contamination
and strong model-task alignment), green (no contamination, strong alignment) and gray (weak
alignment). Appendix H.1 adds that alignment is continuous. The rule here, every threshold a field
of `AlignRule` (documented in docs/alignment.md):

1. **Alignment score** S in [0, 1]: the pass@k at a reference k, corrected for chance,
   S = max(0, (P(k*) - C(k*)) / (1 - C(k*))), where C is the chance-level pass@k (0 for open
   answers) and k* is `k_ref`, or the largest k measured if that is smaller, or, on a task with
   a finite answer set, the largest k whose chance level stays at or below `max_chance` (beyond
   it, pass@k measures guessing more than the model). A run sampled with n < k_ref that holds a
   fitted curve is read on that curve instead (`from_fit`; mta_probe.align builds it), so k*
   reaches k_ref there. Several runs (a domain, such as the three math benchmarks the paper
   groups) give the mean of their scores.
2. **Strongly aligned** when S >= `strong_threshold`.
3. **Contaminated** when the mean exact match at the largest portion reaches `em_threshold`, or
   the mean ROUGE-L at the smallest portion reaches `rouge_threshold` (the means over the
   contamination runs given). No contamination run: unknown, treated as clean, and said so.
4. red = contaminated and aligned; green = clean (or unknown) and aligned; gray = weakly aligned.
   Contamination without alignment is gray too: the paper has no such group, and the RL claims
   it tests need alignment, not leakage.

Stability is the share of bootstrap resamples of problems (pass@k and contamination records
resampled independently) whose verdict equals the verdict on all problems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mta_probe.errors import BadInputError

CATEGORIES = ("red", "green", "gray")


@dataclass(frozen=True)
class AlignRule:
    """Thresholds of the verdict; the defaults reproduce the paper's categories (tests/test_align.py).

    Attributes:
        k_ref: the k at which alignment is read. Figure 10 reads K = 32, 128 and 512; 64 sits in
            that range while still measurable from n = 64 samples.
        strong_threshold: chance-corrected pass@k_ref from which a pair counts as strongly aligned.
        max_chance: on finite answer sets, read pass@k only up to the k where guessing reaches this.
        em_threshold: exact match at the largest portion that flags contamination. Table 7 and 10:
            Qwen2.5 on math and HumanEval reach 30-49%, every clean pair stays at or below 17.8%.
        rouge_threshold: ROUGE-L at the smallest portion that flags contamination. Qwen2.5 on math
            and HumanEval reach 44-64%, every clean pair stays at or below 34.6%.
        resamples: bootstrap resamples for the stability of the verdict.
        from_fit: read S at k_ref on a run's fitted pass@k curve when the run has n < k_ref
            (docs/passk.md; the paper reads K up to 512, which a CPU probe does not sample).
    """

    k_ref: int = 64
    strong_threshold: float = 0.6
    max_chance: float = 0.5
    em_threshold: float = 0.25
    rouge_threshold: float = 0.40
    resamples: int = 1000
    from_fit: bool = True


@dataclass(frozen=True)
class Curve:
    """A pass@k curve as `passk.json` holds it: k values, pass@k, and the chance level (or None)."""

    ks: list[int]
    values: list[float]
    chance: list[float] | None = None


@dataclass(frozen=True)
class Contamination:
    """Mean ROUGE-L and exact match per truncation portion, as `contam.json` holds them."""

    rouge_l: dict[float, float]
    exact_match: dict[float, float]


@dataclass(frozen=True)
class Verdict:
    """The category and what it rests on."""

    category: str
    score: float
    k_used: list[int]
    aligned: bool
    contaminated: bool | None
    contamination_em: float | None
    contamination_rouge: float | None


def reference_k(curve: Curve, rule: AlignRule) -> int:
    """k*: k_ref, capped by the largest k measured and, on finite answer sets, by max_chance."""
    usable = [k for i, k in enumerate(curve.ks)
              if k <= rule.k_ref and (curve.chance is None or curve.chance[i] <= rule.max_chance)]
    if not usable:
        raise BadInputError(f"no measured k is usable for alignment (k_ref={rule.k_ref}, "
                            f"max_chance={rule.max_chance}, ks={curve.ks})")
    return max(usable)


def alignment_score(curve: Curve, rule: AlignRule) -> tuple[float, int]:
    """(S, k*): the chance-corrected pass@k* of one curve."""
    k = reference_k(curve, rule)
    i = curve.ks.index(k)
    chance = curve.chance[i] if curve.chance else 0.0
    if chance >= 1.0:  # guessing alone always succeeds: pass@k says nothing about the model
        return 0.0, k
    return max(0.0, (curve.values[i] - chance) / (1.0 - chance)), k


def contamination_flags(contams: list[Contamination], rule: AlignRule) -> tuple[bool | None, float | None, float | None]:
    """(contaminated, EM at the largest portion, ROUGE-L at the smallest), means over runs."""
    if not contams:
        return None, None, None
    em = float(np.mean([c.exact_match[max(c.exact_match)] for c in contams]))
    rouge = float(np.mean([c.rouge_l[min(c.rouge_l)] for c in contams]))
    return em >= rule.em_threshold or rouge >= rule.rouge_threshold, em, rouge


def categorize(aligned: bool, contaminated: bool | None) -> str:
    """red / green / gray from the two judgements (rule 4 of the module docstring)."""
    if not aligned:
        return "gray"
    return "red" if contaminated else "green"


def judge(curves: list[Curve], contams: list[Contamination], rule: AlignRule = AlignRule()) -> Verdict:
    """The verdict for one pair, or one domain given as several curves and contamination runs.

    Examples:
        >>> judge([Curve([1, 64], [0.3, 0.9])], [Contamination({0.4: 0.2}, {0.8: 0.0})]).category
        'green'
    """
    if not curves:
        raise BadInputError("alignment needs at least one pass@k curve")
    scored = [alignment_score(c, rule) for c in curves]
    score = float(np.mean([s for s, _ in scored]))
    contaminated, em, rouge = contamination_flags(contams, rule)
    aligned = score >= rule.strong_threshold
    return Verdict(categorize(aligned, contaminated), score, [k for _, k in scored], aligned,
                   contaminated, em, rouge)
