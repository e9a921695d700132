"""Gains over seeds (mta_report/seeds.py): grouping of runs and the t interval of the mean."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from mta_report.points import GainPoint
from mta_report.seeds import seed_gains, seed_table


def point(technique: str, base: float, gain: float, task: str = "t", source: str = "run") -> GainPoint:
    return GainPoint(source=source, model="m", task=task, technique=technique, variant="", kl_coef=0.0,
                     base=base, gain=gain, passk=None, k=32, score=0.9, category="green",
                     category_source="align.json", origin="run")


def test_runs_of_one_technique_are_one_row_with_a_t_interval() -> None:
    rows = seed_gains([point("vote", 30.0, 1.0), point("random", 30.0, -4.0), point("vote", 28.0, 2.0),
                       point("vote", 32.0, 3.0), point("vote", 99.0, 50.0, source="paper")])
    vote, random = rows
    assert (vote.technique, vote.runs, vote.gains) == ("vote", 3, (1.0, 2.0, 3.0))
    assert (vote.mean, vote.sd, vote.before, vote.after) == pytest.approx((2.0, 1.0, 30.0, 32.0))
    low, high = stats.t.interval(0.95, 2, loc=2.0, scale=1.0 / math.sqrt(3))
    assert (vote.low, vote.high) == pytest.approx((low, high))
    assert vote.high - vote.mean == pytest.approx(4.3027 / math.sqrt(3), rel=1e-4)  # t(0.975, 2 dof), 5 digits
    assert (random.runs, random.mean, random.sd, random.low, random.high) == (1, -4.0, None, None, None)


def test_tasks_are_never_pooled_and_the_table_shows_every_run() -> None:
    rows = seed_gains([point("vote", 30.0, 1.0, task="a"), point("vote", 30.0, 5.0, task="b")])
    assert [(r.task, r.runs) for r in rows] == [("a", 1), ("b", 1)]
    table = seed_table(seed_gains([point("gt", 10.0, 1.0), point("gt", 10.0, -2.5)]))
    assert table.rows[0][-1] == "+1.0 -2.5" and table.rows[0][5] == 2


def test_runs_trained_with_other_settings_are_another_row_not_another_seed() -> None:
    from dataclasses import replace

    rows = seed_gains([replace(point("vote", 30.0, 1.0), recipe="a"), replace(point("vote", 30.0, 3.0), recipe="a"),
                       replace(point("vote", 30.0, -20.0), recipe="b")])  # e.g. a pilot at another lr
    assert [(r.runs, r.gains) for r in rows] == [(2, (1.0, 3.0)), (1, (-20.0,))]
