"""Gathering a LaTeX paper's source: one file, a folder, or an arXiv tarball, with ``\\input`` resolved.

Which files may be read, and the caps on reading them, live in ``latex_files``; here the expansion itself is
capped (text size, include count and depth), so an include bomb ends in one ``InputError`` within seconds.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from papercoder.errors import InputError
from papercoder.paper.latex_files import SourceTree, read_folder, read_tarball

# Far above any real paper (a 300-page thesis flattens to about 1 MB), and what the renderer still gets
# through in about a minute; a bomb hits one of these caps within a second.
MAX_EXPANDED_CHARS = 2_000_000
MAX_INCLUDES = 1000
MAX_INCLUDE_DEPTH = 30
# Figures and bibliography files are often left out of arXiv sources; their absence is not worth a note.
_QUIET_MISSING = (".bbl", ".sty", ".cls", ".pdf_tex", ".tikz", ".pgf")
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
    # The files on disk the text came from (a tarball counts as one), e.g. to tell when a rerun must redo it.
    files_read: list[Path] = field(default_factory=list)


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


@dataclass
class _Expansion:
    """What ``\\input`` expansion has used so far, against the caps that stop an include bomb."""

    tree: SourceTree
    notes: list[str]
    chars: int = 0
    includes: int = 0

    def cap(self, name: str, what: str) -> InputError:
        return InputError(
            f"{self.tree.origin}: \\input files {what} at {name} (an include bomb?): "
            "pass the PDF, or a source whose files do not include each other over and over"
        )


def _expand_inputs(state: _Expansion, name: str, stack: list[str]) -> str:
    text = strip_comments(state.tree.files.get(name, ""))
    # Counted before the includes are expanded, so a bomb stops at the cap instead of after building it all.
    state.chars += len(text)
    if state.chars > MAX_EXPANDED_CHARS:
        raise state.cap(name, f"expand past {MAX_EXPANDED_CHARS // 1_000_000} MB of text")

    def replace(match: re.Match[str]) -> str:
        command, target = match.group(1), match.group(2) or match.group(3) or ""
        resolved, refused = state.tree.resolve(target, name)
        if resolved is None:
            if refused:
                state.notes.append(f"refused \\{command} of {target} ({refused})")
            elif not target.lower().endswith(_QUIET_MISSING):
                state.notes.append(f"missing \\{command} file: {target}")
            return ""
        if resolved in stack:
            state.notes.append(f"skipped cyclic \\{command} of {resolved}")
            return ""
        state.includes += 1
        if state.includes > MAX_INCLUDES or len(stack) >= MAX_INCLUDE_DEPTH:
            limit = f"{MAX_INCLUDES} includes" if state.includes > MAX_INCLUDES else f"depth {MAX_INCLUDE_DEPTH}"
            raise state.cap(resolved, f"go past {limit}")
        body = _expand_inputs(state, resolved, [*stack, resolved])
        # \include starts a new page in LaTeX; a paragraph break keeps the included text apart.
        return f"\n{body}\n" if command != "include" else f"\n\n{body}\n\n"

    return _INPUT_RE.sub(replace, text)


def read_latex_source(path: Path) -> LatexSource:
    """Read a ``.tex`` file, a source folder or an arXiv tarball into one flattened LaTeX text.

    Only LaTeX sources inside the paper are read (see ``latex_files``); a refused or missing ``\\input`` is
    dropped with a note.

    Args:
        path: the file, folder or tarball.

    Returns:
        The main file's name, its text with ``\\input``/``\\include`` resolved and comments removed, all
        source files read (and the paths they came from), and notes about refused, missing or cyclic inputs.

    Raises:
        InputError: no ``.tex`` file found, the archive is unreadable, or a size or count cap is passed.
    """
    if path.is_dir():
        tree = read_folder(path)
        main = _choose_main(tree.files, path)
    elif path.name.lower().endswith((".tex", ".latex", ".ltx")):
        main = path.name
        tree = SourceTree(path, path.parent)
        tree.add(main, path.stat().st_size, path.read_bytes, path.resolve())
    else:
        tree = read_tarball(path)
        main = _choose_main(tree.files, path)
    state = _Expansion(tree, list(tree.notes))
    text = _expand_inputs(state, main, [main])
    return LatexSource(main=main, text=text, files=tree.files, notes=state.notes, files_read=tree.paths_read)
