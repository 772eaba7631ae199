"""The HTML report of a hand-made run directory: contents, escaping of untrusted text, missing parts, errors."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.report import render_report, write_report
from papercoder.report.render import ASSETS, read_asset
from tests.report.fixtures import HOSTILE, SEQUENCE_DIAGRAM, add_extras, make_run


class TagCounter(HTMLParser):
    """Counts start tags as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1


def count_tags(html: str) -> dict[str, int]:
    parser = TagCounter()
    parser.feed(html)
    return parser.tags


def test_full_report(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    add_extras(run)
    html = render_report(run)

    assert "<title>Temperature-Scaled Prototype Networks — papercoder report</title>" in html
    # Ingest facts: format, sections, tokens with the condensation, dropped and fit steps.
    assert "markdown" in html and "900" in html and "condensed from 1,200" in html
    assert "references" in html and "dropped the appendix" in html
    assert "We classify with prototypes &amp; a &lt;temperature&gt;." in html
    # The plan as Markdown, its raw HTML escaped.
    assert "<strong>MLP</strong>" in html
    assert "&lt;b&gt;raw html&lt;/b&gt;" in html
    # Diagrams: class, sequence, dependencies, each with its (escaped) source for mermaid.
    for anchor in ("diagram-class", "diagram-sequence", "diagram-deps"):
        assert f'id="{anchor}"' in html
    assert "M-&gt;&gt;N: __init__(cfg)" in html
    assert 'n0["main.py"]' in html.replace("&#34;", '"')
    assert re.findall(r"n\d --&gt; n\d", html) == ["n0 --&gt; n1", "n0 --&gt; n2", "n1 --&gt; n2"]
    # Files: highlighted code, rendered analysis, the extra config.yaml not in the plan.
    assert 'id="file-utils-py"' in html and 'id="file-config-yaml"' in html
    assert '<span class="kn">import</span><span class="w"> </span><span class="nn">yaml</span>' in html
    assert "<h2>Analysis of model.py</h2>" in html
    assert "not in the plan" in html
    # Cost: three charts and the stage table.
    assert html.count('<svg class="chart"') == 3
    assert "$0.1400" in html and "28,000" in html
    # Warnings, checks, debug iterations and eval results.
    assert "paper condensed to fit 1000 tokens" in html
    assert "ModuleNotFoundError: torch" in html and '<td class="bad">failed</td>' in html
    assert "exit 1 · python main.py" in html and "exit 0 · python main.py" in html
    assert '<span class="gd">-print(1)</span>' in html
    assert "Score · ref-free" in html and "3.50" in html and "missing temperature" in html
    # The judge's critiques as a table, worst first, each tied to its file (linked) and function.
    critiques = html[html.index('<table class="critiques">') :]
    assert critiques.index("missing temperature") < critiques.index("no docstring")
    assert '<a href="#file-model-py"><code>model.py</code></a> · <code>PrototypeNet.forward</code>' in critiques
    assert "Reproduce the paper" in html and "Prototypes" in html
    assert "weird.json is not valid JSON" in html and "[1, 2" in html
    # Exactly our two scripts; everything offline.
    assert count_tags(html)["script"] == 2
    assert 'http-equiv="Content-Security-Policy"' in html
    assert not re.search(r"""(src|href)=["']https?:""", html)


def test_write_report_paths(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    assert write_report(run) == run / "report.html"
    assert (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    other = tmp_path / "out" / "r.html"
    assert write_report(run, other) == other
    assert other.is_file()


def test_hostile_model_output_is_escaped(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        code={"main.py": f"print('{HOSTILE}')\n", "x.yaml": HOSTILE},
        class_diagram=f"classDiagram\n    class A {{\n    }}\n    %% {HOSTILE}",
        model=HOSTILE,
    )
    (run / "analysis" / "main.py.md").write_text(
        f"# {HOSTILE}\n<img src=x onerror=alert(1)>\n```python\n{HOSTILE}\n```\n"
    )
    (run / "planning" / "1_plan.md").write_text(
        f"{HOSTILE}\n[click](javascript:alert(1))\n![i](http://example.com/t.png)"
    )
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["warnings"].append(HOSTILE)
    manifest["paper"]["title"] = HOSTILE
    manifest["stages"][HOSTILE] = {"status": "done"}
    (run / "manifest.json").write_text(json.dumps(manifest))

    html = render_report(run)
    tags = count_tags(html)  # as a browser tokenizes it: the vendored scripts' strings are not tags
    assert tags["script"] == 2
    assert "img" not in tags
    page = html[: html.index("<script>")]  # the page before the inlined scripts
    assert "<script>alert(1)" not in page and "</script><script>" not in page
    assert 'href="javascript:' not in page  # markdown-it refuses the scheme: the link stays text
    assert not re.search(r"src=[\"']?http", page)  # images are not rendered: nothing is fetched
    assert page.count("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


def test_missing_optional_parts(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", minimal=True)
    html = render_report(run)
    assert "No plan was written." in html
    assert "No architecture diagrams were written." in html
    assert "The repository has no Python files." in html
    assert "No files yet." in html
    assert 'class="diagram"' not in html
    for absent in ('id="checks"', 'id="debug"', 'id="eval"'):
        assert absent not in html


def test_planned_file_never_written_and_odd_artifacts(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (run / "repo" / "model.py").unlink()
    (run / "repo" / "weights.bin").write_bytes(b"\x00\x01\x02")
    (run / "planning" / "2_architecture.json").write_text("not json")
    (run / "planning" / "3_logic.json").write_text('["a list, not an object"]')
    (run / "repo" / "broken.py").write_text("def (:\n")
    html = render_report(run)
    assert "This file was not written." in html
    assert "binary file, 3 bytes: not shown" in html
    assert "Not valid Python, so their imports are unknown: broken.py" in html
    assert 'id="diagram-class"' in html  # still read from class_diagram.mmd


def test_diagrams_fall_back_to_architecture_json(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (run / "planning" / "sequence_diagram.mmd").unlink()
    html = render_report(run)
    assert 'id="diagram-sequence"' in html
    assert "participant M as Main" in html and SEQUENCE_DIAGRAM.startswith("sequenceDiagram")


def test_planned_paths_outside_the_repo_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    run = make_run(tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"].append("../../secret.txt")
    (run / "manifest.json").write_text(json.dumps(manifest))
    html = render_report(run)
    assert "TOP-SECRET" not in html


def test_not_a_run_dir(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a papercoder run directory \(no manifest\.json\)"):
        render_report(tmp_path)
    (tmp_path / "manifest.json").write_text('{"status": "exploded"}')
    with pytest.raises(InputError, match="not a readable manifest"):
        render_report(tmp_path)


def test_vendored_assets_can_be_inlined() -> None:
    for name in ASSETS:
        text = read_asset(name)
        assert "</script" not in text.lower() and "<script" not in text.lower()
    assert 'version:"11.17.2"' in read_asset("mermaid.min.js")


def test_checks_as_a_list_of_findings(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    findings = [
        {"kind": "import", "path": "main.py", "line": 1, "message": f"no module {HOSTILE}"},
        {"kind": "config", "path": "model.py", "line": None, "message": "key model.depth is not in config.yaml"},
    ]
    (run / "checks.json").write_text(json.dumps(findings))
    html = render_report(run)
    section = html[html.index('<section id="checks">') :]
    assert "<th>kind</th><th>path</th><th>line</th><th>message</th>" in section
    assert "key model.depth is not in config.yaml" in section
    assert "no module &lt;/script&gt;" in section
    (run / "checks.json").write_text(json.dumps({"findings": [], "ok": True}))
    section = render_report(run).split('<section id="checks">')[1]
    assert "The static checks found nothing." in section and "passed" in section
    assert "<summary>checks.json</summary>" in section  # the whole record, folded
