"""PyMuPDF layout analysis of a PDF, page range by page range, in worker processes (``--jobs``).

Layout analysis is per page, apart from two document-wide steps, which are done here once for the whole document
so that any number of jobs gives the same Markdown as one process:

* the heading levels: pymupdf4llm ranks the font sizes of every title and section heading *of the pages it
  parsed*; here each range's parsed pages are gathered first and the levels set from the sizes of all of them
  (``update_header_tags``), then the whole document is rendered at once;
* the hyphen restoration (``_restore_hyphens`` in the old single-pass code): its word counts are summed over
  every page before any join is undone.

Margin line numbers are found and removed page by page (``redact_line_numbers``), in the process that parses the
page. Pages are parsed in ranges of at most ``CHUNK_PAGES``, so the analysis of a long paper holds one range's
intermediate data at a time, whatever the job count. With ``jobs`` > 1 the calling process parses ranges too, next
to ``jobs - 1`` worker processes (``spawn``: MuPDF and the layout model's runtime are not safe to fork).
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

#: Pages parsed together at most: bounds the memory of the analysis on a long paper.
CHUNK_PAGES = 8
#: Pages a job must have before the default starts another process: a worker takes one to two seconds to start and
#: one process already keeps about 1.5 cores busy (the layout model's threads), so on the 15-page example a second
#: process made reading slower (3.8 s against 3.0 s on 2 cores); an explicit ``jobs`` is taken as given.
MIN_PAGES_PER_JOB = 30
_PUNCT = ".,;:()"


@dataclass
class ParsedRange:
    """What one range of pages gives: pymupdf4llm's parsed document (the document's own fields and the range's
    pages) and the hyphenation statistics of their words."""

    document: Any
    line_numbers: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    breaks: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def quiet_mupdf(pymupdf: Any) -> Iterator[None]:
    """Keep MuPDF's repair chatter off stderr; the outcome is reported through exceptions instead."""
    errors, warnings = pymupdf.TOOLS.mupdf_display_errors(), pymupdf.TOOLS.mupdf_display_warnings()
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        yield
    finally:
        pymupdf.TOOLS.mupdf_display_errors(bool(errors))
        pymupdf.TOOLS.mupdf_display_warnings(bool(warnings))


def redact_line_numbers(pymupdf: Any, page: Any) -> bool:
    """Remove margin line numbers (review copies) from a page of the in-memory document before layout analysis.

    A line-number column is a vertical run of at least eight rising bare numbers sharing one x position,
    in a strip of the page that no other word reaches (a margin or the gutter between text columns); a
    numeric table column fails that test because body text above or below it spans the same strip.
    """
    words = page.get_text("words")
    columns: dict[int, list[Any]] = {}
    for word in words:
        if re.fullmatch(r"\d{1,4}", word[4]):
            columns.setdefault(round(word[0] / 3), []).append(word)
    redact = False
    for members in columns.values():
        if len(members) < 8:
            continue
        left, right = min(w[0] for w in members), max(w[2] for w in members)
        ids = {id(w) for w in members}
        if any(w[0] < right and w[2] > left for w in words if id(w) not in ids):
            continue
        values = [int(w[4]) for w in sorted(members, key=lambda w: w[1])]
        if sum(1 for a, b in itertools.pairwise(values) if b > a) < 0.8 * (len(values) - 1):
            continue
        for word in members:
            page.add_redact_annot(pymupdf.Rect(word[:4]))
        redact = True
    if redact:
        page.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE, graphics=pymupdf.PDF_REDACT_LINE_ART_NONE)
    return redact


def _hyphen_words(page: Any, counts: Counter[str], breaks: list[tuple[str, str]]) -> None:
    """Count the page's words and note each word that ends a line with a hyphen, with the word after it."""
    words = page.get_text("words")
    for index, word in enumerate(words):
        token = word[4]
        counts[token.lower().strip(_PUNCT)] += 1
        following = words[index + 1] if index + 1 < len(words) else None
        if token.endswith("-") and len(token) > 2 and following and following[6] != word[6]:
            breaks.append((token[:-1], following[4].rstrip(".,;:)")))


def restore_hyphens(markdown: str, counts: Counter[str], breaks: list[tuple[str, str]]) -> str:
    """Put back the hyphen of compounds that pymupdf4llm joined across a line break.

    pymupdf4llm joins "sequence-" + "aligned" at a line end into "sequencealigned". A join is undone when
    both halves also occur as words elsewhere in the paper and the joined form never does; a true
    hyphenation break ("transduc-" + "tion") fails that test and stays joined.
    """
    for head, tail in breaks:
        joined = head + tail
        if counts.get(head.lower(), 0) and counts.get(tail.lower(), 0) > 1 and not counts.get(joined.lower(), 0):
            markdown = re.sub(rf"(?<![\w-]){re.escape(joined)}(?!\w)", f"{head}-{tail}", markdown)
    return markdown


def select_layout_model(pymupdf: Any) -> None:
    """Use PyMuPDF's text-feature layout model ("rf") instead of its default image+text one.

    On our benchmark paper it is about twice as fast (3.9 vs 1.8–2.5 pages/s on 2 cores) with the same 3-gram and
    table-cell recall. PyMuPDF selects its model through the ``_get_layout`` hook that ``pymupdf.layout.activate()``
    installs; when this PyMuPDF has no such hook, or ``PAPERCODER_PDF_LAYOUT=full``, the default model stays.
    """
    if getattr(pymupdf, "_papercoder_layout", None) or os.environ.get("PAPERCODER_PDF_LAYOUT") == "full":
        return
    try:
        layout: Any = importlib.import_module("pymupdf.layout")
        model = layout.DocumentLayoutAnalyzer.get_model(feature_set_name="rf")
    except Exception:  # a PyMuPDF without this model: keep its default
        return
    if not hasattr(pymupdf, "_get_layout"):
        return

    def _get_layout(*args: Any, **kwargs: Any) -> Any:
        return model.predict(*args, **kwargs)

    pymupdf._get_layout = _get_layout
    pymupdf._papercoder_layout = "rf"


def _modules() -> tuple[Any, Any]:
    # Imported here (and untyped) because pymupdf4llm loads its layout model at import time (about a second).
    pymupdf: Any = importlib.import_module("pymupdf")
    importlib.import_module("pymupdf4llm")
    select_layout_model(pymupdf)
    layout: Any = importlib.import_module("pymupdf4llm.helpers.document_layout")
    return pymupdf, layout


def _parse(data: bytes, pages: list[int]) -> ParsedRange:
    """Parse ``pages`` of the PDF ``data`` (line numbers removed first), in whichever process this runs.

    The document is opened for this range alone: MuPDF keeps what it parsed of every page an open document has
    served, so one document read through would hold the whole paper's worth by its end."""
    pymupdf, layout = _modules()
    found = ParsedRange(None)
    with quiet_mupdf(pymupdf), pymupdf.open(stream=data, filetype="pdf") as doc:
        for number in pages:
            found.line_numbers |= redact_line_numbers(pymupdf, doc[number])
            _hyphen_words(doc[number], found.counts, found.breaks)
        # use_ocr=False because scans are refused before and the OCR probe prints to stdout.
        found.document = layout.parse_document(doc, pages=pages, use_ocr=False, force_text=True, show_progress=False)
    return found


_WORKER_DATA = b""


def _worker_open(data: bytes) -> None:
    """Worker initialiser: keep the PDF's bytes (sent once per worker) and load the layout model."""
    global _WORKER_DATA
    _WORKER_DATA = data
    _modules()


def _worker_parse(pages: list[int]) -> ParsedRange:
    return _parse(_WORKER_DATA, pages)


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def jobs_for(page_count: int, jobs: int | None) -> int:
    """The processes to use for ``page_count`` pages: ``jobs``, or by default the cores, as far as the pages make
    them worth starting (``MIN_PAGES_PER_JOB`` each)."""
    if jobs is not None:
        return max(1, jobs)
    return max(1, min(default_jobs(), page_count // MIN_PAGES_PER_JOB))


def page_ranges(page_count: int, jobs: int) -> list[list[int]]:
    """The ranges the pages are parsed in: a few per job, so the jobs finish together, of at most ``CHUNK_PAGES``."""
    size = max(1, min(CHUNK_PAGES, math.ceil(page_count / (3 * max(1, jobs)))))
    return [list(range(start, min(start + size, page_count))) for start in range(0, page_count, size)]


def _parse_all(page_count: int, data: bytes, jobs: int) -> list[ParsedRange]:
    """Every range parsed, in page order: by this process alone, or with ``jobs - 1`` workers beside it."""
    ranges = page_ranges(page_count, jobs)
    if jobs <= 1 or len(ranges) == 1:
        return [_parse(data, pages) for pages in ranges]
    results: dict[int, ParsedRange] = {}
    workers = min(jobs - 1, len(ranges) - 1)
    pending = list(enumerate(ranges))
    with ProcessPoolExecutor(workers, get_context("spawn"), initializer=_worker_open, initargs=(data,)) as pool:
        running: dict[Future[ParsedRange], int] = {}

        def refill() -> None:
            # Two ranges queued per worker, so a worker never waits for this process to hand it the next one.
            while pending and len(running) < 2 * workers:
                index, pages = pending.pop(0)
                running[pool.submit(_worker_parse, pages)] = index

        refill()
        while pending:  # this process takes the last range left each time, the workers the first ones
            index, pages = pending.pop()
            results[index] = _parse(data, pages)
            for done in [f for f in running if f.done()]:
                results[running.pop(done)] = done.result()
            refill()
        for future, index in running.items():
            results[index] = future.result()
    return [results[i] for i in range(len(ranges))]


def layout_markdown(doc: Any, data: bytes, jobs: int | None = None) -> tuple[str, bool]:
    """The Markdown of ``doc`` (opened from ``data``) by pymupdf4llm's layout analysis, hyphens restored, and
    whether margin line numbers were removed. The same text for any ``jobs`` (default: the cores, as far as the
    page count makes them worth starting); errors of the analysis propagate."""
    _, layout = _modules()
    parts = _parse_all(doc.page_count, data, jobs_for(doc.page_count, jobs))
    document = parts[0].document  # its document-wide fields (table of contents, metadata) are every range's
    document.pages = [page for part in parts for page in part.document.pages]
    sizes = {
        box.max_fontsize
        for page in document.pages
        for box in page.boxes
        if box.boxclass in ("title", "section-header") and hasattr(box, "max_fontsize")
    }
    if sizes:
        layout.update_header_tags(document.pages, sizes)
    # header/footer=False drops running heads and page numbers found by the layout model.
    md = str(document.to_markdown(header=False, footer=False, show_progress=False))
    counts: Counter[str] = Counter()
    breaks: list[tuple[str, str]] = []
    for part in parts:
        counts.update(part.counts)
        breaks += part.breaks
    return restore_hyphens(md, counts, breaks), any(part.line_numbers for part in parts)
