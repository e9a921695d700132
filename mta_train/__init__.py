"""mta_train: run the paper's RL techniques and measure what they buy.

The verbs: `train` runs one technique (a key of `TECHNIQUES`) on one model and task, on this
machine (`backend="local"`) or on verl (`backend="verl"`), and writes metrics.jsonl and
gains.json; `prepare_data` writes a task as verl's parquet; `select_example` is Wang et al.'s one-shot selection from an accuracy history.
Settings are `TrainSettings`, `DapoSettings` (the paper's Section 3 defaults) and
`LocalSettings` (how the local backend uses its device).
"""

import os

# See mta_probe/__init__.py: passive OpenMP waiting, set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mta_train.parquet import prepare_data
from mta_train.progress import TrainProgress
from mta_train.record import TrainResult
from mta_train.run import train
from mta_train.selection import Ranked, select_example
from mta_train.settings import (
    LOCAL_EVAL_LIMIT,
    DapoSettings,
    LocalSettings,
    TrainSettings,
)
from mta_train.techniques import TECHNIQUES, get_technique

__all__ = [
    "LOCAL_EVAL_LIMIT",
    "DapoSettings",
    "LocalSettings",
    "Ranked",
    "TECHNIQUES",
    "TrainProgress",
    "TrainResult",
    "TrainSettings",
    "get_technique",
    "prepare_data",
    "select_example",
    "train",
]
