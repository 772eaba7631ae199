"""PDF papers: PyMuPDF layout analysis to Markdown (default; page ranges in parallel, ``pdf_layout.py``), or pypdf
plain text (permissive licence).

Both engines refuse, with a one-line ``InputError``, what cannot be read faithfully: files that are not
PDFs, truncated or corrupt files, encrypted files, and scans without a text layer.
"""

from __future__ import annotations

import importlib
import io
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from papercoder.errors import InputError
from papercoder.paper import sections as sec
from papercoder.paper.markdown import build_paper, split_headings
from papercoder.paper.model import Paper
from papercoder.paper.pdf_layout import layout_markdown, quiet_mupdf
from papercoder.paper.plaintext import plain_to_markdown

PdfEngine = Literal["pymupdf", "pypdf"]

_OCR_HINT = "no text layer: run OCR first, e.g. `ocrmypdf in.pdf out.pdf`, then pass out.pdf"
_DECRYPT_HINT = "decrypt it first, e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`"
_PICTURE_RE = re.compile(r"<!-- Start of picture text -->(.*?)<!-- End of picture text -->", re.DOTALL)
_OMITTED_RE = re.compile(r"\*\*==> picture \[[^\]]*\] intentionally omitted <==\*\*|!\[[^\]]*\]\([^)]*\)")
_INLINE_REFERENCES_RE = re.compile(r"(?:^|(?<=\s))\*\*(References|Bibliography|REFERENCES)\*\*\s*(?=\[?\d|- |$)")
_NUMBER_LINE_RE = re.compile(r"^\s*\d{1,4}\s*$")
_LEADING_NUMBER_RE = re.compile(r"^\s*(\d{1,4})(?:\s+|$)")
_FOOTNOTE_START_RE = re.compile(r"^\s*[∗*†‡§¶]")


def _check_bytes(path: Path, data: bytes) -> None:
    """Reject files that are not PDFs or that end before the PDF trailer (an interrupted download)."""
    if b"%PDF-" not in data[:1024]:
        raise InputError(f"{path} is not a PDF (no %PDF- header): pass a real PDF, or rename it to its real type")
    if b"%%EOF" not in data[-8192:]:
        raise InputError(f"{path} is truncated (no %%EOF trailer at the end): download or export the PDF again")


def _sensible_title(title: str) -> str:
    """A metadata title worth using: not empty, not a file name, not a placeholder."""
    title = " ".join(title.split())
    if not title or re.search(r"\.(pdf|dvi|docx?|tex)$|^untitled|^microsoft word", title, re.IGNORECASE):
        return ""
    return title


def _clean_layout_markdown(md: str) -> str:
    """Tidy pymupdf4llm output: unwrap picture text, drop image stubs and stray page/line numbers."""
    md = _PICTURE_RE.sub(lambda m: "\n" + m.group(1).replace("<br>", "\n") + "\n", md)
    md = re.sub(r"<!--.*?-->", "", md, flags=re.DOTALL)
    md = _OMITTED_RE.sub("", md)
    # The references heading is sometimes set inline in bold after the acknowledgements.
    lines = [
        line if line.lstrip().startswith("#") else _INLINE_REFERENCES_RE.sub(r"\n\n## \1\n\n", line)
        for line in md.split("\n")
        if not _NUMBER_LINE_RE.match(line)
    ]
    return sec.tidy_text("\n".join(lines))


def _largest_text(page: Any) -> str:
    """The text set in the largest font on a page: the title on a paper's first page."""
    spans: list[tuple[float, str]] = []
    for block in page.get_text("dict").get("blocks", []):
        for line in block.get("lines", []):
            for span in line.get("spans", []):
                if span.get("text", "").strip():
                    spans.append((round(float(span["size"]), 1), span["text"].strip()))
    if not spans:
        return ""
    largest = max(size for size, _ in spans)
    return " ".join(text for size, text in spans if size == largest)[:300]


def _load_pymupdf(path: Path, data: bytes, keep_references: bool, jobs: int | None) -> Paper:
    # Imported here (and untyped) because pymupdf4llm loads its layout model at import time (about a second).
    pymupdf: Any = importlib.import_module("pymupdf")

    with quiet_mupdf(pymupdf):
        try:
            doc = pymupdf.open(stream=data, filetype="pdf")
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"{path} is a corrupt PDF ({exc}): download or export it again") from exc
        with doc:
            if doc.needs_pass:
                raise InputError(f"{path} is an encrypted PDF: {_DECRYPT_HINT}")
            if doc.page_count == 0:
                raise InputError(f"{path} is a corrupt PDF (no pages): download or export it again")
            try:
                has_text = any(page.get_text("text").strip() for page in doc)
            except RuntimeError as exc:
                raise InputError(f"{path} is a corrupt PDF ({exc}): download or export it again") from exc
            if not has_text:
                if doc.is_repaired:
                    raise InputError(f"{path} is a damaged PDF with no readable text: download or export it again")
                raise InputError(f"{path} has {_OCR_HINT}")
            metadata_title = _sensible_title((doc.metadata or {}).get("title") or "") or _largest_text(doc[0])
            try:
                md, line_numbers = layout_markdown(doc, data, jobs)
            except Exception as exc:  # the layout model can fail on malformed pages in many ways
                raise InputError(
                    f"{path}: PyMuPDF layout analysis failed ({type(exc).__name__}: {exc}): retry with the pypdf engine"
                ) from exc
            pages = doc.page_count
            repaired = bool(doc.is_repaired)
    paper = build_paper(
        split_headings(_clean_layout_markdown(md)),
        source_path=str(path),
        source_format="pdf",
        keep_references=keep_references,
        fallback_title=metadata_title,
        pdf=True,
    )
    paper.pages = pages
    if line_numbers:
        paper.dropped.append("line numbers")
    if repaired:
        paper.dropped.append("PDF needed repair: parts of damaged pages may be missing")
    return paper


def _strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers/footers and bare page numbers from plain-text pages.

    A running line is one of at least four words that recurs verbatim on many pages (anywhere: plain-text
    extraction follows the content stream, where a header may come after the body), or a short line at a
    page's edge that recurs up to its digits ("Page 3 of 9").
    """
    threshold = max(3, int(0.4 * len(pages)) + 1)

    def edge_key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    exact: Counter[str] = Counter()
    edges: Counter[str] = Counter()
    for lines in pages:
        filled = [line.strip() for line in lines if line.strip()]
        exact.update({line for line in filled if len(line.split()) >= 4})
        edges.update({edge_key(line) for line in filled[:2] + filled[-2:] if len(line.split()) <= 8})
    repeated = {line for line, count in exact.items() if count >= threshold}
    running = {key for key, count in edges.items() if count >= threshold}
    cleaned: list[list[str]] = []
    for lines in pages:
        indexes = [index for index, line in enumerate(lines) if line.strip()]
        edge_indexes = set(indexes[:2] + indexes[-2:])
        cleaned.append(
            [
                line
                for index, line in enumerate(lines)
                if not _NUMBER_LINE_RE.match(line)
                and line.strip() not in repeated
                and not (index in edge_indexes and edge_key(line) in running)
            ]
        )
    return cleaned


def _strip_leading_line_numbers(lines: list[str]) -> tuple[list[str], bool]:
    """Remove review-copy line numbers that plain-text extraction glues to the start of each line."""
    numbered = [(i, int(m.group(1))) for i, line in enumerate(lines) if (m := _LEADING_NUMBER_RE.match(line))]
    in_run = {
        index
        for position, (index, number) in enumerate(numbered)
        if (position > 0 and numbered[position - 1][1] == number - 1)
        or (position + 1 < len(numbered) and numbered[position + 1][1] == number + 1)
    }
    if len(in_run) < 8 or len(in_run) < 0.5 * len([line for line in lines if line.strip()]):
        return lines, False
    return [_LEADING_NUMBER_RE.sub("", line) if i in in_run else line for i, line in enumerate(lines)], True


def _pypdf_title(page: Any) -> str:
    """The largest-font text of a page, from pypdf's text visitor (font size times text matrix scale)."""
    spans: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        # Rotated text (the arXiv stamp in the margin) is never the title.
        if text.strip() and abs(tm[1]) < 1e-3 and abs(tm[2]) < 1e-3 and abs(cm[1]) < 1e-3:
            scale = abs(tm[3] or 1.0) * abs(cm[3] or 1.0)
            spans.append((round(size * scale, 1), text.strip()))

    page.extract_text(visitor_text=visit)
    if not spans:
        return ""
    largest = max(size for size, _ in spans)
    return " ".join(text for size, text in spans if size == largest)[:300]


def _load_pypdf(path: Path, data: bytes, keep_references: bool) -> Paper:
    import pypdf
    from pypdf.errors import DependencyError, PdfReadError

    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    # pypdf logs every repaired cross-reference as a warning; a broken file is reported by exception instead.
    pypdf_logger.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path} is an encrypted PDF: {_DECRYPT_HINT}")
        texts = [page.extract_text() or "" for page in reader.pages]
        metadata: Any = reader.metadata or {}
        title = _sensible_title(str(metadata.get("/Title") or ""))
        if not title and reader.pages:
            title = _pypdf_title(reader.pages[0])
    except DependencyError as exc:
        raise InputError(
            f"{path} is AES-encrypted and pypdf needs the cryptography package for it: "
            f"pip install 'pypdf[crypto]', or {_DECRYPT_HINT}"
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{path} is a corrupt PDF ({exc}): download or export it again") from exc
    finally:
        pypdf_logger.setLevel(level)
    if not any(text.strip() for text in texts):
        raise InputError(f"{path} has {_OCR_HINT}")
    pages = _strip_running_lines([text.split("\n") for text in texts])
    renumbered = [_strip_leading_line_numbers(lines) for lines in pages]
    pages = [lines for lines, _ in renumbered]
    if pages:
        # Footnotes sit at the bottom of the title page: authors' notes and the venue line, not content.
        for index, line in enumerate(pages[0]):
            if _FOOTNOTE_START_RE.match(line) and index > len(pages[0]) // 2:
                pages[0] = pages[0][:index]
                break
    text = "\n".join("\n".join(lines) for lines in pages)
    text = re.sub(r"(\w)-\n(\w)", r"\1-\2", text)  # a hyphen at a line end: keep it, join the word
    body = plain_to_markdown(text)
    if title:
        stripped = re.sub(r"\s+", " ", title).strip()
        body = f"# {stripped}\n\n{body}"
    paper = build_paper(
        split_headings(body, setext=False),
        source_path=str(path),
        source_format="pdf",
        keep_references=keep_references,
        fallback_title=title,
        pdf=True,
    )
    paper.pages = len(texts)
    if any(found for _, found in renumbered):
        paper.dropped.append("line numbers")
    return paper


def load_pdf(
    path: Path, *, engine: PdfEngine = "pymupdf", keep_references: bool = False, jobs: int | None = None
) -> Paper:
    """Load a PDF paper.

    Args:
        path: the PDF file.
        engine: ``pymupdf`` (layout analysis, tables as Markdown; AGPL) or ``pypdf`` (plain text; BSD).
        keep_references: keep the references section.
        jobs: cores for ``pymupdf`` layout analysis, one process each (page ranges in parallel, ``pdf_layout.py``;
            the same text for any number); default the cores, fewer for a very short PDF.

    Returns:
        The structured paper with ``pages`` set.

    Raises:
        InputError: the file is not a readable, unencrypted PDF with a text layer.
    """
    data = path.read_bytes()
    _check_bytes(path, data)
    if engine == "pymupdf":
        return _load_pymupdf(path, data, keep_references, jobs)
    if engine == "pypdf":
        return _load_pypdf(path, data, keep_references)
    raise InputError(f"unknown PDF engine {engine!r}: use 'pymupdf' or 'pypdf'")
