"""PyMuPDF layout analysis of a PDF, page range by page range, in worker processes (``--jobs``).

Layout analysis is per page, apart from two document-wide steps, which are done here once for the whole document
so that any number of jobs gives the same Markdown as one process:

* the heading levels: pymupdf4llm ranks the font sizes of every title and section heading *of the pages it
  parsed*; here each range's parsed pages are gathered first and the levels set from the sizes of all of them
  (``update_header_tags``), then the whole document is rendered at once;
* the hyphen restoration (``_restore_hyphens`` in the old single-pass code): its word counts are summed over
  every page before any join is undone.

Margin line numbers are found and removed page by page (``redact_line_numbers``), in the process that parses the
page. Pages are parsed in ranges of at most ``CHUNK_PAGES``, each from a freshly opened document, with MuPDF's
cache emptied after it, so a process holds one range's intermediate data at a time, whatever the job count.

``jobs`` is the cores to use: each process runs the layout model on one thread (``pdf_model.py``), and with
``jobs`` > 1 the calling process parses ranges too, from the back, next to ``jobs - 1`` worker processes taking
them from the front (``spawn``: MuPDF and the layout model's runtime are not safe to fork).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from papercoder.paper.pdf_model import modules

#: Pages parsed together at most: bounds the memory of the analysis on a long paper, and how long one process may
#: still be busy after the others ran out of ranges (4 pages: about 0.7 s; ranges of 8 left 60 pages 0.3 s slower
#: at two jobs, and cost no less at one).
CHUNK_PAGES = 4
#: Pages a job must have before the default starts another process. A worker takes about 1.3 s to start, in which
#: this process parses 6 or 7 pages; past that the second core pays: the 15-page example read in 2.7–3.1 s at two
#: jobs against 3.2–3.5 s at one (2 cores). An explicit ``jobs`` is taken as given.
MIN_PAGES_PER_JOB = 7
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
    fixes: dict[str, str] = {}
    for head, tail in breaks:
        joined = head + tail
        if counts.get(head.lower(), 0) and counts.get(tail.lower(), 0) > 1 and not counts.get(joined.lower(), 0):
            fixes.setdefault(joined, f"{head}-{tail}")
    if not fixes:
        return markdown
    # One pass over the text for all of them (a pass per break took 1.7 s on 300 pages); longest first, so that
    # of two joins where one begins the other the longer is tried first.
    words = "|".join(re.escape(joined) for joined in sorted(fixes, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])(?:{words})(?!\w)", lambda match: fixes[match.group()], markdown)


def _parse(source: bytes | str, pages: list[int]) -> ParsedRange:
    """Parse ``pages`` of the PDF (its bytes, or a path to them; line numbers removed first), in whichever process
    this runs.

    The document is opened for this range alone: MuPDF keeps what it parsed of every page an open document has
    served, so one document read through would hold the whole paper's worth by its end."""
    pymupdf, layout = modules()
    found = ParsedRange(None)
    opened = pymupdf.open(stream=source, filetype="pdf") if isinstance(source, bytes) else pymupdf.open(source)
    with quiet_mupdf(pymupdf), opened as doc:
        for number in pages:
            found.line_numbers |= redact_line_numbers(pymupdf, doc[number])
            _hyphen_words(doc[number], found.counts, found.breaks)
        # use_ocr=False because scans are refused before and the OCR probe prints to stdout.
        found.document = layout.parse_document(doc, pages=pages, use_ocr=False, force_text=True, show_progress=False)
    # MuPDF's store (its cache of fonts, images and parsed objects, for every document of the process) kept what
    # each closed range's document had loaded: about 160 MB of a 300-page read. Nothing in it serves the next
    # range, which opens the document anew.
    pymupdf.TOOLS.store_shrink(100)
    for page in found.document.pages:
        # The page's whole text (extractDICT) and word list: rendering reads the boxes alone, and these made half
        # of what a range sends back and the calling process keeps until the end.
        page.fulltext = page.words = page.links = None
    return found


_WORKER_PDF = ""


def _worker_open(path: str) -> None:
    """Worker initialiser: note the PDF's path and load the layout model.

    The worker reads the PDF from a temporary copy, not from bytes passed to it: those were written to the
    worker's pipe while it started, so the calling process stalled until the new interpreter had imported
    papercoder and read them (0.5 s of a 60-page read, the PDF being 8 MB), and a worker held them all (41 MB at
    300 pages) where MuPDF reads a file as it needs it."""
    global _WORKER_PDF
    _WORKER_PDF = path
    modules()


def _worker_parse(pages: list[int]) -> ParsedRange:
    return _parse(_WORKER_PDF, pages)


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def jobs_for(page_count: int, jobs: int | None) -> int:
    """The processes (one core each) to use for ``page_count`` pages: ``jobs``, or by default the cores, as far as
    the pages make them worth starting (``MIN_PAGES_PER_JOB`` each)."""
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
    with tempfile.TemporaryDirectory(prefix="papercoder-pdf-") as folder:
        copy = Path(folder, "paper.pdf")  # the workers' bytes (see _worker_open)
        copy.write_bytes(data)
        results = _parse_beside_workers(data, ranges, min(jobs - 1, len(ranges) - 1), copy)
    return [results[i] for i in range(len(ranges))]


def _parse_beside_workers(data: bytes, ranges: list[list[int]], workers: int, copy: Path) -> dict[int, ParsedRange]:
    """Each range's parse by its index: ``workers`` processes take them from the front, this one from the back.

    A thread of this process hands a worker its next range as soon as it sends one back, so no range waits in a
    worker's queue: queued two deep (refilled between this process's own ranges), a worker still had two ranges
    to do when this process ran out, and 60 pages took 1.9 s longer than their share."""
    results: dict[int, ParsedRange] = {}
    pending = deque(enumerate(ranges))
    lock = threading.Lock()

    def take(front: bool) -> tuple[int, list[int]] | None:
        with lock:
            if not pending:
                return None
            return pending.popleft() if front else pending.pop()

    with ProcessPoolExecutor(workers, get_context("spawn"), initializer=_worker_open, initargs=(str(copy),)) as pool:

        def feed() -> None:
            running: dict[Future[ParsedRange], int] = {}
            while True:
                while len(running) < workers and (item := take(front=True)):
                    running[pool.submit(_worker_parse, item[1])] = item[0]
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    results[running.pop(future)] = future.result()

        with ThreadPoolExecutor(1) as feeder:
            fed = feeder.submit(feed)
            try:
                while (item := take(front=False)) and not fed.done():
                    results[item[0]] = _parse(data, item[1])
            except BaseException:
                with lock:
                    pending.clear()  # so that the feeder stops handing out ranges
                raise
            fed.result()  # a worker's error, raised here
    return results


def layout_markdown(doc: Any, data: bytes, jobs: int | None = None) -> tuple[str, bool]:
    """The Markdown of ``doc`` (opened from ``data``) by pymupdf4llm's layout analysis, hyphens restored, and
    whether margin line numbers were removed. The same text for any ``jobs`` (default: the cores, as far as the
    page count makes them worth starting); errors of the analysis propagate."""
    _, layout = modules(model=False)
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
