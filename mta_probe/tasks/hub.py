"""Rows of a published dataset from the Hugging Face hub (or a local parquet file), as plain dicts.

Every hub loader is two parts: `hub_rows` fetches rows (lazy `datasets` import; any failure becomes
one DataUnavailableError line), and a pure `*_problem(row, ...)` converter, in the benchmark's own
module, that the tests exercise on the real files and on rows copying the hub layout.
"""

from __future__ import annotations

import os
from typing import Any

from mta_probe.errors import DataUnavailableError


def hub_rows(repo: str, config: str | None, split: str, *, data_files: str | None = None
             ) -> list[dict[str, Any]]:
    """All rows of one split of a hub dataset (or of local parquet files when `data_files` is set).

    Args:
        repo: hub ID, or "parquet" together with `data_files`.
        config: the dataset configuration (subset), or None.
        split: the split to read.
        data_files: a local file for the "parquet" builder.

    Returns:
        The rows as plain dicts, in dataset order.
    """
    where = data_files or repo
    try:
        import datasets
    except ImportError as exc:
        raise DataUnavailableError(
            f"loading {where} needs the `datasets` package: pip install 'mta[hub]'") from exc
    try:
        if data_files is not None:
            ds = datasets.load_dataset(repo, data_files=data_files, split=split)
        else:
            ds = datasets.load_dataset(repo, config, split=split)
    except Exception as exc:  # datasets raises many unrelated types for "not reachable/not cached"
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise DataUnavailableError(
            f"{where} could not be loaded{offline}: {type(exc).__name__}: {first}. The hub is "
            "unreachable without network access, and offline mode needs a cached copy") from exc
    return [dict(row) for row in ds]
