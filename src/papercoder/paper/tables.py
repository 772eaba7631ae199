"""Tables as Markdown, from cell rows or from the simple HTML tables that s2orc stores."""

from __future__ import annotations

import re
from html.parser import HTMLParser


def rows_to_markdown(rows: list[list[str]]) -> str:
    """Render rows of cell text as a Markdown table; the first row is the header.

    Cells are whitespace-collapsed and ``|`` is escaped; empty rows are skipped and short rows padded.

    Args:
        rows: the table's rows, each a list of cell texts.

    Returns:
        The Markdown table, or "" when no row has text.
    """
    clean = [[re.sub(r"\s+", " ", cell).strip().replace("|", "\\|") for cell in row] for row in rows]
    clean = [row for row in clean if any(row)]
    if not clean:
        return ""
    width = max(len(row) for row in clean)
    lines = [
        "|" + "|".join(f" {cell} " if cell else " " for cell in row + [""] * (width - len(row))) + "|" for row in clean
    ]
    lines.insert(1, "|" + "---|" * width)
    return "\n".join(lines)


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
            span = dict(attrs).get("colspan") or "1"
            self.span = int(span) if span.isdigit() else 1
            if not self.rows:
                self.rows.append([])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.rows[-1].extend([""] * (self.span - 1))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_table_to_markdown(html: str) -> str:
    """Convert a ``<table><tr><td>…`` fragment to a Markdown table (``colspan`` becomes empty cells).

    Args:
        html: the HTML table.

    Returns:
        The Markdown table, or "" when it holds no text.
    """
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    return rows_to_markdown(parser.rows)
