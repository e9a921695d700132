"""Read back what the real trackers wrote: TensorBoard's event files through TensorBoard's own
EventAccumulator (no TensorFlow needed), wandb's offline run file through wandb's own protobuf
records.

wandb 0.31 ships no Python reader for its `.wandb` files (the old `wandb.sdk.internal.datastore`
is gone with the move to wandb-core), so `wandb_records` walks the file's framing here: a 7-byte
header (":W&B", magic 0xBEE1, version 0), then LevelDB-log blocks of 32 KiB, each record a 7-byte
header (CRC32, little-endian length, type: 1 full, 2 first, 3 middle, 4 last) and its bytes; a
block's tail shorter than a header is padding. Each whole record is a `wandb_internal_pb2.Record`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BLOCK = 32768
HEADER = 7


@pytest.fixture
def offline_wandb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """wandb on disk only (no login, no upload), its files in the run directory; wandb's
    process-wide settings are torn down after the test, so the next run reads its environment
    afresh."""
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_DIR", "TENSORBOARD_DIR"):
        monkeypatch.delenv(name, raising=False)
    yield
    wandb.teardown()


def tensorboard_events(folder: Path) -> Any:
    """TensorBoard's EventAccumulator over `folder`, loaded, keeping every event."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value), ...] of every scalar under `folder`."""
    events = tensorboard_events(folder)
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def tensorboard_texts(folder: Path) -> dict[str, str]:
    """tag -> the last text logged under it (the text plugin stores tags as `<tag>/text_summary`)."""
    events = tensorboard_events(folder)
    return {tag.removesuffix("/text_summary"): events.Tensors(tag)[-1].tensor_proto.string_val[0].decode()
            for tag in events.Tags()["tensors"] if tag.endswith("/text_summary")}


def wandb_run_file(root: Path) -> Path:
    """The one offline run's `.wandb` file under `root/wandb`."""
    found = sorted(root.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(found) == 1, found
    return found[0]


def wandb_records(path: Path) -> Iterator[Any]:
    """wandb's protobuf Records of one run file, in the order written."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    if len(data) < HEADER:  # not written yet
        return
    assert data[:4] == b":W&B" and data[4:6] == (0xBEE1).to_bytes(2, "little"), data[:7]
    position, pieces = HEADER, []
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:  # padding at a block's end
            position += left
            continue
        length = int.from_bytes(data[position + 4:position + 6], "little")
        kind = data[position + 6]
        if position + HEADER + length > len(data):  # a record still being written
            return
        pieces.append(data[position + HEADER:position + HEADER + length])
        position += HEADER + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(pieces))
            pieces = []
            yield record


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def wandb_run(path: Path, wait: float = 30.0) -> dict[str, Any]:
    """What one offline run holds: its project, display name, config, history rows (one dict a
    step, by `_step`) and final summary.

    `run.finish()` returns once wandb-core has the run's last record, not once that process has
    written its file (seen here: an empty file right after finish, a whole one a moment later),
    so this waits up to `wait` seconds for the run's closing `exit` record.
    """
    deadline = time.monotonic() + wait
    records = list(wandb_records(path))
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, f"{path} holds no exit record after {wait} s"
        time.sleep(0.2)
        records = list(wandb_records(path))
    out: dict[str, Any] = {"history": {}, "summary": {}, "config": {}}
    for record in records:  # the whole file the wait read, its exit record included
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["project"], out["name"] = record.run.project, record.run.display_name
            out["config"].update({_key(i): json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "history":
            row = {_key(i): json.loads(i.value_json) for i in record.history.item}
            out["history"].setdefault(row["_step"], {}).update(row)
        elif kind == "summary":
            out["summary"].update({_key(i): json.loads(i.value_json) for i in record.summary.update})
    return out
