"""What LaTeX commands mean to the renderer: argument shapes for the parser, and names by role."""

from __future__ import annotations

import functools
from typing import Any

from pylatexenc import latexwalker, macrospec  # type: ignore[import-untyped]

LEVELS = {"part": 0, "chapter": 0, "section": 1, "subsection": 2, "subsubsection": 3}
KIND_WORDS = {
    "section": "Section",
    "table": "Table",
    "figure": "Figure",
    "equation": "Equation",
    "algorithm": "Algorithm",
}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


DROP_CITES = _names(
    "cite citep citealp citealt parencite autocite footcite nocite citeyear citeyearpar Citep Citealp "
    "Citealt supercite cites citenum"
)
TEXT_CITES = _names("citet Citet textcite Textcite citeauthor Citeauthor")
REFS = _names("ref autoref cref Cref eqref pageref nameref vref Autoref")
SILENT = _names(
    "label includegraphics title author date thanks maketitle affiliation institute email keywords "
    "bibliography bibliographystyle printbibliography caption captionof subcaption icmltitle icmlauthor "
    "icmlaffiliation icmlcorrespondingauthor icmlkeywords printAffiliationsAndNotice newpage clearpage "
    "pagebreak tableofcontents"
)
MATH_ENVS = _names(
    "equation equation* align align* gather gather* multline multline* eqnarray eqnarray* flalign flalign* "
    "alignat alignat* displaymath math"
)
TABULARS = _names("tabular tabular* tabularx tabulary longtable tabu")
LISTS = _names("itemize enumerate description compactitem compactenum inparaenum")
THEOREMS = _names(
    "theorem lemma proposition corollary definition remark assumption conjecture claim example proof "
    "thm lem prop cor defn rem"
)
TEXT_MACROS = {
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "LaTeXe": "LaTeX2e",
    "BibTeX": "BibTeX",
    "eg": "e.g.",
    "ie": "i.e.",
}
DISCARD_ENVS = _names("tikzpicture pgfpicture thebibliography comment")


@functools.lru_cache(maxsize=1)
def walker_context() -> Any:
    """pylatexenc's default parsing context plus the argument shapes of common paper macros."""
    db = latexwalker.get_default_latex_context_db()
    std_macro, std_env = macrospec.std_macro, macrospec.std_environment
    db.add_context_category(
        "papercoder",
        prepend=True,
        macros=[
            std_macro("multicolumn", False, 3),
            std_macro("multirow", "[{[{[{"),
            std_macro("makecell", "[{"),
            std_macro("resizebox", "*{{{"),
            std_macro("scalebox", "{[{"),
            std_macro("caption", "*[{"),
            std_macro("captionof", "*{[{"),
            std_macro("subcaption", "*[{"),
            std_macro("footnote", "[{"),
            std_macro("href", "{{"),
            std_macro("title", "[{"),
            std_macro("author", "[{"),
            std_macro("thanks", "{"),
            std_macro("paragraph", "*[{"),
            std_macro("subparagraph", "*[{"),
            std_macro("Cref", "*{"),
            std_macro("cref", "*{"),
            std_macro("pcverbatim", "{"),
            std_macro("bibliographystyle", "{"),
            std_macro("date", "{"),
            std_macro("affiliation", "[{"),
            std_macro("institute", "{"),
            std_macro("email", "{"),
            std_macro("icmltitle", "{"),
            std_macro("icmlauthor", "{{"),
            std_macro("icmlaffiliation", "{{"),
            std_macro("icmlcorrespondingauthor", "{{"),
            std_macro("icmlkeywords", "{"),
            std_macro("captionsetup", "[{"),
            std_macro("textcite", "[[{"),
            std_macro("parencite", "[[{"),
            std_macro("autocite", "[[{"),
        ],
        environments=[
            std_env("algorithm", "["),
            std_env("algorithm*", "["),
            std_env("algorithmic", "["),
            std_env("subfigure", "[{"),
            std_env("subtable", "[{"),
            std_env("minipage", "[[[{"),
            std_env("wrapfigure", "[{[{"),
            std_env("wraptable", "[{[{"),
            std_env("longtable", "[{"),
            std_env("tabulary", "{{"),
            std_env("adjustbox", "{"),
        ],
    )
    return db
