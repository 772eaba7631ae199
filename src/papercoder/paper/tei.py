"""GROBID TEI XML papers: title, abstract, ``div``/``head`` sections, formulas, tables; no bibliography.

Parsed with the standard library's ``xml.etree``: it never fetches external entities, and the bundled expat
(2.4.1 or later) refuses entity-expansion bombs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from papercoder.errors import InputError
from papercoder.paper import sections as sec
from papercoder.paper.model import Paper, Section
from papercoder.paper.tables import rows_to_markdown

_NS = "{http://www.tei-c.org/ns/1.0}"


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _text(element: ET.Element, *, skip_citations: bool = True) -> str:
    """All text below an element; bibliography references ("[12]") are left out when asked."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        cited = _local(node.tag) == "ref" and node.get("type") == "bibr"
        if node.text and not (skip_citations and cited):
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    text = re.sub(r"\s+", " ", "".join(parts)).strip()
    text = re.sub(r" +([.,;:)])", r"\1", text)
    return re.sub(r"\(\s*\)|\[\s*\]", "", text)


def _figure(figure: ET.Element) -> str:
    head = figure.find(f"{_NS}head")
    label = figure.find(f"{_NS}label")
    description = figure.find(f"{_NS}figDesc")
    kind = "Table" if figure.get("type") == "table" else "Figure"
    name = " ".join(_text(e) for e in (head, label) if e is not None and _text(e)) or kind
    caption = f"{name}: {_text(description)}" if description is not None and _text(description) else name
    table = figure.find(f"{_NS}table")
    if table is None:
        return caption
    rows = [[_text(cell) for cell in row.findall(f"{_NS}cell")] for row in table.findall(f"{_NS}row")]
    return f"{caption}\n\n{rows_to_markdown(rows)}".strip()


def _blocks(div: ET.Element) -> str:
    blocks: list[str] = []
    for child in div:
        tag = _local(child.tag)
        if tag == "p":
            blocks.append(_text(child))
        elif tag == "formula":
            label = child.find(f"{_NS}label")
            number = f" {_text(label)}" if label is not None else ""
            formula = _text(child).removesuffix(number.strip()).strip()
            blocks.append(f"{formula}{number}")
        elif tag == "figure":
            blocks.append(_figure(child))
        elif tag == "list":
            blocks.append("\n".join(f"- {_text(item)}" for item in child.findall(f"{_NS}item")))
    return "\n\n".join(block for block in blocks if block)


def _div_sections(divs: list[ET.Element]) -> list[Section]:
    sections: list[Section] = []
    for div in divs:
        head = div.find(f"{_NS}head")
        title = _text(head) if head is not None else ""
        number = (head.get("n") or "").strip().rstrip(".") if head is not None else ""
        body = _blocks(div)
        if not title and sections:
            sections[-1].text = f"{sections[-1].text}\n\n{body}".strip()
            continue
        level = number.count(".") + 1 if re.fullmatch(r"[0-9A-Z]+(\.[0-9]+)*", number) else 1
        sections.append(Section(title=f"{number} {title}".strip() or "Body", text=body, level=level))
    return sections


def tei_to_paper(root: ET.Element, *, source_path: str = "", keep_references: bool = False) -> Paper:
    """Convert a GROBID TEI document into a ``Paper``.

    Args:
        root: the parsed ``<TEI>`` element.
        source_path: recorded on the paper.
        keep_references: keep ``listBibl`` as a References section.

    Returns:
        The structured paper.
    """
    dropped: list[str] = []
    title_element = root.find(f".//{_NS}teiHeader//{_NS}titleStmt/{_NS}title")
    abstract_element = root.find(f".//{_NS}teiHeader//{_NS}abstract")
    abstract = ""
    if abstract_element is not None:
        paragraphs = [_text(p) for p in abstract_element.iter(f"{_NS}p")]
        abstract = "\n\n".join(p for p in paragraphs if p) or _text(abstract_element)
    body = root.find(f".//{_NS}text/{_NS}body")
    sections = _div_sections(body.findall(f"{_NS}div")) if body is not None else []
    figures = [_figure(f) for f in body.findall(f"{_NS}figure")] if body is not None else []
    if figures:
        sections.append(Section(title="Figures and tables", text="\n\n".join(figures), level=1))
    back = root.find(f".//{_NS}text/{_NS}back")
    if back is not None:
        for div in back.findall(f"{_NS}div"):
            kind = div.get("type") or ""
            if kind in ("acknowledgement", "acknowledgment", "funding"):
                dropped.append("acknowledgements")
            elif kind == "annex":
                annex = _div_sections(div.findall(f"{_NS}div") or [div])
                if annex:
                    sections.extend(sec.mark_appendix(annex, 0))
        entries = back.findall(f".//{_NS}listBibl/{_NS}biblStruct")
        if entries and keep_references:
            items = [f"- {_text(entry, skip_citations=False)}" for entry in entries]
            sections.append(Section(title="References", text="\n".join(items), level=1))
        elif entries:
            dropped.append(f"bibliography ({len(entries)} entries)")
    if root.find(f".//{_NS}teiHeader//{_NS}author") is not None:
        dropped.append("authors")
    return Paper(
        title=_text(title_element) if title_element is not None else "",
        abstract=abstract,
        sections=sections,
        source_path=source_path,
        source_format="tei",
        dropped=dropped,
    )


def load_tei(path: Path, *, keep_references: bool = False) -> Paper:
    """Load a GROBID TEI XML paper (``.tei.xml`` or ``.xml``).

    Args:
        path: the XML file.
        keep_references: keep the bibliography as a References section.

    Returns:
        The structured paper.

    Raises:
        InputError: the file is not well-formed XML, or not TEI.
    """
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError as exc:
        raise InputError(f"{path} is not well-formed XML ({exc}): export the GROBID TEI file again") from exc
    if _local(root.tag) != "TEI":
        raise InputError(
            f"{path} is XML but not GROBID TEI (root <{_local(root.tag)}>): "
            "run GROBID processFulltextDocument, or pass the PDF"
        )
    return tei_to_paper(root, source_path=str(path), keep_references=keep_references)
