"""The report in headless Chromium at a phone's width: nothing wider than the viewport, every in-page link lands
on an element, the dependency graph's nodes link to their files, mermaid labels render as written, the search box
finds files and paper sections (``?q=`` fills it), diffs show side by side."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from papercoder.report import write_report
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.report.fixtures import add_extras, make_run
from tests.report.test_browser import FLAGS, chromium  # noqa: F401  (the fixture)
from tests.scenario import FIX_CONFIG, FIX_IMPORT, FIX_NAME, buggy_script
from tests.test_pipeline_e2e import run_cli

PROBE = (Path(__file__).parent / "probe.js").read_text()
NARROW = 420


def dump(browser: str, url: str, profile: Path, width: int = 1280) -> str:
    profile.mkdir(parents=True, exist_ok=True)
    # More virtual time than test_browser's: the probe waits for every diagram, then lays out all <details> open.
    keep = [f for f in FLAGS if not f.startswith(("--window-size", "--virtual-time-budget"))]
    flags = [*keep, f"--window-size={width},3000", "--virtual-time-budget=30000"]
    args = [browser, *flags, f"--user-data-dir={profile}", "--dump-dom", url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Headless Chromium keeps a window at least 500 px wide, so the page runs in an iframe of the width under test and
# the probe posts its findings to this wrapper, which writes them where --dump-dom sees them.
WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="probed.html" style="width:{width}px;height:2400px;border:0"></iframe>
<script>
window.addEventListener("message", function (event) {{
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = event.data;
  document.body.appendChild(out);
}});
</script></body></html>"""


def probe(browser: str, page: Path, profile: Path, width: int) -> dict[str, object]:
    """Load a copy of ``page`` with the probe script added, ``width`` CSS pixels wide; what the probe measured."""
    copy = page.with_name("probed.html")
    html = page.read_text()
    head, tail = html.rsplit("</body>", 1)  # the last one: the inlined mermaid.min.js holds the text "</body>"
    copy.write_text(f"{head}<script>\n{PROBE}\n</script>\n</body>{tail}")
    url = copy.as_uri()
    if width < 500:
        wrapper = page.with_name("probe-frame.html")
        wrapper.write_text(WRAPPER.format(width=width))
        url = wrapper.as_uri()
    dom = dump(browser, url, profile, max(width, 500))
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    if match is None:  # a loaded machine can run out of virtual time once; a second load decides
        dom = dump(browser, url, profile.with_name(profile.name + "-again"), max(width, 500))
        match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert match, "the probe did not finish"
    text = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    result: dict[str, object] = json.loads(text)
    return result


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A fake-server run whose checks repaired a file and whose plan is indented with em-spaces and spaces."""
    plan = (
        "## Plan\n1. Encoder\n\u2003\u2003hidden width 64\n\u2003\u2003embedding width 16\n"
        "2. Prototypes\n   one per class\n"
    )
    long_name = "a_module_with_a_very_long_name_that_does_not_fit_a_phone_screen_at_all.py"
    script = buggy_script(
        {
            "planning/plan": plan,
            "repair/checks": FIX_IMPORT + FIX_CONFIG + FIX_NAME,
        }
    )
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, EXAMPLE_PAPER, out)
    assert code in (0, 4), output
    checks = (out / "checks.json").read_text()
    add_extras(out)  # debug iterations and eval results; the run's own checks.json stays
    (out / "checks.json").write_text(checks)
    (out / "repo" / long_name).write_text("x = '" + "y" * 400 + "'\n")
    return out


def test_narrow_screen_has_no_horizontal_clipping(full_run: Path, chromium: str, tmp_path: Path) -> None:  # noqa: F811
    page = write_report(full_run)
    found = probe(chromium, page, tmp_path / "profile", NARROW)
    assert found["viewport"] <= NARROW
    assert found["wide"] == [], found["wide"]
    assert found["scroll_width"] <= found["viewport"]


def test_links_land_on_elements_and_graph_nodes_link_to_files(full_run: Path, chromium: str, tmp_path: Path) -> None:  # noqa: F811
    page = write_report(full_run)
    found = probe(chromium, page, tmp_path / "profile", 1280)
    assert found["broken"] == []
    assert found["links"] > 20  # toc, task list, logic table, findings, imports, sections, calls
    assert found["node_links"] == len(list((full_run / "repo").glob("*.py")))  # each node of the dependency graph
    html = page.read_text()
    for target in ("#file-main-py", "#file-model-py", "#file-utils-py"):
        assert f'href="{target}"' in html


def test_mermaid_labels_render_as_written(tmp_path: Path, chromium: str) -> None:  # noqa: F811
    members = "classDiagram\n    class PrototypeNet {\n        +int hidden_width\n        +__init__(cfg)\n    }\n"
    run = make_run(tmp_path / "run", class_diagram=members + "    PrototypeNet --> Encoder : calls __call__")
    found = probe(chromium, write_report(run), tmp_path / "profile", 1280)
    diagrams = found["diagrams"]
    assert isinstance(diagrams, dict)
    assert "__init__(cfg)" in diagrams["diagram-sequence"]
    for text in ("+__init__(cfg)", "+int hidden_width", "calls __call__", "PrototypeNet"):
        assert text in diagrams["diagram-class"], text
    assert "\\_" not in diagrams["diagram-class"]
    assert diagrams["diagram-sequence:bold"] == [] and diagrams["diagram-class:bold"] == []


def test_search_box_finds_files_and_paper_sections(full_run: Path, chromium: str, tmp_path: Path) -> None:  # noqa: F811
    page = write_report(full_run)
    dom = dump(chromium, page.as_uri() + "?q=load_config", tmp_path / "p1")
    results = dom[dom.index('id="search-results"') : dom.index("</section>", dom.index('id="search-results"'))]
    assert "hidden" not in results.split(">", 1)[0]
    hits = re.findall(r'<a href="#([^"]+)" class="search-hit">([^<]*)</a>', results)
    assert ("file-utils-py", "File: utils.py") in hits and ("file-main-py", "File: main.py") in hits
    dom = dump(chromium, page.as_uri() + "?q=softplus", tmp_path / "p2")
    hits = re.findall(r'<a href="#([^"]+)" class="search-hit">([^<]*)</a>', dom)
    assert hits == [("paper-sec-1", "Paper: 2 Method")]
    dom = dump(chromium, page.as_uri() + "?q=zzznotthere", tmp_path / "p3")
    assert "0 matches" in dom and 'class="search-hit"' not in dom


def test_plan_keeps_lines_and_indentation(full_run: Path) -> None:
    html = write_report(full_run).read_text()
    plan = html[html.index('<section id="plan">') : html.index("</section>", html.index('<section id="plan">'))]
    assert "<br />\n\u2003\u2003hidden width 64<br />" in plan
    assert "\u00a0\u00a0\u00a0one per class" in plan


def test_repair_diff_is_side_by_side(full_run: Path) -> None:
    html = write_report(full_run).read_text()
    checks = html[html.index('<section id="checks">') : html.index("</section>", html.index('<section id="checks">'))]
    assert '<table class="diff-table">' in checks
    rows = re.findall(r'<tr class="change">(.*?)</tr>', checks, re.DOTALL)
    old = 'class="del"><code>from utils import load_configuration</code>'
    new = 'class="add"><code>from utils import load_config</code>'
    assert any(old in row and new in row for row in rows), "a changed line sits beside its new version"
    assert '<a href="#file-main-py"><code>main.py</code></a>' in checks  # the finding links to its file
    files = html[html.index('<section id="files">') :]
    assert 'class="badge file-badge info" title="changed by the repair round of the checks">repaired</span>' in files
