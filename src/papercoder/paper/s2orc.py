"""s2orc JSON papers (the input format of the original Paper2Code project).

Like Paper2Code's preprocessing, the model sees paragraph text under section names, without authors,
bibliography entries or span annotations. Two deliberate differences: citation markers ("[13]") are cut
out of the text using the ``cite_spans`` offsets, and the ``EQUATION`` placeholders are replaced by the
equation text s2orc stored in ``eq_spans``; tables and figure captions from ``ref_entries`` are placed
after the first paragraph that mentions them, because hyper-parameter tables matter for reproduction.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from papercoder.errors import InputError
from papercoder.paper import sections as sec
from papercoder.paper.model import Paper, Section
from papercoder.paper.tables import html_table_to_markdown
from papercoder.paper.textio import read_text

_NOT_S2ORC = (
    "is JSON but not an s2orc paper (no body_text paragraphs): convert the PDF with s2orc-doc2json or pass the PDF"
)


_NOTICE_RE = re.compile(
    r"copyright|permission|licen[cs]e|attribution|rights reserved|preprint|arxiv|proceedings|conference|"
    r"accepted|published|under review|workshop",
    re.IGNORECASE,
)


def _clean_title(title: str) -> tuple[str, bool]:
    """Drop notices that PDF parsers glue before the title ("Provided proper attribution… Attention Is…")."""
    title = " ".join(title.split())
    pieces = [piece for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z])", title) if piece]
    notice = " ".join(pieces[:-1])
    if len(pieces) > 1 and 1 <= len(pieces[-1].split()) <= 25 and (len(title) > 150 or _NOTICE_RE.search(notice)):
        return pieces[-1], True
    return title, False


def _paragraph_text(paragraph: dict[str, Any]) -> tuple[str, int]:
    """Paragraph text with citation markers cut out and equations filled in; returns (text, citations cut)."""
    text: str = paragraph.get("text") or ""
    cuts: list[tuple[int, int, str]] = []
    for span in paragraph.get("cite_spans") or []:
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            cuts.append((start, end, ""))
    for span in paragraph.get("eq_spans") or []:
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            number = f" {span['eq_num']}" if span.get("eq_num") else ""
            raw = span.get("raw_str") or ""
            cuts.append((start, end, f"\n\n{raw}{number}\n\n" if raw else ""))
    for start, end, replacement in sorted(cuts, reverse=True):
        text = text[:start] + replacement + text[end:]
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([.,;:)])", r"\1", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    return sec.tidy_text(text), len([c for c in cuts if not c[2]])


def _entry_text(key: str, entry: dict[str, Any]) -> str:
    caption = " ".join(str(entry.get("text") or "").split())
    if entry.get("type_str") == "table":
        table = html_table_to_markdown(str(entry.get("content") or entry.get("html") or ""))
        # s2orc numbers its TABREFs from 0 in document order and keeps no table number of its own.
        digits = re.sub(r"\D", "", key)
        number = str(entry.get("fig_num") or (int(digits) + 1 if digits else ""))
        label = caption if caption.lower().startswith("table") else f"Table {number}: {caption}".replace(" :", ":")
        return f"{label}\n\n{table}".strip()
    return caption


def _body(data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    parse = data.get("pdf_parse")
    holder = parse if isinstance(parse, dict) else data
    body = holder.get("body_text")
    if not isinstance(body, list) or not body or not all(isinstance(p, dict) and "text" in p for p in body):
        raise ValueError("no body_text")
    return holder, body


def s2orc_to_paper(data: Any, *, source_path: str = "", keep_references: bool = False) -> Paper:
    """Convert a parsed s2orc document into a ``Paper``.

    Args:
        data: the JSON object (s2orc with ``pdf_parse``, or a flat one with ``body_text``).
        source_path: recorded on the paper.
        keep_references: keep ``bib_entries`` as a References section.

    Returns:
        The structured paper.

    Raises:
        ValueError: the object is not an s2orc paper.
    """
    if not isinstance(data, dict):
        raise ValueError("not an object")
    holder, body = _body(data)
    dropped: list[str] = []
    title, cleaned = _clean_title(str(data.get("title") or holder.get("title") or ""))
    if cleaned:
        dropped.append("text before the title (e.g. licence notice)")
    abstract = data.get("abstract")
    if not isinstance(abstract, str):
        parts = holder.get("abstract") or []
        abstract = "\n\n".join(p.get("text", "") for p in parts if isinstance(p, dict))
    entries: dict[str, Any] = holder.get("ref_entries") or {}
    placed: set[str] = set()
    sections: list[Section] = []
    citations = 0
    for paragraph in body:
        text, cut = _paragraph_text(paragraph)
        citations += cut
        for span in paragraph.get("ref_spans") or []:
            ref_id = span.get("ref_id")
            if ref_id in entries and ref_id not in placed and isinstance(entries[ref_id], dict):
                placed.add(ref_id)
                text = f"{text}\n\n{_entry_text(ref_id, entries[ref_id])}"
        name = " ".join(str(paragraph.get("section") or "").split())
        number = str(paragraph.get("sec_num") or "").strip().rstrip(".")
        heading = f"{number} {name}".strip() if name else ""
        if sections and (not heading or heading == sections[-1].title):
            sections[-1].text = f"{sections[-1].text}\n\n{text}".strip()
            continue
        level = number.count(".") + 1 if re.fullmatch(r"[0-9]+(\.[0-9]+)*", number) else 1
        sections.append(Section(title=heading or "Body", text=text, level=level))
    rest = [_entry_text(key, entry) for key, entry in entries.items() if key not in placed and isinstance(entry, dict)]
    if any(rest):
        sections.append(Section(title="Figures and tables", text="\n\n".join(r for r in rest if r), level=1))
    if data.get("authors"):
        dropped.append("authors")
    if citations:
        dropped.append(f"{citations} citation markers")
    if holder.get("back_matter"):
        dropped.append("back matter (acknowledgements)")
    bib = holder.get("bib_entries") or {}
    if bib and keep_references:
        items = [
            f"- {entry.get('raw_text') or entry.get('title') or ''}"
            for entry in bib.values()
            if isinstance(entry, dict)
        ]
        sections.append(Section(title="References", text="\n".join(items), level=1))
    elif bib:
        dropped.append(f"bibliography ({len(bib)} entries)")
    start = sec.appendix_start(sections)
    if start is not None:
        sections = sec.mark_appendix(sections, start)
    return Paper(
        title=title,
        abstract=sec.tidy_text(abstract),
        sections=sections,
        source_path=source_path,
        source_format="s2orc",
        dropped=dropped,
    )


def load_s2orc(path: Path, *, keep_references: bool = False) -> Paper:
    """Load an s2orc JSON paper.

    Args:
        path: the ``.json`` file.
        keep_references: keep the bibliography as a References section.

    Returns:
        The structured paper.

    Raises:
        InputError: the file is not JSON, or not an s2orc paper.
    """
    try:
        data = json.loads(read_text(path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}): export the s2orc file again"
        ) from exc
    try:
        return s2orc_to_paper(data, source_path=str(path), keep_references=keep_references)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(f"{path} {_NOT_S2ORC}") from exc
