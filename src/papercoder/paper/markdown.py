"""Markdown and plain-text papers, and the Markdown → ``Paper`` structuring that the PDF path reuses.

The structuring rules: the first ``#`` heading is the title; a heading named "Abstract" (or a paragraph
starting with "Abstract") gives the abstract; the text between title and abstract (authors, affiliations)
is front matter and is dropped when an abstract was found; the references section is dropped unless asked
for; whatever follows the references is treated as appendix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from papercoder.paper import sections as sec
from papercoder.paper.model import Paper, Section
from papercoder.paper.plaintext import plain_to_markdown
from papercoder.paper.textio import read_text

_ATX_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
_SETEXT_RE = re.compile(r"^ {0,3}(={3,}|-{3,})[ \t]*$")
_SECTION_NUMBER_RE = re.compile(r"^([0-9]{1,2}(?:\.[0-9]{1,2}){0,4})\.?\s+\S")
_ABSTRACT_PARAGRAPH_RE = re.compile(r"^\W{0,4}abstract\W{0,4}(?:[\s.:—–-]+)", re.IGNORECASE)
# Headings that legitimately carry no section number in a numbered paper.
_UNNUMBERED_OK_RE = re.compile(
    r"^(abstract|references?|bibliography|acknowledge?ments?|appendix|appendices|conclusions?|"
    r"introduction|limitations|broader impacts?|ethics statement|reproducibility statement|"
    r"supplementary material|author contributions)\b",
    re.IGNORECASE,
)


@dataclass
class Heading:
    """One heading of a Markdown document and the text under it (up to the next heading)."""

    depth: int
    title: str
    body: str = ""


@dataclass
class MarkdownDoc:
    """A Markdown document cut at its headings."""

    preamble: str
    headings: list[Heading] = field(default_factory=list)


def split_headings(text: str, *, setext: bool = True) -> MarkdownDoc:
    """Cut Markdown at its ATX (``## x``) and setext (``x`` over ``===``) headings, ignoring code fences.

    Args:
        text: Markdown source.
        setext: also recognise setext headings (off for text converted from plain text, where a line of
            dashes is just a line of dashes).

    Returns:
        The text before the first heading and every heading with its body.
    """
    doc = MarkdownDoc(preamble="")
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        joined = sec.tidy_text("\n".join(body))
        if doc.headings:
            doc.headings[-1].body = joined
        else:
            doc.preamble = joined
        body.clear()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            body.append(line)
            continue
        match = None if in_fence else _ATX_RE.match(line)
        underline = None if in_fence or not body or not setext else _SETEXT_RE.match(line)
        previous = body[-1].strip() if body else ""
        if match:
            flush()
            doc.headings.append(Heading(depth=len(match.group(1)), title=sec.clean_heading(match.group(2))))
        elif underline and previous and not previous.startswith(("|", "-", "*", ">")) and "|" not in line:
            body.pop()
            flush()
            depth = 1 if underline.group(1).startswith("=") else 2
            doc.headings.append(Heading(depth=depth, title=sec.clean_heading(previous)))
        else:
            body.append(line)
    flush()
    return doc


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _split_abstract(text: str, *, pdf: bool) -> tuple[str, str]:
    """Separate an abstract from what a PDF's title page appends to it (footnotes, venue line)."""
    if not pdf:
        return text.strip(), ""
    kept: list[str] = []
    paragraphs = _paragraphs(text)
    for index, paragraph in enumerate(paragraphs):
        # pymupdf4llm renders footnotes as block quotes; the author/venue notes of the title page follow them.
        if paragraph.startswith(">") and kept:
            return "\n\n".join(kept), "\n\n".join(paragraphs[index:])
        kept.append(paragraph)
    return "\n\n".join(kept), ""


def _count_entries(text: str) -> int:
    lines = [line for line in text.split("\n") if line.strip()]
    numbered = [line for line in lines if re.match(r"^\W{0,3}(\[\d+\]|\d+\.\s)", line.strip())]
    return len(numbered) or len(_paragraphs(text))


def _demote_figure_headings(headings: list[Heading]) -> list[Heading]:
    """Fold unnumbered headings back into the text when the paper numbers its sections.

    Layout analysis sometimes tags a figure's label ("Multi-Head Attention" inside Figure 2) as a heading;
    in a paper whose real headings are numbered, such an unnumbered heading would split a section in two.
    """
    body = [h for h in headings if not sec.is_references(h.title)]
    numbered = sum(1 for h in body if sec.is_digit_numbered(h.title))
    if len(body) < 4 or numbered < 0.6 * len(body):
        return headings
    result: list[Heading] = []
    after_references = False
    for heading in headings:
        after_references = after_references or sec.is_references(heading.title)
        keep = (
            after_references
            or not result
            or sec.is_digit_numbered(heading.title)
            or _UNNUMBERED_OK_RE.match(heading.title)
            or sec.is_appendix_heading(heading.title)
            or heading.depth <= 1
        )
        if keep:
            result.append(heading)
        else:
            previous = result[-1]
            previous.body = sec.tidy_text(f"{previous.body}\n\n{heading.title}\n\n{heading.body}")
    return result


def build_paper(
    doc: MarkdownDoc,
    *,
    source_path: str,
    source_format: str,
    keep_references: bool,
    fallback_title: str = "",
    pdf: bool = False,
) -> Paper:
    """Turn a heading-split Markdown document into a ``Paper`` (title, abstract, sections, dropped notes).

    Args:
        doc: the document from ``split_headings``.
        source_path: recorded on the paper.
        source_format: recorded on the paper (``markdown``, ``pdf``).
        keep_references: keep the references section instead of dropping it.
        fallback_title: used when no heading can serve as title (e.g. PDF metadata).
        pdf: apply the PDF-specific clean-ups (title-page footnotes, figure labels read as headings).

    Returns:
        The structured paper.
    """
    dropped: list[str] = []
    headings = _demote_figure_headings(list(doc.headings)) if pdf else list(doc.headings)
    title = ""
    front = doc.preamble
    if headings and headings[0].depth == 1 and (pdf or not sec.is_abstract(headings[0].title)):
        if doc.preamble:
            dropped.append("text before the title (e.g. licence or arXiv notices)")
        title = headings[0].title
        front = headings[0].body
        headings = headings[1:]
    title = title or fallback_title

    abstract = ""
    for index, heading in enumerate(headings):
        if sec.is_abstract(heading.title):
            abstract, extra = _split_abstract(heading.body, pdf=pdf)
            if extra:
                dropped.append("title-page footnotes")
            del headings[index]
            break
    if not abstract:
        paragraphs = _paragraphs(front)
        for index, paragraph in enumerate(paragraphs):
            if _ABSTRACT_PARAGRAPH_RE.match(paragraph):
                abstract = _ABSTRACT_PARAGRAPH_RE.sub("", paragraph, count=1).strip()
                front = "\n\n".join(paragraphs[:index] + paragraphs[index + 1 :])
                break
    if front.strip():
        if abstract:
            dropped.append("front matter (authors, affiliations)")
        else:
            headings.insert(0, Heading(depth=headings[0].depth if headings else 2, title="Front matter", body=front))

    sections: list[Section] = []
    levels = sec.normalise_levels([h.depth for h in headings])
    references_at: int | None = None
    for heading, level in zip(headings, levels, strict=True):
        if sec.is_references(heading.title) and references_at is None:
            references_at = len(sections)
            if not keep_references:
                dropped.append(f"references ({_count_entries(heading.body)} entries)")
                continue
        number = _SECTION_NUMBER_RE.match(heading.title)
        if number:
            # "3.2.1 Scaled Dot-Product Attention" is level 3 whatever font size the PDF gave it.
            level = number.group(1).count(".") + 1
        sections.append(Section(title=heading.title, text=heading.body, level=level))
    appendix_at: int | None
    if references_at is not None:
        appendix_at = references_at + (1 if keep_references else 0)
        appendix_at = appendix_at if appendix_at < len(sections) else None
    else:
        appendix_at = sec.appendix_start(sections)
    if appendix_at is not None:
        sections = sec.mark_appendix(sections, appendix_at)
    return Paper(
        title=title,
        abstract=abstract,
        sections=sections,
        source_path=source_path,
        source_format=source_format,
        dropped=dropped,
    )


def parse_markdown(
    text: str,
    *,
    source_path: str = "",
    keep_references: bool = False,
    source_format: str = "markdown",
) -> Paper:
    """Structure Markdown text into a ``Paper``.

    Args:
        text: Markdown source. Plain text without Markdown headings gets numbered-heading detection.
        source_path: recorded on the paper.
        keep_references: keep the references section.
        source_format: recorded on the paper.

    Returns:
        The structured paper.
    """
    doc = split_headings(text)
    if not doc.headings:
        doc = split_headings(plain_to_markdown(text, first_line_title=True))
    return build_paper(doc, source_path=source_path, source_format=source_format, keep_references=keep_references)


def load_markdown(path: Path, *, keep_references: bool = False) -> Paper:
    """Load a ``.md``/``.markdown``/``.txt`` paper.

    Args:
        path: the file.
        keep_references: keep the references section.

    Returns:
        The structured paper.
    """
    text = read_text(path.read_bytes())
    return parse_markdown(text, source_path=str(path), keep_references=keep_references)
