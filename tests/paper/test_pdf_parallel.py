"""Parallel PDF ingest (``--jobs``): page ranges parsed in worker processes give the same text as one process, on
the shared example and on a generated long PDF whose heading levels depend on pages far apart."""

from __future__ import annotations

import re
from pathlib import Path

from papercoder.paper.pdf import load_pdf
from papercoder.paper.pdf_layout import MIN_PAGES_PER_JOB, jobs_for, page_ranges
from tests.paper.conftest import pymupdf

_WORDS = ["attention", "encoder", "decoder", "layer", "head", "query", "key", "value", "softmax", "scale"]


def long_pdf(path: Path, pages: int) -> Path:
    """A paper whose title (largest type) is only on page 1, a section (h2) and a subsection (h3) on every page:
    a range parsed on its own, without page 1, would rank the section headings first."""
    doc = pymupdf.open()
    n = 0
    for number in range(pages):
        html = "<h1 style='font-size:26px'>A Generated Long Paper</h1>" if number == 0 else ""
        html += f"<h2 style='font-size:17px'>{number + 1} Section number {number + 1}</h2>"
        for paragraph in range(3):
            words = []
            for _ in range(90):
                n = (n * 1103515245 + 12345) % (1 << 31)
                words.append(_WORDS[n % len(_WORDS)])
            html += f"<p style='font-size:10px'>{' '.join(words)}.</p>"
            if paragraph == 1:
                html += f"<h3 style='font-size:13px'>{number + 1}.{paragraph} A subsection</h3>"
        doc.new_page().insert_htmlbox(pymupdf.Rect(60, 60, 540, 780), html)
    doc.save(path)
    return path


def test_ranges_cover_every_page_once_in_order() -> None:
    for count, jobs in [(1, 1), (15, 2), (60, 2), (300, 4), (7, 16)]:
        ranges = page_ranges(count, jobs)
        assert [p for r in ranges for p in r] == list(range(count))
        assert max(len(r) for r in ranges) <= 8
    assert jobs_for(15, 4) == 4 and jobs_for(3, 1) == 1  # an explicit count is taken as given
    assert jobs_for(MIN_PAGES_PER_JOB - 1, None) == 1 and jobs_for(300, None) >= 1  # the default: worth starting


def test_parallel_and_serial_ingest_give_the_same_text_on_the_shared_paper(attention: Path) -> None:
    serial = load_pdf(attention / "paper.pdf", jobs=1)
    parallel = load_pdf(attention / "paper.pdf", jobs=2)
    assert jobs_for(15, 2) == 2 and len(page_ranges(15, 2)) > 2  # really split, and into ranges across processes
    assert parallel.markdown() == serial.markdown() and parallel.pages == serial.pages == 15


def test_parallel_and_serial_ingest_give_the_same_text_on_a_long_pdf(tmp_path: Path) -> None:
    path = long_pdf(tmp_path / "long.pdf", 30)
    serial = load_pdf(path, jobs=1).markdown()
    parallel = load_pdf(path, jobs=2).markdown()
    assert parallel == serial
    # The heading levels are the document's, not a range's: every section is an h2 below the one h1 title.
    assert re.findall(r"^# .*$", serial, re.M) == ["# A Generated Long Paper"]
    assert len(re.findall(r"^## .*Section number", serial, re.M)) == 30
    assert len(re.findall(r"^### .*A subsection", serial, re.M)) == 30
