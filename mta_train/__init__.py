"""mta_train: run the paper's RL techniques and measure what they buy.

The verbs: `train` runs one technique (a key of `TECHNIQUES`) on one model and task, on this
machine (`backend="local"`) or on verl (`backend="verl"`), and writes metrics.jsonl and
gains.json; `prepare_data` writes a task as verl's parquet; `select_example` is Wang et al.'s one-shot selection from an accuracy history.
Settings are `TrainSettings`, `DapoSettings` (the paper's Section 3 defaults) and
`LocalSettings` (how the local backend uses its device).
"""

import os
from typing import TYPE_CHECKING

# See mta_probe/__init__.py: passive OpenMP waiting, set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mta_probe.exports import lazy_exports

if TYPE_CHECKING:
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

# Name -> the module it comes from, imported on first use (mta_probe/exports.py).
_EXPORTS = {
    "prepare_data": "mta_train.parquet",
    "TrainProgress": "mta_train.progress",
    "TrainResult": "mta_train.record",
    "train": "mta_train.run",
    "Ranked": "mta_train.selection",
    "select_example": "mta_train.selection",
    "DapoSettings": "mta_train.settings",
    "LOCAL_EVAL_LIMIT": "mta_train.settings",
    "LocalSettings": "mta_train.settings",
    "TrainSettings": "mta_train.settings",
    "TECHNIQUES": "mta_train.techniques",
    "get_technique": "mta_train.techniques",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
