"""GROBID TEI XML papers."""

from __future__ import annotations

from pathlib import Path

from papercoder.paper import load_paper

TEI = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0">
  <teiHeader>
    <fileDesc>
      <titleStmt><title level="a" type="main">Graph Nets for Tiny Data</title></titleStmt>
      <sourceDesc><biblStruct><analytic><author><persName><surname>Doe</surname></persName></author></analytic></biblStruct></sourceDesc>
    </fileDesc>
    <profileDesc><abstract><div><p>We study graphs.</p><p>Second paragraph.</p></div></abstract></profileDesc>
  </teiHeader>
  <text>
    <body>
      <div><head n="1">Introduction</head>
        <p>Graphs are common <ref type="bibr" target="#b0">[1]</ref>.
           See <ref type="figure" target="#f0">Figure 1</ref>.</p>
      </div>
      <div><head n="2.1">Message Passing</head>
        <p>Each node aggregates.</p>
        <formula xml:id="formula_0">h_v = sum_u W h_u<label>(1)</label></formula>
      </div>
      <div><p>A paragraph of the previous section without its own head.</p></div>
      <figure xml:id="f0"><head>Figure 1</head><figDesc>The architecture.</figDesc></figure>
      <figure type="table" xml:id="t0"><head>Table 1</head><figDesc>Results.</figDesc>
        <table><row><cell>Model</cell><cell>Acc</cell></row><row><cell>GNN</cell><cell>91.2</cell></row></table>
      </figure>
    </body>
    <back>
      <div type="acknowledgement"><div><head>Acknowledgements</head><p>Thanks.</p></div></div>
      <div type="annex"><div><head n="A">Proofs</head><p>Proof text.</p></div></div>
      <div type="references"><listBibl>
        <biblStruct xml:id="b0"><analytic><title>A cited paper</title></analytic></biblStruct>
        <biblStruct xml:id="b1"><analytic><title>Another paper</title></analytic></biblStruct>
      </listBibl></div>
    </back>
  </text>
</TEI>
"""


def test_tei_paper(tmp_path: Path) -> None:
    path = tmp_path / "paper.tei.xml"
    path.write_text(TEI)
    paper = load_paper(path)
    assert paper.title == "Graph Nets for Tiny Data"
    assert paper.abstract == "We study graphs.\n\nSecond paragraph."
    assert [(s.title, s.level) for s in paper.sections] == [
        ("1 Introduction", 1),
        ("2.1 Message Passing", 2),
        ("Figures and tables", 1),
        ("Appendix", 1),
        ("A Proofs", 1),
    ]
    assert paper.sections[0].text == "Graphs are common. See Figure 1."
    assert paper.sections[1].text == (
        "Each node aggregates.\n\nh_v = sum_u W h_u (1)\n\nA paragraph of the previous section without its own head."
    )
    assert "Table 1: Results.\n\n| Model | Acc |\n|---|---|\n| GNN | 91.2 |" in paper.sections[2].text
    assert paper.dropped == ["acknowledgements", "bibliography (2 entries)", "authors"]
    assert paper.source_format == "tei"
    assert "A cited paper" not in paper.markdown()


def test_tei_keep_references(tmp_path: Path) -> None:
    path = tmp_path / "paper.xml"
    path.write_text(TEI)
    paper = load_paper(path, keep_references=True)
    assert paper.sections[-1].title == "References"
    assert "- A cited paper" in paper.sections[-1].text
