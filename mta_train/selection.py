"""Wang et al.'s one-shot example selection, from a logged accuracy history (Section 5).

One-shot RLVR trains on a data subset while logging every example's rollout accuracy per epoch,
then ranks examples by the standard deviation of that history: the example whose accuracy moved
most is the most informative single example (their "historical variance score"). mta reads the
history from a JSONL file, one record per (example, epoch):

    {"problem_id": "17", "epoch": 3, "accuracy": 0.5}

`accuracy` is the fraction of that epoch's rollouts of the example that were correct. The local
backend writes exactly this file (`history.jsonl`, one record per problem per step, the step
standing for the epoch); any logger that writes these three keys works.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BadInputError


@dataclass(frozen=True)
class Ranked:
    """One example's selection score.

    Attributes:
        problem_id: the example.
        std: population standard deviation of its per-epoch accuracy (Wang et al.'s score).
        epochs: how many epochs were logged for it.
        mean: its mean accuracy over those epochs.
    """

    problem_id: str
    std: float
    epochs: int
    mean: float


def read_history(path: Path) -> dict[str, list[float]]:
    """Per example, its accuracies in epoch order.

    Raises:
        BadInputError: a missing file, a line that is not a record with the three keys, an
            accuracy outside [0, 1], or an empty history.
    """
    if not path.is_file():
        raise BadInputError(f"no accuracy history at {path}")
    by_epoch: dict[str, dict[int, float]] = defaultdict(dict)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pid, epoch, acc = str(row["problem_id"]), int(row["epoch"]), float(row["accuracy"])
        except (ValueError, KeyError, TypeError) as error:
            raise BadInputError(f"{path}:{number}: expected problem_id, epoch, accuracy "
                                f"({error.__class__.__name__})") from None
        if not 0.0 <= acc <= 1.0 or math.isnan(acc):
            raise BadInputError(f"{path}:{number}: accuracy {acc} is not in [0, 1]")
        by_epoch[pid][epoch] = acc
    if not by_epoch:
        raise BadInputError(f"{path} holds no accuracy records")
    return {pid: [epochs[e] for e in sorted(epochs)] for pid, epochs in by_epoch.items()}


def rank_examples(history: dict[str, list[float]]) -> list[Ranked]:
    """Examples by decreasing std of their accuracy history (ties: more epochs, then id).

    Wang et al. use numpy's default (population) standard deviation; an example logged for a
    single epoch has std 0.
    """
    ranked = []
    for pid, values in history.items():
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        ranked.append(Ranked(problem_id=pid, std=std, epochs=len(values), mean=mean))
    return sorted(ranked, key=lambda r: (-r.std, -r.epochs, r.problem_id))


def select_example(path: Path, count: int = 1) -> list[Ranked]:
    """The `count` examples Wang et al.'s method picks from the history at `path`."""
    if count < 1:
        raise BadInputError(f"count must be at least 1, got {count}")
    return rank_examples(read_history(path))[:count]
