"""Runs on disk: where they live (`$MTA_HOME`), what names them, append-only records, atomic files.

The verbs: `prepare_run_dir` opens (or checks) a run directory against its identity;
`RecordWriter` appends records, `read_records` streams them back and `cut_records` cuts a file back to a prefix of them; `write_json_atomic` (`write_bytes_atomic`) writes
a result file whole or not at all, `read_json` reads it back; `default_run_dir` names a run's directory. `summary` turns a
pass@k run's samples into `passk.json`, `plot` draws `passk.png` (imported on use: matplotlib).
`open_trackers` opens the experiment trackers a run asks for (`TRACKERS`, `check_loggers`); a
tracker's package loads only when a run names it.
"""

from typing import TYPE_CHECKING

from mta_probe.exports import lazy_exports
from mta_probe.runs.home import mta_home
from mta_probe.runs.identity import default_run_dir, package_versions
from mta_probe.runs.progress import ProbeProgress
from mta_probe.runs.store import (
    RecordWriter,
    cut_records,
    open_records,
    prepare_run_dir,
    read_json,
    read_records,
    room_for,
    write_bytes_atomic,
    write_json_atomic,
)
from mta_probe.runs.trackers import (
    TENSORBOARD_DIR,
    TRACKERS,
    Tracker,
    Trackers,
    check_loggers,
    open_trackers,
)

if TYPE_CHECKING:
    from mta_probe.runs.plot import plot_passk
    from mta_probe.runs.summary import (
        answer_choices,
        chance_from_choices,
        fit_block,
        passk_payload,
        per_problem_counts,
        summarize_samples,
    )

# numpy (summary) and matplotlib (plot) load when these are first used (mta_probe/exports.py).
_LAZY = {
    "plot_passk": "mta_probe.runs.plot",
    "answer_choices": "mta_probe.runs.summary",
    "chance_from_choices": "mta_probe.runs.summary",
    "fit_block": "mta_probe.runs.summary",
    "passk_payload": "mta_probe.runs.summary",
    "per_problem_counts": "mta_probe.runs.summary",
    "summarize_samples": "mta_probe.runs.summary",
}
__getattr__, _ = lazy_exports(__name__, _LAZY)

__all__ = [
    *_LAZY,
    "ProbeProgress",
    "RecordWriter",
    "TENSORBOARD_DIR",
    "TRACKERS",
    "Tracker",
    "Trackers",
    "check_loggers",
    "cut_records",
    "default_run_dir",
    "mta_home",
    "open_records",
    "open_trackers",
    "package_versions",
    "prepare_run_dir",
    "read_json",
    "read_records",
    "room_for",
    "write_bytes_atomic",
    "write_json_atomic",
]
