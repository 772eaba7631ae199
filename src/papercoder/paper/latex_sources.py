"""Gathering a LaTeX paper's source: one file, a folder, or an arXiv tarball, with ``\\input`` resolved.

Tarballs are read in memory (never extracted), so a hostile archive cannot write outside anything; members
that are links, devices, absolute paths or ``..`` paths are ignored, and sizes are capped.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from papercoder.errors import InputError
from papercoder.paper.textio import read_text

_TEXT_SUFFIXES = (".tex", ".bbl", ".sty", ".cls", ".def", ".ltx", ".latex")
_MAX_FILE_BYTES = 20 * 1024 * 1024
_MAX_TOTAL_BYTES = 200 * 1024 * 1024
_MAX_DEPTH = 30
_VERBATIM_RE = re.compile(r"\\begin\{(verbatim\*?|Verbatim|lstlisting|minted|comment)\}.*?\\end\{\1\}", re.DOTALL)
_COMMENT_RE = re.compile(r"(?<!\\)((?:\\\\)*)%.*")
_INPUT_RE = re.compile(r"\\(input|include|subfile)\s*(?:\{([^{}]*)\}|\s([^\s{}\\%]+))")
_IF_RE = re.compile(r"\\(iffalse|if[a-zA-Z@]*|fi)(?![a-zA-Z@])")


@dataclass
class LatexSource:
    """The flattened source of a LaTeX paper and notes about what could not be included."""

    main: str
    text: str
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def strip_comments(text: str) -> str:
    """Remove ``%`` comments (not ``\\%``), ``comment`` environments and ``\\iffalse … \\fi`` blocks.

    Verbatim-like environments are left untouched, since a ``%`` in a code listing is code.
    """
    pieces: list[str] = []
    position = 0
    for match in _VERBATIM_RE.finditer(text):
        pieces.append(_COMMENT_RE.sub(r"\1", text[position : match.start()]))
        pieces.append("" if match.group(1) == "comment" else match.group(0))
        position = match.end()
    pieces.append(_COMMENT_RE.sub(r"\1", text[position:]))
    return _drop_iffalse("".join(pieces))


def _drop_iffalse(text: str) -> str:
    """Cut ``\\iffalse … \\fi`` blocks, counting nested conditionals so the right ``\\fi`` ends them."""
    out: list[str] = []
    position = 0
    depth = 0
    skip_from = -1
    for match in _IF_RE.finditer(text):
        word = match.group(1)
        if skip_from < 0:
            if word == "iffalse":
                out.append(text[position : match.start()])
                skip_from, depth = match.start(), 1
            continue
        depth += -1 if word == "fi" else 1
        if depth == 0:
            position, skip_from = match.end(), -1
    if skip_from < 0:
        out.append(text[position:])
    return "".join(out)


def _safe_member(name: str) -> str | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return None
    clean = posixpath.normpath(name)
    return None if clean in (".", "") else clean


def _read_tarball(path: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    total = 0
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                name = _safe_member(member.name)
                if not member.isfile() or name is None or not name.lower().endswith(_TEXT_SUFFIXES):
                    continue
                if member.size > _MAX_FILE_BYTES or total + member.size > _MAX_TOTAL_BYTES:
                    raise InputError(f"{path} holds oversized LaTeX files (over 20 MB): pass the PDF instead")
                handle = archive.extractfile(member)
                if handle is not None:
                    total += member.size
                    files[name] = read_text(handle.read())
    except tarfile.ReadError:
        return _read_gzipped_single(path)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{path} is a corrupt or truncated archive ({exc}): download the source again") from exc
    return files


def _read_gzipped_single(path: Path) -> dict[str, str]:
    """arXiv serves single-file sources as a gzipped .tex that is not a tar archive."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path} is neither a tar archive nor gzipped LaTeX: pass a .tar.gz of the source") from exc
    if len(data) > _MAX_FILE_BYTES:
        raise InputError(f"{path} holds an oversized LaTeX file (over 20 MB): pass the PDF instead")
    text = read_text(data)
    if "\\" not in text:
        raise InputError(f"{path} has no .tex files: pass an arXiv source tarball or the PDF")
    return {"main.tex": text}


def _read_folder(root: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    resolved_root = root.resolve()
    total = 0
    for file in sorted(root.rglob("*")):
        # Links could point outside the folder; only plain files inside it are read.
        if file.is_symlink() or not file.is_file() or not file.name.lower().endswith(_TEXT_SUFFIXES):
            continue
        if not file.resolve().is_relative_to(resolved_root):
            continue
        size = file.stat().st_size
        if size > _MAX_FILE_BYTES or total + size > _MAX_TOTAL_BYTES:
            raise InputError(f"{root} holds oversized LaTeX files (over 20 MB): pass the PDF instead")
        total += size
        files[file.relative_to(root).as_posix()] = read_text(file.read_bytes())
    return files


def _choose_main(files: dict[str, str], origin: Path) -> str:
    tex = {name: strip_comments(text) for name, text in files.items() if name.lower().endswith((".tex", ".ltx"))}
    if not tex:
        raise InputError(f"{origin} has no .tex files: pass an arXiv source tarball, a .tex file or the PDF")
    with_class = [name for name, text in tex.items() if "\\documentclass" in text]
    candidates = with_class or [name for name, text in tex.items() if "\\begin{document}" in text]
    if not candidates:
        included = {m.group(2) or m.group(3) for text in tex.values() for m in _INPUT_RE.finditer(text)}
        stems = {posixpath.splitext(posixpath.normpath(name or ""))[0] for name in included}
        candidates = [name for name in tex if posixpath.splitext(name)[0] not in stems] or list(tex)

    def rank(name: str) -> tuple[bool, bool, int, int]:
        text = tex[name]
        stem = posixpath.splitext(posixpath.basename(name))[0].lower()
        return (
            "\\begin{document}" in text,
            stem in ("main", "paper", "ms", "article"),
            -name.count("/"),
            len(text),
        )

    return max(candidates, key=rank)


class _Tree:
    """Source files by relative name; for a lone ``.tex`` file, its folder is read on demand only."""

    def __init__(self, files: dict[str, str], root: Path | None = None) -> None:
        self.files = files
        self.root = root.resolve() if root else None

    def get(self, name: str) -> str | None:
        if name in self.files:
            return self.files[name]
        if self.root is None:
            return None
        candidate = (self.root / name).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        if candidate.stat().st_size > _MAX_FILE_BYTES:
            return None
        self.files[name] = read_text(candidate.read_bytes())
        return self.files[name]

    def resolve(self, name: str, current: str) -> str | None:
        name = name.strip().strip('"')
        for base in ("", posixpath.dirname(current)):
            for option in (name, f"{name}.tex"):
                candidate = posixpath.normpath(posixpath.join(base, option))
                if not candidate.startswith("../") and self.get(candidate) is not None:
                    return candidate
        return None


def _expand_inputs(tree: _Tree, name: str, stack: list[str], notes: list[str]) -> str:
    text = strip_comments(tree.get(name) or "")

    def replace(match: re.Match[str]) -> str:
        target = match.group(2) or match.group(3) or ""
        resolved = tree.resolve(target, name)
        if resolved is None:
            if not target.lower().endswith((".bbl", ".sty", ".cls", ".pdf_tex", ".tikz", ".pgf")):
                notes.append(f"missing \\{match.group(1)} file: {target}")
            return ""
        if resolved in stack or len(stack) >= _MAX_DEPTH:
            notes.append(f"skipped cyclic \\{match.group(1)} of {resolved}")
            return ""
        body = _expand_inputs(tree, resolved, [*stack, resolved], notes)
        # \include starts a new page in LaTeX; a paragraph break keeps the included text apart.
        return f"\n{body}\n" if match.group(1) != "include" else f"\n\n{body}\n\n"

    return _INPUT_RE.sub(replace, text)


def read_latex_source(path: Path) -> LatexSource:
    """Read a ``.tex`` file, a source folder or an arXiv tarball into one flattened LaTeX text.

    Args:
        path: the file, folder or tarball.

    Returns:
        The main file's name, its text with ``\\input``/``\\include`` resolved and comments removed, all
        source files read, and notes about missing or cyclic inputs.

    Raises:
        InputError: no ``.tex`` file found, or the archive is unreadable.
    """
    if path.is_dir():
        files = _read_folder(path)
        main, tree = _choose_main(files, path), _Tree(files)
    elif path.name.lower().endswith((".tex", ".latex", ".ltx")):
        main = path.name
        tree = _Tree({main: read_text(path.read_bytes())}, path.parent)
    else:
        files = _read_tarball(path)
        main, tree = _choose_main(files, path), _Tree(files)
    notes: list[str] = []
    text = _expand_inputs(tree, main, [main], notes)
    return LatexSource(main=main, text=text, files=tree.files, notes=notes)
