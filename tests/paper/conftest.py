"""Fixtures for ingestion tests: the shared real paper (loaded once per session) and PDF builders."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from papercoder.paper import Paper, load_paper

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
ATTENTION = SHARED / "examples" / "attention"

Line = tuple[str, float]

# pymupdf 2 ships partial type hints; the tests use it untyped, as the library code does.
pymupdf: Any = importlib.import_module("pymupdf")


@pytest.fixture(scope="session")
def attention() -> Path:
    """The shared "Attention Is All You Need" example; tests skip when ../shared is absent."""
    if not (ATTENTION / "paper.pdf").is_file():
        pytest.skip("../shared/examples/attention is not present")
    return ATTENTION


@pytest.fixture(scope="session")
def attention_papers(attention: Path) -> dict[str, Paper]:
    """The example in every format, parsed once: layout analysis of 15 pages takes seconds."""
    return {
        "pdf-pymupdf": load_paper(attention / "paper.pdf"),
        "pdf-pypdf": load_paper(attention / "paper.pdf", pdf_engine="pypdf"),
        "latex": load_paper(attention / "paper.tex"),
        "s2orc": load_paper(attention / "paper.s2orc.json"),
    }


def write_pdf(path: Path, pages: list[list[Line]], **save_options: object) -> Path:
    """Write a PDF whose pages hold the given (text, font size) lines, top to bottom."""
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page()
        y = 72.0
        for text, size in lines:
            if text:
                page.insert_text((72, y), text, fontsize=size, fontname="hebo" if size > 11 else "helv")
            y += size * 1.8
    doc.save(path, **save_options)
    doc.close()
    return path


TINY_PAPER: list[list[Line]] = [
    [
        ("A Tiny Test Paper", 20),
        ("Jane Doe, Example University", 10),
        ("", 10),
        ("Abstract", 12),
        ("We study tiny papers. Our method reaches 99.1 accuracy on the toy task.", 10),
        ("", 10),
        ("1 Introduction", 14),
        ("Tiny papers are easy to parse. This paragraph introduces the problem.", 10),
        ("It has a second sentence with the learning rate 0.001 and batch size 32.", 10),
        ("", 10),
        ("2 Method", 14),
        ("The model uses 4 layers with hidden size 256 and dropout 0.1.", 10),
        ("", 10),
        ("References", 14),
        ("[1] A. Author. A cited work. In Proc. Conf., 2020.", 10),
        ("[2] B. Author. Another cited work. arXiv, 2021.", 10),
    ]
]


@pytest.fixture
def tiny_pdf(tmp_path: Path) -> Path:
    """A one-page paper with a title, abstract, two numbered sections and references."""
    return write_pdf(tmp_path / "tiny.pdf", TINY_PAPER)


@pytest.fixture
def pdf_writer(tmp_path: Path) -> Callable[..., Path]:
    """Build PDFs inside the test's temporary folder: ``pdf_writer("name.pdf", pages, **save_options)``."""

    def build(name: str, pages: list[list[Line]], **save_options: object) -> Path:
        return write_pdf(tmp_path / name, pages, **save_options)

    return build
