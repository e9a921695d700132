"""The report document: sections of text, tables and figures, as one self-contained HTML file
(figures embedded as base64, so it can be mailed or attached alone) and as Markdown beside its
figure files (for a repository or a notebook)."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BadInputError
from mta_probe.runs import write_bytes_atomic
from mta_report.figures import CATEGORY_COLOURS
from mta_report.tables import Table, to_html, to_markdown

STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee}p.note{color:#555;font-size:14px}"""
MIME = {".png": "image/png", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Section:
    """One part of the report.

    Attributes:
        title: the heading.
        text: paragraphs, plain text.
        tables: tables, shown in full.
        figures: image files (.png or .svg), embedded in the HTML, linked from the Markdown.
    """

    title: str
    text: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written."""

    html: Path
    markdown: Path


def _embed(figure: Path) -> str:
    try:
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
    except OSError as exc:
        raise BadInputError(f"cannot read figure {figure}: {exc.strerror or exc}") from None
    mime = MIME.get(figure.suffix.lower(), "image/png")
    return f'<p><img alt="{html.escape(figure.name)}" src="data:{mime};base64,{data}"></p>'


def render_html(title: str, sections: list[Section]) -> str:
    """The whole report as one HTML page with its figures inside."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p class='note'>{html.escape(p)}</p>" for p in section.text]
        parts += [_embed(f) for f in section.figures]
        for table in section.tables:
            parts.append(f"<h3>{html.escape(table.title)}</h3>" + to_html(table, CATEGORY_COLOURS))
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(title: str, sections: list[Section], where: Path) -> str:
    """The report as Markdown; figures are linked relative to the folder `where` it is written."""
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += list(section.text)
        for figure in section.figures:
            link = Path(os.path.relpath(figure.resolve(), where.resolve())).as_posix()
            parts.append(f"![{figure.stem}]({link})")
        for table in section.tables:
            parts += [f"### {table.title}", to_markdown(table)]
    return "\n\n".join(parts) + "\n"


def write_report(out: Path, title: str, sections: list[Section]) -> ReportFiles:
    """Write `report.html` (self-contained) and `report.md` into a folder.

    Args:
        out: the folder (created).
        title: the report's title.
        sections: its parts, in order.

    Returns:
        The two paths.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create {out}: {exc.strerror or exc}") from None
    page, markdown = out / "report.html", out / "report.md"
    write_bytes_atomic(page, render_html(title, sections).encode("utf-8"))
    write_bytes_atomic(markdown, render_markdown(title, sections, out).encode("utf-8"))
    return ReportFiles(html=page, markdown=markdown)
