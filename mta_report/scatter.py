"""How far a result lands from its technique's fit: the residual scatter, per alignment class.

One pool of residuals for every result made the intervals right on average and wrong by class:
strongly aligned pairs (red, green) gain 0 to 60 points and scatter widely around the fit,
weakly aligned ones (gray) pile up near 0. Leaving each (model, task) pair out of the paper's
rows, the one-pool intervals held 59% of the strong results and 98% of the gray ones. So the
scatter is modelled per class:

- residuals are leave-one-pair-out (jackknife) residuals: each point's distance from the fit of
  its technique without its (model, task) pair, the error a new pair meets;
- the scale for a (technique, class) is the root mean square of that technique's residuals in
  that class, shrunk toward the class's root mean square over all techniques with the weight of
  `prior_points` points (partial pooling: a technique with three strong pairs borrows the
  other techniques' strong scatter; one with thirty mostly keeps its own);
- the interval is the fit plus or minus Student's t quantile at the level times that scale,
  with one degree of freedom less than the number of distinct (model, task) pairs in the class
  pool: one pair's residuals move together across techniques (Qwen on KOR Operation beats every
  fit), so pairs, not points, are the independent observations.

Per colour (red apart from green) the pools hold 4 and 5 pairs; with them, leave-one-pair-out
coverage stayed at 78% (red) and 80% (green) while this model was being chosen (docs/report.md),
so red and green share the strong class.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from mta_report.points import GainPoint

STRONG = ("red", "green")


def alignment_class(point: GainPoint, with_class: bool) -> str:
    """"strong" (red, green) or "weak" (gray) in a class model; "all" in a category-free one."""
    if not with_class:
        return "all"
    return "strong" if point.category in STRONG else "weak"


def pair_of(point: GainPoint) -> tuple[str, str]:
    """The (model, task) pair: the unit left out, and the unit of independence."""
    return (point.model, point.task)


def least_squares(design: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Coefficients of y on the design's columns; None when they are not determined."""
    if design.shape[0] < design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    return np.linalg.lstsq(design, y, rcond=None)[0]


@dataclass(frozen=True)
class Scatter:
    """The scatter a prediction's interval uses.

    Attributes:
        scale: the (technique, class) residual scale, points.
        dof: degrees of freedom of the t quantile (pairs in the class pool minus one).
        pairs: distinct (model, task) pairs in the class pool.
        residuals: residuals in the class pool.
    """

    scale: float
    dof: int
    pairs: int
    residuals: int

    def half_width(self, level: float) -> float:
        """Half the interval: t quantile times the scale."""
        from scipy import stats

        return float(stats.t.ppf(0.5 + level / 2.0, self.dof)) * self.scale


Row = Callable[[GainPoint], list[float]]


class ResidualPool:
    """Leave-one-pair-out residuals of every technique's fit, cached per left-out group.

    Args:
        points: every point a fit may use (already restricted to the target's KL regime and,
            for a class model, to points with a category).
        row: a point's design row (intercept first).
        min_points: the fewest points a fit is made on.
    """

    def __init__(self, points: Sequence[GainPoint], row: Row, min_points: int) -> None:
        self.points, self.row, self.min_points = list(points), row, min_points
        self._cache: dict[Hashable, list[tuple[GainPoint, float]]] = {}

    def residuals(self, left_out: Hashable, excluded: Callable[[GainPoint], bool]
                  ) -> list[tuple[GainPoint, float]]:
        """(point, residual) for every point not `excluded`, each from its technique's fit
        without its own pair (nor the excluded points). `left_out` names the exclusion."""
        if left_out not in self._cache:
            kept = [p for p in self.points if not excluded(p)]
            found = []
            for technique in dict.fromkeys(p.technique for p in kept):
                mine = [p for p in kept if p.technique == technique]
                for pair in dict.fromkeys(pair_of(p) for p in mine):
                    fit = [p for p in mine if pair_of(p) != pair]
                    inside = [p for p in mine if pair_of(p) == pair]
                    found += self._jackknife(fit, inside)
            self._cache[left_out] = found
        return self._cache[left_out]

    def _jackknife(self, fit: list[GainPoint], inside: list[GainPoint]) -> list[tuple[GainPoint, float]]:
        if len(fit) < self.min_points:
            return []
        coef = least_squares(np.array([self.row(p) for p in fit]), np.array([p.gain for p in fit]))
        if coef is None:
            return []
        return [(p, p.gain - float(np.dot(coef, self.row(p)))) for p in inside]


def class_scatter(residuals: Sequence[tuple[GainPoint, float]], technique: str, cls: str,
                  with_class: bool, prior_points: float) -> Scatter | None:
    """The (technique, class) scale shrunk toward the class (module docstring); None when the
    class pool holds fewer than two pairs (no degrees of freedom)."""
    pool = [(p, r) for p, r in residuals if alignment_class(p, with_class) == cls]
    pairs = len({pair_of(p) for p, _ in pool})
    if pairs < 2:
        return None
    class_ms = float(np.mean([r * r for _, r in pool]))
    own = [r * r for p, r in pool if p.technique == technique]
    scale = math.sqrt((sum(own) + prior_points * class_ms) / (len(own) + prior_points))
    return Scatter(scale=scale, dof=pairs - 1, pairs=pairs, residuals=len(pool))
