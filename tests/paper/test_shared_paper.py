"""The shared real paper read from PDF (both engines), LaTeX and s2orc JSON."""

from __future__ import annotations

import re

import pytest

from papercoder.paper import Paper

FORMATS = ["pdf-pymupdf", "pdf-pypdf", "latex", "s2orc"]


def squash(text: str) -> str:
    """Letters and digits only, so that d_model, $d_{model}$ and \\dmodel compare equal."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@pytest.mark.parametrize("kind", FORMATS)
def test_title_abstract_and_sections(attention_papers: dict[str, Paper], kind: str) -> None:
    paper = attention_papers[kind]
    assert paper.title == "Attention Is All You Need"
    assert paper.abstract.startswith("The dominant sequence transduction models")
    titles = [section.title for section in paper.sections]
    assert any(title.endswith("Model Architecture") for title in titles), titles
    assert any("Scaled Dot-Product Attention" in title for title in titles), titles
    assert "3.2.1 Scaled Dot-Product Attention" in titles
    levels = {s.title: s.level for s in paper.sections}
    assert levels["3.2.1 Scaled Dot-Product Attention"] == 3


@pytest.mark.parametrize("kind", FORMATS)
def test_references_and_front_matter_are_dropped(attention_papers: dict[str, Paper], kind: str) -> None:
    paper = attention_papers[kind]
    text = paper.markdown()
    # Reference [1] of the paper: it must not reach the model, nor the licence notice or the authors' mails.
    assert "Layer normalization. arXiv" not in text
    assert "Jamie Ryan Kiros" not in text
    assert "Provided proper attribution" not in text
    assert "avaswani@google.com" not in text
    if kind != "latex":
        assert any(note.startswith(("references", "bibliography")) for note in paper.dropped), paper.dropped


@pytest.mark.parametrize("kind", ["pdf-pymupdf", "pdf-pypdf", "latex"])
def test_hyperparameter_table_survives(attention_papers: dict[str, Paper], kind: str) -> None:
    paper = attention_papers[kind]
    variations = next(s for s in paper.sections if s.title.endswith("Model Variations"))
    flat = squash(variations.text)
    assert "dmodel" in flat
    # The "base" row of Table 3: N=6, d_model=512, d_ff=2048, h=8, d_k=d_v=64.
    assert "base651220488646401" in flat
    assert "big61024409616" in flat


@pytest.mark.parametrize("kind", ["pdf-pymupdf", "latex"])
def test_tables_are_markdown_tables(attention_papers: dict[str, Paper], kind: str) -> None:
    variations = next(s for s in attention_papers[kind].sections if s.title.endswith("Model Variations"))
    rows = [line for line in variations.text.splitlines() if line.startswith("|")]
    assert len(rows) >= 20
    assert any(re.fullmatch(r"\|(-+\|)+", row.replace(" ", "")) for row in rows)
    base = next(row for row in rows if "base" in row)
    cells = [cell.strip() for cell in base.strip("|").split("|")]
    assert cells[:4] == ["base", "6", "512", "2048"]


def test_pdf_pages_and_clean_text(attention_papers: dict[str, Paper]) -> None:
    for kind in ("pdf-pymupdf", "pdf-pypdf"):
        paper = attention_papers[kind]
        text = paper.markdown()
        assert paper.pages == 15
        assert paper.source_format == "pdf"
        assert "arXiv:1706.03762" not in text
        assert not re.search(r"^\s*\d{1,3}\s*$", text, re.MULTILINE), "a bare page number survived"
        assert "line numbers" not in paper.dropped


def test_pymupdf_keeps_equations_captions_and_compounds(attention_papers: dict[str, Paper]) -> None:
    text = attention_papers["pdf-pymupdf"].markdown()
    assert "Figure 1: The Transformer - model architecture." in text
    assert "Table 3: Variations on the Transformer architecture." in text
    assert "FFN( x ) = max(0" in text
    # pymupdf4llm joins "sequence-" + "aligned" across a line break; the hyphen is put back.
    assert "sequence-aligned" in text
    assert "sequencealigned" not in text
    appendix = [s.title for s in attention_papers["pdf-pymupdf"].sections][-2:]
    assert appendix == ["Appendix", "Attention Visualizations"]


def test_latex_specifics(attention_papers: dict[str, Paper]) -> None:
    paper = attention_papers["latex"]
    text = paper.markdown()
    assert "$$\n\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}(\\frac{QK^T}{\\sqrt{d_k}})V\n$$ (1)" in text
    assert "as described in Section 3.2.2" in text  # \ref{sec:multihead} resolved to its number
    assert "Table 3: Variations on the Transformer architecture." in text
    assert "(footnote: To illustrate why the dot products get large" in text
    assert "\\citep" not in text and "<cit" not in text and "\\label" not in text
    assert any("citation commands" in note for note in paper.dropped)


def test_s2orc_specifics(attention_papers: dict[str, Paper]) -> None:
    paper = attention_papers["s2orc"]
    text = paper.markdown()
    assert "long short-term memory and gated recurrent neural networks" in text  # "[13]", "[7]" cut
    assert "EQUATION" not in text
    assert "FFN(x) = max(0, xW 1 + b 1)W 2 + b 2 (2)" in text
    assert "Table 3: Variations on the Transformer architecture." in text
    assert "| base 6 | | 512 | 2048 8 |" in text  # Table 3 from ref_entries, as s2orc merged its cells
    assert "authors" in paper.dropped
