"""A LaTeX body is parsed in top-level pieces: the same text, cut only where a piece is complete LaTeX."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercoder.paper import latex
from papercoder.paper.latex import load_latex
from papercoder.paper.latex_split import top_level_pieces

BODY = (
    "\\section{Method}\nPlain prose line.\n"
    "\\begin{itemize}\n\\item one\n\\item two\n\\end{itemize}\n"
    "Inline $a\n+ b$ math over a line end and display math:\n\\[\nx = y\n\\]\n"
    "$$\nz = 1\n$$\n"
    "A group {spanning\nlines} and an escaped brace \\{ and dollar \\$ on a line.\n"
    "\\begin{equation}\n\\frac{a}{b}\n\\end{equation}\n"
)


def test_pieces_join_back_and_cut_only_at_top_level_line_ends() -> None:
    text = BODY * 40
    pieces = top_level_pieces(text, size=50)
    assert "".join(pieces) == text and len(pieces) > 40
    for piece in pieces:
        assert piece.endswith("\n")
        assert piece.count("\\begin") == piece.count("\\end{")  # no environment cut open
        assert piece.count("\\[") == piece.count("\\]") and piece.count("$$") % 2 == 0
        assert piece.count("{") - piece.count("\\{") == piece.count("}") - piece.count("\\}")


def test_short_text_is_one_piece() -> None:
    assert top_level_pieces(BODY) == [BODY]


def test_unbalanced_markup_only_stops_cutting() -> None:
    text = "x\n" * 100 + "{ never closed\n" + "y\n" * 100
    pieces = top_level_pieces(text, size=10)
    assert "".join(pieces) == text
    assert all("y" not in p for p in pieces[:-1])  # nothing is cut after the open brace


def test_a_paper_parsed_in_pieces_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paper = tmp_path / "paper.tex"
    paper.write_text("\\documentclass{article}\n\\begin{document}\n" + BODY * 200 + "\\end{document}\n")
    pieces = load_latex(paper).markdown()
    monkeypatch.setattr(latex, "top_level_pieces", lambda text: [text])
    assert load_latex(paper).markdown() == pieces
