"""``load_paper``: one entry point for every supported paper format."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from papercoder.errors import InputError, PapercoderError
from papercoder.paper.model import Paper

SUPPORTED = (
    ".pdf, .tex, a folder holding .tex files, .tar.gz/.tgz (arXiv source), .md/.markdown/.txt, "
    ".json (s2orc), .xml/.tei.xml (GROBID TEI)"
)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt")
_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".pdf"):
        return "pdf"
    if name.endswith((".tex", ".latex")):
        return "latex"
    if name.endswith(_TARBALL_SUFFIXES) or name.endswith(".gz"):
        return "latex"
    if name.endswith(_MARKDOWN_SUFFIXES):
        return "markdown"
    if name.endswith(".json"):
        return "s2orc"
    if name.endswith(".xml"):
        return "tei"
    suffix = "".join(path.suffixes[-2:]) or "(none)"
    raise InputError(f"unsupported file type {suffix} for {path}: use one of {SUPPORTED}")


def _load(
    path: Path, kind: str, pdf_engine: Literal["pymupdf", "pypdf"], keep_references: bool, jobs: int | None = None
) -> Paper:
    if kind == "pdf":
        from papercoder.paper.pdf import load_pdf

        return load_pdf(path, engine=pdf_engine, keep_references=keep_references, jobs=jobs)
    if kind == "latex":
        from papercoder.paper.latex import load_latex

        return load_latex(path, keep_references=keep_references)
    if kind == "markdown":
        from papercoder.paper.markdown import load_markdown

        return load_markdown(path, keep_references=keep_references)
    if kind == "s2orc":
        from papercoder.paper.s2orc import load_s2orc

        return load_s2orc(path, keep_references=keep_references)
    from papercoder.paper.tei import load_tei

    return load_tei(path, keep_references=keep_references)


def load_paper(
    path: str | Path,
    *,
    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf",
    keep_references: bool = False,
    grobid_url: str | None = None,
    jobs: int | None = None,
) -> Paper:
    """Read a paper from a file or folder, whatever its format, into a ``Paper``.

    Args:
        path: a ``.pdf``, ``.tex``, folder of ``.tex`` files, arXiv source tarball (``.tar.gz``/``.tgz``),
            ``.md``/``.markdown``/``.txt``, s2orc ``.json`` or GROBID TEI ``.xml``.
        pdf_engine: ``pymupdf`` (layout-aware Markdown with tables; AGPL) or ``pypdf`` (plain text; BSD).
        keep_references: keep the bibliography instead of dropping it (it is recorded in ``dropped``).
        grobid_url: read PDFs through this running GROBID server instead of PyMuPDF/pypdf.
        jobs: processes for PyMuPDF's layout analysis of a PDF (default: the cores); the same text for any number.

    Returns:
        The parsed paper; ``dropped`` lists what was left out on purpose.

    Raises:
        InputError: the input is missing, of an unsupported kind, empty, corrupt, encrypted, a scan without
            text, or otherwise unusable; the one-line message names the problem and the fix.
    """
    target = Path(path).expanduser()
    if not target.exists():
        raise InputError(f"{target} does not exist: check the path")
    if pdf_engine not in ("pymupdf", "pypdf"):
        raise InputError(f"unknown PDF engine {pdf_engine!r}: use 'pymupdf' or 'pypdf'")
    if target.is_dir():
        kind = "latex"
    elif not target.is_file():
        raise InputError(f"{target} is not a regular file: pass a paper file or a LaTeX source folder")
    else:
        kind = _kind(target)
        if target.stat().st_size == 0:
            raise InputError(f"{target} is empty (0 bytes): download or export the paper again")
    try:
        if kind == "pdf" and grobid_url:
            from papercoder.paper.grobid import load_via_grobid

            paper = load_via_grobid(target, grobid_url, keep_references=keep_references)
        else:
            paper = _load(target, kind, pdf_engine, keep_references, jobs)
    except InputError as exc:
        # Messages quote parser errors, which may span lines; the contract is one line.
        if "\n" in str(exc):
            raise InputError(" ".join(str(exc).split())) from exc
        raise
    except PapercoderError:
        raise
    except (OSError, MemoryError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise InputError(f"cannot read {target} ({reason}): check that the file is readable") from exc
    except Exception as exc:
        # A parser tripping over an odd file must still end in one line, not a traceback; the cause
        # stays chained for debugging.
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise InputError(
            f"cannot read {target} as {kind} ({reason}): pass the paper in another format (PDF or LaTeX source)"
        ) from exc
    if not paper.abstract.strip() and not any(section.text.strip() for section in paper.sections):
        raise InputError(f"{target} holds no paper text: check that it is the paper and not an empty template")
    return paper
