"""Tables of the report: one value per cell, written as CSV (full precision) or rendered as
Markdown and HTML (rounded per column)."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BadInputError
from mta_probe.runs import write_bytes_atomic

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    """A table column: its CSV name and how a number is shown ("{:.1f}"); text is shown as is."""

    name: str
    fmt: str = "{}"


@dataclass(frozen=True)
class Table:
    """A titled table: columns and rows of raw values (None is an empty cell)."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


def show(value: Cell, fmt: str) -> str:
    """A cell as text: '' for None, yes/no for a bool, numbers through the column's format."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and value != value:  # nan
        return "n/a"
    return fmt.format(value) if isinstance(value, (int, float)) else str(value)


def write_csv(path: Path, table: Table) -> Path:
    """Write the table as CSV: a header of column names, numbers at full precision.

    Args:
        path: the CSV file (its folder is created).
        table: the table.

    Returns:
        The path written.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    write_bytes_atomic(path, buffer.getvalue().encode("utf-8"))
    return path


def to_markdown(table: Table) -> str:
    """The table as a GitHub-flavoured Markdown table (pipes in cells escaped)."""
    lines = ["| " + " | ".join(c.name for c in table.columns) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.rows:
        cells = (show(v, c.fmt).replace("|", "\\|") for v, c in zip(row, table.columns))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_html(table: Table, colours: dict[str, str]) -> str:
    """The table as HTML; a cell whose text is a category name gets that colour."""
    head = "".join(f"<th>{html.escape(c.name)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for value, column in zip(row, table.columns):
            text = show(value, column.fmt)
            style = f' style="color:{colours[text]};font-weight:bold"' if text in colours else ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
