"""Parallel PDF ingest (``--jobs``): page ranges parsed in worker processes give the same text as one process, on
the shared example and on a generated long PDF whose heading levels depend on pages far apart; each process runs
the layout model on one thread; a worker's failure reaches the caller."""

from __future__ import annotations

import gc
import importlib
import re
from collections import Counter
from pathlib import Path

import pytest

from papercoder.paper.pdf import load_pdf
from papercoder.paper.pdf_layout import MIN_PAGES_PER_JOB, _parse_beside_workers, jobs_for, page_ranges, restore_hyphens
from papercoder.paper.pdf_model import SESSION_THREADS, modules
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
    assert load_pdf(path, jobs=3).markdown() == serial  # two workers fed beside this process
    # The heading levels are the document's, not a range's: every section is an h2 below the one h1 title.
    assert re.findall(r"^# .*$", serial, re.M) == ["# A Generated Long Paper"]
    assert len(re.findall(r"^## .*Section number", serial, re.M)) == 30
    assert len(re.findall(r"^### .*A subsection", serial, re.M)) == 30


def test_every_layout_model_session_runs_on_one_thread() -> None:
    modules()
    gc.collect()
    ort = importlib.import_module("onnxruntime")
    sessions = [o for o in gc.get_objects() if isinstance(o, ort.InferenceSession)]
    # ours (the layout model, image features, table grid) and none left of the default model import pymupdf loads
    assert len(sessions) == 3
    assert {s.get_session_options().intra_op_num_threads for s in sessions} == {SESSION_THREADS} == {1}
    assert pymupdf._papercoder_layout == "rf"


def test_hyphens_restored_in_one_pass_longest_join_first() -> None:
    counts = Counter({"multi": 1, "head": 2, "headed": 2, "transduc": 1})
    breaks = [("multi", "head"), ("multi", "headed"), ("transduc", "tion")]
    text = "multihead and multiheaded attention; multiheads; transduction"
    fixed = restore_hyphens(text, counts, breaks)
    assert fixed == "multi-head and multi-headed attention; multiheads; transduction"


def test_a_worker_failure_reaches_the_caller(tmp_path: Path) -> None:
    data = long_pdf(tmp_path / "long.pdf", 8).read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_text("not a PDF")  # what the worker is told to read
    with pytest.raises(RuntimeError, match="Failed to open"):
        _parse_beside_workers(data, page_ranges(8, 4), 1, broken)
