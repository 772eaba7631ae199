"""Ingestion fidelity on the shared "Attention Is All You Need" example.

Reference: the paper's LaTeX source. For each extraction (PDF via PyMuPDF layout, PDF via pypdf, s2orc
JSON; LaTeX itself as a sanity row) it prints:

* body 3-gram recall: the share of the distinct word 3-grams of the LaTeX prose (math, citations, floats
  and commands removed; 3-grams never span a removed piece) found in the extracted ``Paper.markdown()``;
* table-cell recall: the share of the LaTeX tables' cells (letters and digits only, at least 3 of them)
  found in the extracted text read the same way;
* pages/s for the PDF engines: the warm time of a second ``load_paper`` call (the first, cold one also
  loads PyMuPDF's layout model and is shown separately).

Run: ``python benchmarks/ingest_fidelity.py [path/to/shared/examples/attention]``.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from papercoder.paper import load_paper
from papercoder.paper.latex_macros import read_group

EXAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "examples" / "attention"
# The example .tex is the body only; these two shorthands come from the arXiv preamble.
PREAMBLE_MACROS = {"\\dmodel": "d_{model}", "\\dff": "d_{ff}"}
_FLOAT_RE = re.compile(r"\\begin\{(table|figure)\*?\}.*?\\end\{\1\*?\}", re.DOTALL)
_MATH_RE = re.compile(
    r"\$\$.*?\$\$|\$[^$]*\$|\\\[.*?\\\]|\\begin\{(equation|align|gather|multline)\*?\}.*?\\end\{\1\*?\}",
    re.DOTALL,
)
_DROP_CMD_RE = re.compile(r"\\(cite[a-z]*|ref|eqref|label|includegraphics|url|vspace|hspace)\*?(\[[^\]]*\])*\{[^}]*\}")
_BREAK = " \x00 "


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words."""
    return re.findall(r"[a-z0-9]+", text.lower())


def trigrams(text: str) -> set[tuple[str, ...]]:
    """Distinct word 3-grams, never across a removed piece (marked by NUL)."""
    grams: set[tuple[str, ...]] = set()
    for segment in text.split("\x00"):
        tokens = words(segment)
        grams.update(tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2))
    return grams


def latex_prose(tex: str) -> str:
    """The LaTeX body as plain prose: floats, math, citations and references cut (with break marks)."""
    tex = re.sub(r"(?<!\\)%.*", "", tex)
    tex = tex[tex.find("\\begin{abstract}") :]
    tex = _FLOAT_RE.sub(_BREAK, tex)
    tex = _MATH_RE.sub(_BREAK, tex)
    tex = _DROP_CMD_RE.sub(_BREAK, tex)
    tex = re.sub(r"\\(begin|end)\{[^}]*\}", _BREAK, tex)
    tex = re.sub(r"\\(section|subsection|subsubsection|paragraph)\*?\{([^}]*)\}", rf"{_BREAK}\2{_BREAK}", tex)
    tex = re.sub(r"\\[a-zA-Z]+\*?", " ", tex)
    tex = re.sub(r"\\.", " ", tex)
    return tex.replace("{", " ").replace("}", " ").replace("~", " ")


def latex_cells(tex: str) -> list[str]:
    """Cell texts of every tabular, letters and digits only."""
    for name, body in PREAMBLE_MACROS.items():
        tex = tex.replace(name, body)
    cells: list[str] = []
    for match in re.finditer(r"\\begin\{tabular\}(.*?)\\end\{tabular\}", tex, re.DOTALL):
        body = match.group(1)
        spec = read_group(body, 0)
        body = body[spec[1] :] if spec else body
        body = re.sub(r"\\(multicolumn|multirow)\{[^}]*\}\{[^}]*\}|\\vspace\{[^}]*\}", "", body)
        body = re.sub(r"\\(cite[a-z]*)\{[^}]*\}|\\(rule|specialrule|cmidrule)(\([^)]*\))?(\{[^}]*\})*", "", body)
        for row in re.split(r"\\\\", body):
            for cell in row.split("&"):
                text = re.sub(r"\\(hline|toprule|midrule|bottomrule|textbf|bf|boldmath|cdot|times)", "", cell)
                text = re.sub(r"\\[a-zA-Z]+", "", text)
                cells.append("".join(words(text)))
    return [cell for cell in cells if len(cell) >= 3]


def markdown_plain(markdown: str) -> str:
    """Extracted Markdown without HTML tags (pymupdf4llm writes <sup>…</sup>) and LaTeX command names."""
    markdown = re.sub(r"</?[a-zA-Z][^<>]*>", " ", markdown)
    return re.sub(r"\\[a-zA-Z]+", " ", markdown)


def evaluate(name: str, markdown: str, reference: set[tuple[str, ...]], cells: list[str]) -> tuple[str, float, float]:
    """3-gram recall and table-cell recall of one extraction."""
    plain = markdown_plain(markdown)
    gram_recall = len(reference & trigrams(plain)) / len(reference)
    squashed = "".join(words(plain))
    cell_recall = sum(1 for cell in cells if cell in squashed) / len(cells)
    return name, gram_recall, cell_recall


def timed(path: Path, engine: str) -> tuple[str, float]:
    start = time.perf_counter()
    paper = load_paper(path, pdf_engine=engine)  # type: ignore[arg-type]
    return paper.markdown(), time.perf_counter() - start


def main() -> int:
    """Print the fidelity table; returns a process exit code."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLE
    if not (folder / "paper.tex").exists():
        print(f"example not found under {folder}: pass the folder holding paper.tex/pdf/s2orc.json")
        return 2
    tex = (folder / "paper.tex").read_text(encoding="utf-8")
    reference = trigrams(latex_prose(tex))
    cells = latex_cells(tex)
    pdf = folder / "paper.pdf"
    pages = load_paper(pdf, pdf_engine="pypdf").pages or 1
    rows: list[tuple[str, float, float, str]] = []
    for engine in ("pymupdf", "pypdf"):
        _, cold = timed(pdf, engine)
        markdown, warm = timed(pdf, engine)
        speed = f"{pages / warm:.2f} (cold {pages / cold:.2f})"
        rows.append((*evaluate(f"PDF ({engine})", markdown, reference, cells), speed))
    rows.append((*evaluate("s2orc JSON", load_paper(folder / "paper.s2orc.json").markdown(), reference, cells), "-"))
    rows.append((*evaluate("LaTeX (sanity)", load_paper(folder / "paper.tex").markdown(), reference, cells), "-"))
    print(f"reference: {len(reference)} distinct 3-grams, {len(cells)} table cells, {pages} PDF pages")
    print(f"{'source':<16} {'3-gram recall':>14} {'table-cell recall':>18}  pages/s (warm, cold)")
    for name, gram, cell, speed in rows:
        print(f"{name:<16} {gram:>14.3f} {cell:>18.3f}  {speed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
