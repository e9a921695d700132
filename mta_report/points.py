"""Gain points: one RL result placed against the alignment measures known for its pair.

Every result of the report, the paper's or the user's, becomes a `GainPoint` in percent: the
base accuracy before RL, the gain in points, and pass@k at the report's k where a probe run
measured it. The paper publishes base accuracy (its tables' "Base" rows, avg@k) but no pass@k,
so a paper point has `passk=None`; a user point has its `gains.json` "before" as base accuracy
and, when a matching probe run reached k, its pass@k. Consumers pick the measure and record it
(`measure_of`), so two measures are never mixed without saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mta_probe.errors import BadInputError
from mta_report.runs import Runs, alignment_of

if TYPE_CHECKING:
    from mta_report.reference import PaperResult

BASE_MEASURE = "base-accuracy"


def passk_measure(k: int) -> str:
    """The name of the pass@k measure at k, as tables and plots print it: 'pass@32'."""
    return f"pass@{k}"


@dataclass(frozen=True)
class GainPoint:
    """One (model, task, technique) result.

    Attributes:
        source: "paper" or "run".
        model, task, technique, variant: what was trained and evaluated (variant: one-shot's
            example, "" otherwise).
        kl_coef: the KL penalty of the training.
        base: accuracy before RL, percent (paper: the table's Base; run: gains.json "before").
        gain: accuracy after minus before, percentage points.
        passk: pass@k at `k`, percent, from the user's probe run; None for paper points and
            runs without a probe reaching k.
        k: the k of `passk`.
        score: the alignment score of `mta probe align` (chance-corrected pass@k, 0..1), None
            for paper points and runs without a probe.
        category: red / green / gray, or None when unknown.
        category_source: "paper", "align.json", or how else the category was found.
        origin: "Table 2" for a paper point, the run directory for a user point.
        recipe: a user point's training settings other than its seed, as a short fingerprint
            (`TrainRun.recipe`): runs that share it are seeds of one experiment.
    """

    source: str
    model: str
    task: str
    technique: str
    variant: str
    kl_coef: float
    base: float
    gain: float
    passk: float | None
    k: int
    score: float | None
    category: str | None
    category_source: str
    origin: str
    recipe: str = ""


def measure_of(point: GainPoint, prefer_passk: bool) -> tuple[str, float]:
    """(measure name, value in percent): pass@k when preferred and measured, else base accuracy."""
    if prefer_passk and point.passk is not None:
        return passk_measure(point.k), point.passk
    return BASE_MEASURE, point.base


def paper_points(reference: Iterable[PaperResult], *, k: int, tables: Sequence[str] | None = None,
                 kl_free: bool = True) -> list[GainPoint]:
    """The paper's results as gain points.

    Args:
        reference: rows of `mta_report.reference.reference_gains()` (reprints already dropped).
        k: the report's k, carried for the record (paper points have no pass@k).
        tables: keep rows of these tables ("2", "3", ...); None keeps all.
        kl_free: keep only rows trained without a KL penalty (drops Table 13's "+ KL" rows).

    Returns:
        One point per row kept; gain is the gain the paper prints.
    """
    return [GainPoint(source="paper", model=r.model, task=r.task, technique=r.technique, variant=r.variant,
                      kl_coef=r.kl_coef, base=r.base, gain=r.gain, passk=None, k=k, score=None,
                      category=r.category, category_source="paper", origin=f"Table {r.table}")
            for r in reference
            if (tables is None or r.table in tables) and (not kl_free or r.kl_coef == 0)]


def run_points(runs: Runs, *, k: int) -> list[GainPoint]:
    """The user's train runs as gain points, one per (train run, eval task) of its gains.json.

    Args:
        runs: the loaded runs; probe and align runs among them give pass@k and category.
        k: the k at which pass@k is read from the matching probe run.

    Returns:
        Points in percent, in run order; train runs without gains.json give none.
    """
    if k < 1:
        raise BadInputError(f"k must be at least 1, got {k}")
    points = []
    for train in runs.trains:
        # Another reward definition is another technique: the paper's points never predict it.
        technique = train.technique if train.variant == "paper" else f"{train.technique}:{train.variant}"
        for task, gain in train.gains.items():
            alignment = alignment_of(runs, train.model, train.model_path, task, k, before_run=gain.before_run)
            points.append(GainPoint(
                source="run", model=train.model, task=task, technique=technique, variant="",
                kl_coef=train.kl_coef, base=100.0 * gain.before, gain=100.0 * gain.gain,
                passk=None if alignment.passk is None else 100.0 * alignment.passk, k=k,
                score=alignment.score, category=alignment.category, category_source=alignment.category_source,
                origin=str(train.path), recipe=train.recipe))
    return points
