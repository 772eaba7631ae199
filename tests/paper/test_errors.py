"""Every bad input ends in one ``InputError`` whose single line names the problem and the fix."""

from __future__ import annotations

import importlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from papercoder.errors import EXIT_BAD_INPUT, InputError
from papercoder.paper import load_paper

# pymupdf 2 ships partial type hints; the tests use it untyped, as the library code does.
pymupdf: Any = importlib.import_module("pymupdf")


def refuse(path: Path, *words: str, **options: object) -> str:
    """Load ``path`` expecting an InputError; check the message is one line containing ``words``."""
    with pytest.raises(InputError) as caught:
        load_paper(path, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    assert caught.value.exit_code == EXIT_BAD_INPUT
    for word in words:
        assert word in message, message
    return message


def test_missing_file(tmp_path: Path) -> None:
    refuse(tmp_path / "nope.pdf", "does not exist", "check the path")


def test_unknown_extension_lists_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "paper.docx"
    path.write_text("hello")
    refuse(path, "unsupported file type .docx", ".pdf", ".tex", ".tar.gz", ".md", ".json", ".xml")


@pytest.mark.parametrize("name", ["empty.pdf", "empty.tex", "empty.json", "empty.md"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    refuse(path, "is empty (0 bytes)", "again")


@pytest.mark.parametrize("engine", ["pymupdf", "pypdf"])
def test_truncated_pdf(tiny_pdf: Path, engine: str) -> None:
    data = tiny_pdf.read_bytes()
    tiny_pdf.write_bytes(data[: len(data) // 2])
    refuse(tiny_pdf, "truncated", "download or export the PDF again", pdf_engine=engine)


@pytest.mark.parametrize("engine", ["pymupdf", "pypdf"])
def test_corrupt_pdf_body(tiny_pdf: Path, engine: str) -> None:
    """Header and trailer intact, everything between replaced by garbage."""
    data = tiny_pdf.read_bytes()
    garbage = data[:20] + bytes(range(256)) * 4 + b"\n%%EOF\n"
    tiny_pdf.write_bytes(garbage)
    refuse(tiny_pdf, "PDF", "again", pdf_engine=engine)


def test_not_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_text("<html><body>404 Not Found</body></html>")
    refuse(path, "is not a PDF", "%PDF-")


@pytest.mark.parametrize("engine", ["pymupdf", "pypdf"])
def test_encrypted_pdf(tiny_pdf: Path, tmp_path: Path, engine: str) -> None:
    target = tmp_path / "locked.pdf"
    pymupdf.open(tiny_pdf).save(target, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="secret")
    refuse(target, "encrypted", "qpdf --decrypt", pdf_engine=engine)


@pytest.mark.parametrize("engine", ["pymupdf", "pypdf"])
def test_image_only_pdf(tmp_path: Path, engine: str) -> None:
    """A scan: the page is a picture of text, with no text layer."""
    source = pymupdf.open()
    source.new_page().insert_text((72, 72), "Scanned words that are only pixels", fontsize=20)
    pixmap = source[0].get_pixmap(dpi=72)
    scan = pymupdf.open()
    page = scan.new_page()
    page.insert_image(page.rect, stream=pixmap.tobytes("png"))
    path = tmp_path / "scan.pdf"
    scan.save(path)
    refuse(path, "no text layer", "ocrmypdf", pdf_engine=engine)


def test_unknown_pdf_engine(tiny_pdf: Path) -> None:
    refuse(tiny_pdf, "unknown PDF engine", "pymupdf", pdf_engine="pdfminer")


def test_json_that_is_not_s2orc(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text('{"name": "not a paper", "items": [1, 2, 3]}')
    refuse(path, "not an s2orc paper", "s2orc-doc2json")


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text('{"title": "broken",')
    refuse(path, "not valid JSON", "line 1")


def test_xml_that_is_not_tei(tmp_path: Path) -> None:
    path = tmp_path / "paper.xml"
    path.write_text("<html><body><p>hi</p></body></html>")
    refuse(path, "not GROBID TEI", "<html>")


def test_malformed_xml(tmp_path: Path) -> None:
    path = tmp_path / "paper.tei.xml"
    path.write_text("<TEI><text>")
    refuse(path, "not well-formed XML")


def test_tarball_without_tex(tmp_path: Path) -> None:
    path = tmp_path / "source.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = b"just a figure"
        info = tarfile.TarInfo("figure.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    refuse(path, "has no .tex files", "PDF")


def test_truncated_tarball(tmp_path: Path) -> None:
    path = tmp_path / "source.tgz"
    with tarfile.open(path, "w:gz") as archive:
        words = " ".join(f"w{index * 7919 % 100003}" for index in range(20000)).encode()
        data = b"\\documentclass{article}\\begin{document}" + words + b"\\end{document}"
        info = tarfile.TarInfo("main.tex")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    path.write_bytes(path.read_bytes()[:300])
    refuse(path, "source")


def test_folder_without_tex(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no latex here")
    refuse(tmp_path, "has no .tex files")


def test_markdown_without_text(tmp_path: Path) -> None:
    path = tmp_path / "paper.md"
    path.write_text("# Title only\n\n\n")
    refuse(path, "holds no paper text")


def test_unreadable_file(tiny_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    refuse(tiny_pdf, "cannot read", "Permission denied")


def test_no_traceback_for_every_bad_input(tmp_path: Path, pdf_writer: Callable[..., Path]) -> None:
    """A sweep of odd files: each one either loads or raises InputError, never anything else."""
    odd = {
        "a.pdf": b"%PDF-1.7\n%%EOF\n",
        "b.tex": b"\\begin{document}\\section{A}\\end{document}",
        "c.json": b"[]",
        "d.json": b'{"pdf_parse": {"body_text": [{"text": 3}]}}',
        "e.xml": b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
        "f.md": b"\xff\xfe\x00garbage",
        "g.tgz": b"\x1f\x8b\x08\x00garbage",
    }
    for name, data in odd.items():
        path = tmp_path / name
        path.write_bytes(data)
        try:
            load_paper(path)
        except InputError as exc:
            assert "\n" not in str(exc)


def test_parser_crash_becomes_one_line_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a third-party parser raises on an odd file, the user sees one line, not a traceback."""
    import papercoder.paper.latex as latex

    def crash(*args: object, **kwargs: object) -> None:
        raise IndexError("list index out of range\nin some deep parser frame")

    monkeypatch.setattr(latex, "latex_to_paper", crash)
    path = tmp_path / "paper.tex"
    path.write_text("\\section{A} text")
    refuse(path, "cannot read", "as latex", "IndexError: list index out of range in some deep parser frame")
