"""PDF ingestion on small PDFs built by the tests: structure, clean-ups, both engines."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from papercoder.paper import load_paper
from tests.paper.conftest import Line

ENGINES = ["pymupdf", "pypdf"]

# pymupdf 2 ships partial type hints; the tests use it untyped, as the library code does.
pymupdf: Any = importlib.import_module("pymupdf")


@pytest.mark.parametrize("engine", ENGINES)
def test_structure_of_a_small_pdf(tiny_pdf: Path, engine: str) -> None:
    paper = load_paper(tiny_pdf, pdf_engine=engine)  # type: ignore[arg-type]
    assert paper.title == "A Tiny Test Paper"
    assert paper.abstract == "We study tiny papers. Our method reaches 99.1 accuracy on the toy task."
    assert [s.title for s in paper.sections] == ["1 Introduction", "2 Method"]
    assert "learning rate 0.001 and batch size 32" in " ".join(paper.sections[0].text.split())
    assert paper.sections[1].text.strip() == "The model uses 4 layers with hidden size 256 and dropout 0.1."
    assert paper.pages == 1
    assert "references (2 entries)" in paper.dropped
    assert "front matter (authors, affiliations)" in paper.dropped
    assert "Jane Doe" not in paper.markdown()


@pytest.mark.parametrize("engine", ENGINES)
def test_keep_references(tiny_pdf: Path, engine: str) -> None:
    paper = load_paper(tiny_pdf, pdf_engine=engine, keep_references=True)  # type: ignore[arg-type]
    references = next(s for s in paper.sections if s.title == "References")
    assert "A cited work" in references.text
    assert not any(note.startswith("references") for note in paper.dropped)


def _numbered_pages() -> list[list[Line]]:
    pages: list[list[Line]] = []
    for number in range(3):
        lines: list[Line] = [("Line Numbered Paper", 20), ("Abstract", 12), ("A short abstract.", 10)]
        pages.append([*(lines if number == 0 else []), (f"{number + 1} Section Number {number + 1}", 14)])
    return pages


def _with_margin_numbers(path: Path) -> Path:
    """Add review-copy line numbers in the left margin and a running header to every page."""
    doc = pymupdf.open(path)
    for index, page in enumerate(doc):
        page.insert_text((200, 40), "Under review as a conference paper", fontsize=8)
        for row in range(20):
            y = 250 + row * 14
            page.insert_text((30, y), f"{index * 20 + row + 1:03d}", fontsize=7)
            page.insert_text((72, y), f"Body line {row} on page {index + 1} describes the method here.", fontsize=10)
    data = doc.tobytes()
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("engine", ENGINES)
def test_line_numbers_and_running_headers_removed(pdf_writer: Callable[..., Path], engine: str) -> None:
    path = _with_margin_numbers(pdf_writer("review.pdf", _numbered_pages()))
    paper = load_paper(path, pdf_engine=engine)  # type: ignore[arg-type]
    text = paper.markdown()
    assert "line numbers" in paper.dropped
    assert "Body line 0 on page 2 describes the method here." in " ".join(text.split())
    for number in ("001", "021", "045"):
        assert number not in text
    assert "Under review" not in text
    assert [s.title for s in paper.sections] == [
        "1 Section Number 1",
        "2 Section Number 2",
        "3 Section Number 3",
    ]


def test_metadata_title_when_no_heading(pdf_writer: Callable[..., Path]) -> None:
    doc_path = pdf_writer("plain.pdf", [[("Just a line of body text without any heading at all.", 10)] * 3])
    doc = pymupdf.open(doc_path)
    doc.set_metadata({"title": "Metadata Title"})
    doc_path.write_bytes(doc.tobytes())
    assert load_paper(doc_path, pdf_engine="pypdf").title == "Metadata Title"


def test_owner_password_only_pdf_is_readable(tiny_pdf: Path, tmp_path: Path) -> None:
    """Encrypted with an empty user password (print/copy restrictions only): readable without a password."""
    doc = pymupdf.open(tiny_pdf)
    target = tmp_path / "restricted.pdf"
    doc.save(target, encryption=pymupdf.PDF_ENCRYPT_AES_128, owner_pw="owner", user_pw="")
    for engine in ENGINES:
        assert load_paper(target, pdf_engine=engine).title == "A Tiny Test Paper"  # type: ignore[arg-type]


def test_text_feature_layout_model_is_selected(tmp_path: Path) -> None:
    """The faster text-feature layout model is installed through PyMuPDF's layout hook (fails loudly if a PyMuPDF
    release drops the hook, instead of silently going back to the slower model)."""
    import pymupdf

    from papercoder.paper import load_paper

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "A Small Paper", fontsize=20)
    page.insert_text((72, 120), "Abstract. We study a method in enough words to form a paragraph of text.")
    pdf = tmp_path / "small.pdf"
    doc.save(pdf)
    load_paper(pdf)
    assert getattr(pymupdf, "_papercoder_layout", None) == "rf"
