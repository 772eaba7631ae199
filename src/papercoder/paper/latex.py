"""LaTeX papers: a ``.tex`` file, a source folder or an arXiv tarball, into a ``Paper``.

Pipeline: gather and flatten the source (``latex_sources``), expand the author's macros
(``latex_macros``), cut the bibliography, parse with pylatexenc and render twice (the first pass
collects ``\\label`` numbers so the second can resolve forward ``\\ref``s), then split at the section
markers the renderer leaves.

Why pylatexenc rather than regular expressions: papers nest braces, environments and math freely, and a
real parser keeps ``$…$`` intact, finds table cells (``&``, ``\\\\``) only at the table's own level, and
already knows hundreds of text macros (accents, dashes, quotes). flachtex was not needed: tarballs are read
in memory and ``\\input`` is resolved on that in-memory tree, which flachtex's file-system walker cannot do.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pylatexenc import latexwalker  # type: ignore[import-untyped]

from papercoder.errors import InputError
from papercoder.paper import sections as sec
from papercoder.paper.latex_macros import expand_macros, extract_macros, read_group
from papercoder.paper.latex_render import APPENDIX_MARK, LatexRenderer
from papercoder.paper.latex_sources import LatexSource, read_latex_source
from papercoder.paper.latex_specs import walker_context
from papercoder.paper.latex_split import top_level_pieces
from papercoder.paper.model import Paper, Section

_VERBATIM_RE = re.compile(
    r"\\begin\{(verbatim\*?|Verbatim|lstlisting|minted)\}(\{[^}]*\}|\[[^\]]*\])*(.*?)\\end\{\1\}", re.DOTALL
)
_BIBLIOGRAPHY_ENV_RE = re.compile(r"\\begin\{thebibliography\}.*?\\end\{thebibliography\}", re.DOTALL)
_BIBLIOGRAPHY_CMD_RE = re.compile(
    r"\\(bibliography|printbibliography|addbibresource)(?![a-zA-Z])\s*(\[[^\]]*\])?(\{[^}]*\})?"
)
_RULES_RE = re.compile(
    r"\\(?:(?:hline|toprule|midrule|bottomrule|endhead|endfirsthead|endfoot|endlastfoot)(?![a-zA-Z])|"
    r"[ch]line\s*\{[^}]*\}|hhline\s*\{[^}]*\}|cmidrule\s*(?:\([^)]*\))?\s*(?:\[[^\]]*\])?\s*\{[^}]*\}|"
    r"specialrule\s*\{[^}]*\}\s*\{[^}]*\}\s*\{[^}]*\}|addlinespace(?![a-zA-Z])\s*(?:\[[^\]]*\])?|"
    r"rule\s*(?:\[[^\]]*\])?\s*\{[^}]*\}\s*\{[^}]*\}|arrayrulecolor\s*\{[^}]*\}|"
    r"rowcolor\s*(?:\[[^\]]*\])?\s*\{[^}]*\}|cellcolor\s*(?:\[[^\]]*\])?\s*\{[^}]*\})"
)
_SECTION_RE = re.compile(r"\x00S(\d)\x01(.*?)\x00")
_TITLE_RE = re.compile(r"\\(?:title|icmltitle)\s*(?:\[[^\]]*\])?(?=\s*\{)")


def _stash_verbatim(text: str) -> tuple[str, list[str]]:
    """Replace verbatim-like environments by ``\\pcverbatim{n}`` so the parser leaves their content alone."""
    stash: list[str] = []

    def keep(match: re.Match[str]) -> str:
        stash.append(match.group(3))
        return f"\\pcverbatim{{{len(stash) - 1}}}"

    return _VERBATIM_RE.sub(keep, text), stash


def _bibliography(text: str, source: LatexSource, keep: bool, dropped: list[str]) -> str:
    """Cut the bibliography (noting it in ``dropped``), or keep it as a References list when asked."""
    if keep:
        stem = Path(source.main).stem
        bbl = next((body for name, body in source.files.items() if name.endswith(f"{stem}.bbl")), "")
        if bbl and not _BIBLIOGRAPHY_ENV_RE.search(text):
            text = _BIBLIOGRAPHY_CMD_RE.sub(lambda _: bbl, text, count=1)

        def as_list(match: re.Match[str]) -> str:
            body = re.sub(r"\\bibitem\s*(\[[^\]]*\])?\s*\{[^}]*\}", r"\\item ", match.group(0))
            body = re.sub(r"\\begin\{thebibliography\}\s*\{[^}]*\}|\\end\{thebibliography\}|\\newblock", " ", body)
            return f"\\section*{{References}}\\begin{{itemize}}{body}\\end{{itemize}}"

        return _BIBLIOGRAPHY_CMD_RE.sub("", _BIBLIOGRAPHY_ENV_RE.sub(as_list, text))
    entries = sum(match.group(0).count("\\bibitem") for match in _BIBLIOGRAPHY_ENV_RE.finditer(text))
    if entries:
        dropped.append(f"bibliography ({entries} entries)")
    elif _BIBLIOGRAPHY_CMD_RE.search(text):
        dropped.append("bibliography (\\bibliography command)")
    return _BIBLIOGRAPHY_CMD_RE.sub("", _BIBLIOGRAPHY_ENV_RE.sub("", text))


def _tidy(text: str) -> str:
    """Clean the spacing left by removed citations and labels, outside code blocks."""
    parts = re.split(r"(```.*?```)", text, flags=re.DOTALL)
    for index in range(0, len(parts), 2):
        part = parts[index].replace("\u00a0", " ")
        part = re.sub(r"[ \t]+", " ", part)
        part = re.sub(r" +([.,;:!?)])", r"\1", part)
        part = re.sub(r"\(\s*[,;]?\s*\)|\[\s*\]", "", part)
        part = re.sub(r"\n[ \t]+(?![-0-9*])", "\n", part)
        parts[index] = part
    return sec.tidy_text("".join(parts))


def _render(body: str, verbatims: list[str]) -> tuple[str, LatexRenderer]:
    nodes: list[Any] = []
    try:
        # pylatexenc's parse time grows with the square of a run of plain text, so the body is parsed in pieces
        # cut at line ends outside any group, environment or math (see ``top_level_pieces``); same nodes, in order.
        for piece in top_level_pieces(body):
            walker = latexwalker.LatexWalker(piece, latex_context=walker_context(), tolerant_parsing=True)
            nodes.extend(walker.get_latex_nodes()[0])
    except (latexwalker.LatexWalkerError, RecursionError) as exc:
        raise InputError(f"cannot parse the LaTeX source ({exc}): pass the PDF instead") from exc
    first = LatexRenderer(verbatims=verbatims)
    first.nodelist_to_text(nodes)
    second = LatexRenderer(labels=first.found_labels, verbatims=verbatims)
    return str(second.nodelist_to_text(nodes)), second


def _title(text: str, verbatims: list[str]) -> str:
    match = _TITLE_RE.search(text)
    group = read_group(text, match.end()) if match else None
    if group is None:
        return ""
    raw = re.sub(r"\\thanks\s*\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|\\\\(\[[^\]]*\])?", " ", group[0])
    rendered, _ = _render(raw, verbatims)
    return re.sub(r"\s+", " ", rendered.replace("\x00", " ")).strip()


def _sections(rendered: str) -> tuple[str, list[Section], int | None]:
    """Split rendered text at section markers: (text before the first section, sections, appendix index)."""
    sections: list[Section] = []
    appendix_at: int | None = None
    pieces = re.split(r"(\x00S\d\x01.*?\x00|\x00APPENDIX\x00)", rendered)
    preamble = _tidy(pieces[0])
    for piece_index in range(1, len(pieces), 2):
        marker, body = pieces[piece_index], _tidy(pieces[piece_index + 1])
        if marker == APPENDIX_MARK:
            appendix_at = len(sections)
            if body and sections:
                sections[-1].text = f"{sections[-1].text}\n\n{body}".strip()
            continue
        match = _SECTION_RE.fullmatch(marker)
        if match:
            sections.append(Section(title=match.group(2).strip(), text=body, level=int(match.group(1))))
    return preamble, sections, appendix_at


def latex_to_paper(source: LatexSource, *, source_path: str, keep_references: bool = False) -> Paper:
    """Convert flattened LaTeX source into a ``Paper``.

    Args:
        source: the gathered source from ``read_latex_source``.
        source_path: recorded on the paper.
        keep_references: keep the bibliography as a "References" section.

    Returns:
        The structured paper.
    """
    dropped = list(source.notes)
    text, macros = extract_macros(source.text)
    text = expand_macros(text, macros)
    text, verbatims = _stash_verbatim(text)
    title = _title(text, verbatims)
    begin = text.find("\\begin{document}")
    body = text[begin + len("\\begin{document}") :] if begin >= 0 else text
    end = body.find("\\end{document}")
    body = body[:end] if end >= 0 else body
    if re.search(r"\\(author|icmlauthor)\b", text):
        dropped.append("authors")
    body = _RULES_RE.sub(" ", _bibliography(body, source, keep_references, dropped))
    rendered, renderer = _render(body, verbatims)
    preamble, sections, appendix_at = _sections(rendered)
    if renderer.citations:
        dropped.append(f"{renderer.citations} citation commands")
    if renderer.figures:
        dropped.append(f"{renderer.figures} figure images (captions kept)")
    abstract = _tidy(renderer.abstract)
    if preamble:
        if abstract or not sections:
            sections.insert(0, Section(title="Front matter", text=preamble, level=1))
            appendix_at = appendix_at + 1 if appendix_at is not None else None
        else:
            abstract = preamble
    if appendix_at is not None and appendix_at < len(sections):
        sections = sec.mark_appendix(sections, appendix_at)
    return Paper(
        title=title,
        abstract=abstract,
        sections=sections,
        source_path=source_path,
        source_format="latex",
        dropped=dropped,
    )


def load_latex(path: Path, *, keep_references: bool = False) -> Paper:
    """Load a LaTeX paper from a ``.tex`` file, a folder of sources or an arXiv tarball.

    Args:
        path: the file, folder or tarball (``.tar.gz``, ``.tgz``, or arXiv's gzipped single ``.tex``).
        keep_references: keep the bibliography as a "References" section.

    Returns:
        The structured paper.

    Raises:
        InputError: no ``.tex`` file, an unreadable archive, or unparseable source.
    """
    source = read_latex_source(path)
    return latex_to_paper(source, source_path=str(path), keep_references=keep_references)
