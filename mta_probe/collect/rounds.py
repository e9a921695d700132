"""Adaptive sampling in a pass@k run (`mta probe passk --budget TOTAL`): rounds kept on disk.

A budget of samples is spent in rounds. The opening round gives every problem n samples; each
later round is split among the problems by the allocation rule (`estimators.allocation`: the
"variance" rule, or Kazdan et al.'s "zeros"), from the per-problem (n_i, c_i) of the rounds
before it. A problem's new samples continue its own sample indices: round r gives problem i its
samples n_i .. target_i - 1, sample j drawn from the same seed stream whatever round it falls in
(`Sampler.continues`; an engine that cannot start at sample j is refused before anything is drawn).

Resuming. Each round's per-problem targets are appended to `rounds.jsonl` *before* the round is
drawn. A run killed at any point restarts by finishing the last logged round (drawing exactly
the spans that round asked for, less what is on disk) and only then asking the rule for the next
round, from the completed rounds' (n_i, c_i). So a killed and resumed run makes the same rounds,
hence the same samples, as an uninterrupted one; without the log, a round cut in half would be
re-planned from a state that mixes two rounds.

What the run estimates. Which problems got more samples depended on their earlier samples, so the
unbiased estimator over all of a problem's samples is no longer unbiased (a problem kept sampling
because it had no success is estimated from more samples than one that had). The unbiased curve
of an adaptive run therefore uses the opening round alone (sample indices below n, the same n for
every problem), and says so in `passk.json`; the fit and its interval use every sample, since the
likelihood does not depend on how the samples were allocated, and its goodness-of-fit check uses
the opening round, the only part of the run with a fixed number of samples a problem
(docs/passk.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mta_probe.errors import BadInputError
from mta_probe.estimators import AdaptiveSettings, next_round, run_adaptive
from mta_probe.runs import RecordWriter, read_records
from mta_probe.tasks import Problem

ROUNDS_FILE = "rounds.jsonl"
# Said as an adaptive run starts: where bench/passk_fit.py measured it losing to the same budget
# spent uniformly (docs/passk.md, "Adaptive sampling", "Where it loses").
ADAPTIVE_CAVEAT = ("adaptive sampling can lose to the same budget spent uniformly where problems sit at a few low "
                   "success rates (bench: pass@1024 erred 0.052 against 0.011 with three rates, 0.090 against 0.063 "
                   "with one); its interval still covers (docs/passk.md, 'Where it loses')")


@dataclass(frozen=True)
class Span:
    """Sample indices start .. stop - 1 of one problem, to be drawn (those on disk are kept)."""

    problem: Problem
    start: int
    stop: int


# Draws the spans, verifies and appends them, and records their outcomes in the shared
# {problem id: {sample index: correct}}.
Fill = Callable[[list[Span]], None]


def check_adaptive(settings: AdaptiveSettings, n: int, num_problems: int) -> None:
    """Refuse settings the rounds cannot follow, before a run directory is written.

    Raises:
        BadInputError: the opening round differs from n, or the budget cannot pay for it.
    """
    if settings.first != n:
        raise BadInputError(f"adaptive sampling opens with n samples a problem: first={settings.first} "
                            f"must equal n={n}")
    next_round(np.zeros(num_problems, np.int64), np.zeros(num_problems, np.int64), settings)


def _missing(span: Span, outcomes: dict[str, dict[int, bool]]) -> int:
    have = outcomes.get(span.problem.id, {})
    return sum(1 for j in range(span.start, span.stop) if j not in have)


def _draw_round(spans: list[Span], outcomes: dict[str, dict[int, bool]], fill: Fill, number: int) -> None:
    """Draw a round's spans that miss samples; refuse to go on while some are still missing."""
    todo = [span for span in spans if _missing(span, outcomes)]
    if todo:
        fill(todo)
    left = sum(_missing(span, outcomes) for span in spans)
    if left:
        raise BadInputError(f"{left} samples of round {number} are missing after drawing it (failed generations, "
                            "see failures.jsonl): run the same command again to draw them again; the next "
                            "round is planned only from complete rounds")


def sample_rounds(out: Path, problems: list[Problem], settings: AdaptiveSettings,
                  outcomes: dict[str, dict[int, bool]], fill: Fill,
                  say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Finish the logged rounds, then plan, log and draw rounds until the budget is spent.

    Args:
        out: the run directory (holds `rounds.jsonl`).
        problems: the task's problems, in order.
        settings: budget, rounds and rule.
        outcomes: per problem, sample index -> correct, as on disk; `fill` keeps it current.
        fill: draws spans (see `Fill`).
        say: one-line status messages.

    Returns:
        The rounds, as logged: {"round", "size", "targets": {problem id: samples after it}}.
    """
    rounds = list(read_records(out / ROUNDS_FILE))
    say(ADAPTIVE_CAVEAT)
    ids = [p.id for p in problems]
    before = dict.fromkeys(ids, 0)

    def correct(start: dict[str, int], stop: dict[str, int]) -> np.ndarray:
        return np.array([sum(ok for j, ok in outcomes.get(pid, {}).items() if start[pid] <= j < stop[pid])
                         for pid in ids], np.int64)

    with RecordWriter(out / ROUNDS_FILE) as log:  # cuts a partial last line first
        for record in rounds:  # finish what a killed run logged
            targets = record["targets"]
            _draw_round([Span(p, before[p.id], targets[p.id]) for p in problems], outcomes, fill, record["round"])
            before = targets

        def next_draw(extra: np.ndarray) -> np.ndarray:
            """A round the rule planned: logged before it is drawn, so a kill resumes it."""
            nonlocal before
            record = {"round": len(rounds), "size": int(extra.sum()),
                      "targets": {pid: before[pid] + int(e) for pid, e in zip(ids, extra)}}
            log.append([record])
            rounds.append(record)
            say(f"round {record['round']}: {record['size']} samples over {int((extra > 0).sum())} problems")
            spans = [Span(p, before[p.id], record["targets"][p.id]) for p, e in zip(problems, extra) if e > 0]
            _draw_round(spans, outcomes, fill, record["round"])
            got, before = correct(before, record["targets"]), record["targets"]
            return got

        zero = dict.fromkeys(ids, 0)
        run_adaptive(next_draw, len(ids), settings, np.array([before[pid] for pid in ids], np.int64),
                     correct(zero, before))
    return rounds


def adaptive_summary(settings: AdaptiveSettings, rounds: list[dict[str, Any]], num_samples: list[int]) -> dict[str, Any]:
    """The `adaptive` block of passk.json: the settings, the rounds, and where the samples went."""
    n = np.asarray(num_samples)
    return {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
            "rounds": [{"round": r["round"], "size": r["size"]} for r in rounds],
            "samples_per_problem": {"min": int(n.min()), "median": float(np.median(n)), "max": int(n.max())},
            "unbiased_from": f"the opening round: sample indices 0..{settings.first - 1} of every problem "
                             "(later rounds were allocated from earlier outcomes, which biases the unbiased "
                             "estimator); the fit and its interval use every sample, its goodness of fit the "
                             "opening round"}
