"""Markdown and plain-text papers."""

from __future__ import annotations

from pathlib import Path

from papercoder.paper import load_paper
from papercoder.paper.markdown import parse_markdown, split_headings

PAPER_MD = """<!-- exported from a notes app -->

# Sparse Mixture Routing

**Jane Doe** · Example Lab

## Abstract

We route tokens to experts.

## 1 Introduction

Routing matters.

```python
# a comment in code, not a heading
x = 1
```

### 1.1 Setting

We use 8 experts.

## 2 Related Work

Prior routing papers.

## References

[1] A. Author. Routing. 2020.
[2] B. Author. More routing. 2021.

## A Extra Experiments

More tables.
"""


def test_markdown_structure(tmp_path: Path) -> None:
    path = tmp_path / "paper.md"
    path.write_text(PAPER_MD)
    paper = load_paper(path)
    assert paper.title == "Sparse Mixture Routing"
    assert paper.abstract == "We route tokens to experts."
    assert [(s.title, s.level) for s in paper.sections] == [
        ("1 Introduction", 1),
        ("1.1 Setting", 2),
        ("2 Related Work", 1),
        ("Appendix", 1),
        ("A Extra Experiments", 1),
    ]
    assert "# a comment in code, not a heading" in paper.sections[0].text
    assert "references (2 entries)" in paper.dropped
    assert "front matter (authors, affiliations)" in paper.dropped
    assert paper.source_format == "markdown"
    assert "Routing. 2020" not in paper.markdown()


def test_markdown_keep_references() -> None:
    paper = parse_markdown(PAPER_MD, keep_references=True)
    titles = [s.title for s in paper.sections]
    assert titles[titles.index("References") + 1 : titles.index("References") + 3] == [
        "Appendix",
        "A Extra Experiments",
    ]


def test_setext_headings_and_no_abstract() -> None:
    paper = parse_markdown("Title Here\n==========\n\nIntro text.\n\nMethod\n------\n\nDetails.\n")
    assert paper.title == "Title Here"
    assert paper.abstract == ""
    assert [(s.title, s.text) for s in paper.sections] == [
        ("Front matter", "Intro text."),
        ("Method", "Details."),
    ]


def test_split_headings_ignores_fences() -> None:
    doc = split_headings("```\n# not a heading\n```\n## Real\nbody")
    assert doc.preamble == "```\n# not a heading\n```"
    assert [(h.depth, h.title, h.body) for h in doc.headings] == [(2, "Real", "body")]


def test_plain_text_paper(tmp_path: Path) -> None:
    path = tmp_path / "paper.txt"
    path.write_text(
        "Learning to Route\n\nAbstract\nWe route tokens.\n\n1 Introduction\nRouting matters.\n"
        "2 Method\nWe use 2 experts with 0.1 dropout.\n2.1 Gating\nSoftmax gate.\n"
        "3 BLEU 27.3 28.4 41.0 is a table row, not a heading\nReferences\n[1] Someone. 2020.\n"
    )
    paper = load_paper(path)
    assert paper.title == "Learning to Route"
    assert paper.abstract == "We route tokens."
    assert [(s.title, s.level) for s in paper.sections] == [
        ("1 Introduction", 1),
        ("2 Method", 1),
        ("2.1 Gating", 2),
    ]
    assert "3 BLEU 27.3" in paper.sections[-1].text
    assert "references (1 entries)" in paper.dropped
