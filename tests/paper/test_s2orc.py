"""s2orc JSON papers (the original Paper2Code input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from papercoder.paper import load_paper

TEXT = "Attention [1] works well [2, 3]. See Figure 1 and Table 1."


def s2orc_doc() -> dict[str, Any]:
    first = TEXT.index("[1]")
    second = TEXT.index("[2,")
    return {
        "paper_id": "x",
        "title": "Copyright 2024 by the authors. All rights reserved here. Tiny Transformers",
        "authors": [{"first": "Jane", "last": "Doe"}],
        "abstract": "We shrink transformers.",
        "pdf_parse": {
            "body_text": [
                {
                    "text": TEXT,
                    "cite_spans": [
                        {"start": first, "end": first + 3, "text": "[1]"},
                        {"start": second, "end": second + 3, "text": "[2,"},
                        {"start": second + 4, "end": second + 6, "text": "3]"},
                    ],
                    "ref_spans": [{"start": 42, "end": 43, "text": "1", "ref_id": "TABREF0"}],
                    "eq_spans": [],
                    "section": "Introduction",
                    "sec_num": "1",
                },
                {
                    "text": "EQUATION",
                    "cite_spans": [],
                    "ref_spans": [],
                    "eq_spans": [{"start": 0, "end": 8, "text": "EQUATION", "raw_str": "y = Wx + b", "eq_num": "(1)"}],
                    "section": "Model",
                    "sec_num": "2.1",
                },
                {"text": "More on the model.", "section": "Model", "sec_num": "2.1"},
                {"text": "A paragraph without section.", "section": "", "sec_num": None},
            ],
            "back_matter": [{"text": "Thanks.", "section": "Acknowledgments"}],
            "bib_entries": {"BIBREF0": {"raw_text": "A. Author. A paper. 2020."}},
            "ref_entries": {
                "TABREF0": {
                    "text": "Hyper-parameters.",
                    "type_str": "table",
                    "content": (
                        '<table><tr><td>lr</td><td colspan="2">0.1 0.2</td></tr>'
                        "<tr><td/><td>a</td><td>b</td></tr></table>"
                    ),
                },
                "FIGREF0": {"text": "Figure 1: Overview.", "type_str": "figure"},
            },
        },
    }


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(doc))
    return path


def test_s2orc_paper(tmp_path: Path) -> None:
    paper = load_paper(write(tmp_path, s2orc_doc()))
    assert paper.title == "Tiny Transformers"
    assert paper.abstract == "We shrink transformers."
    assert [(s.title, s.level) for s in paper.sections] == [
        ("1 Introduction", 1),
        ("2.1 Model", 2),
        ("Figures and tables", 1),
    ]
    intro = paper.sections[0].text
    assert intro.startswith("Attention works well. See Figure 1 and Table 1.")
    assert "Table 1: Hyper-parameters.\n\n| lr | 0.1 0.2 | |\n|---|---|---|\n| | a | b |" in intro
    model = paper.sections[1].text
    assert model == "y = Wx + b (1)\n\nMore on the model.\n\nA paragraph without section."
    assert paper.sections[2].text == "Figure 1: Overview."
    assert paper.dropped == [
        "text before the title (e.g. licence notice)",
        "authors",
        "3 citation markers",
        "back matter (acknowledgements)",
        "bibliography (1 entries)",
    ]


def test_s2orc_keep_references_and_flat_layout(tmp_path: Path) -> None:
    doc = s2orc_doc()
    flat = {"title": "Flat", "abstract": "", **doc["pdf_parse"]}
    paper = load_paper(write(tmp_path, flat), keep_references=True)
    assert paper.title == "Flat"
    assert paper.sections[-1].title == "References"
    assert paper.sections[-1].text == "- A. Author. A paper. 2020."
