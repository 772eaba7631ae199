"""The report in headless Chromium: mermaid diagrams become SVG; a broken one shows its error and source.

Needs Debian's ``chromium`` (``apt-get install -y chromium``). Skipped when it is absent, except in CI (``CI`` set),
where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from papercoder.report import write_report
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.report.fixtures import BROKEN_DIAGRAM, make_run
from tests.test_pipeline_e2e import run_cli

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,4000",
    "--virtual-time-budget=10000",
]


@pytest.fixture
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: CI must run `apt-get install -y chromium`")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def browse(chromium: str, page: Path, profile: Path, action: str) -> str:
    """Run headless Chromium on ``page`` with ``--dump-dom`` or ``--screenshot=PATH``; return stdout."""
    profile.mkdir(parents=True, exist_ok=True)
    args = [chromium, *FLAGS, f"--user-data-dir={profile}", action, page.resolve().as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def body(dom: str) -> str:
    """The dumped ``<body>`` without the inlined scripts (whose text would match any string), but with whatever
    the scripts appended after them (mermaid's leftovers would land there)."""
    return re.sub(r"<script>.*?</script>", "", dom[dom.index("<body") :], flags=re.DOTALL)


def figure(dom: str, anchor: str) -> tuple[str, str]:
    """The opening tag and the inner HTML of the ``<figure id=anchor>`` in the dumped DOM."""
    match = re.search(rf'(<figure[^>]*\bid="{anchor}"[^>]*>)(.*?)</figure>', dom, re.DOTALL)
    assert match, f"no figure {anchor} in the DOM"
    return match.group(1), match.group(2)


@pytest.mark.usefixtures("clean_env")
def test_fake_server_run_renders_all_diagrams(tmp_path: Path, server: FakeOpenAIServer, chromium: str) -> None:
    run = tmp_path / "run"
    code, output = run_cli(server, EXAMPLE_PAPER, run)
    assert code == 0, output
    page = write_report(run)

    dom = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    assert 'data-diagrams="done"' in dom  # report.js finished
    for anchor in ("diagram-class", "diagram-sequence", "diagram-deps"):
        tag, inner = figure(dom, anchor)
        assert 'data-state="ok"' in tag, inner[:2000]
        assert "<svg" in inner
    assert 'class="diagram-error"' not in body(dom)  # no error box anywhere
    _, deps = figure(dom, "diagram-deps")
    assert all(name in deps for name in ("main.py", "model.py", "utils.py"))

    shot = tmp_path / "report.png"
    browse(chromium, page, tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_broken_diagram_shows_error_box_with_source(tmp_path: Path, chromium: str) -> None:
    run = make_run(tmp_path / "run", class_diagram=BROKEN_DIAGRAM)
    page = write_report(run)
    dom = browse(chromium, page, tmp_path / "profile", "--dump-dom")

    tag, inner = figure(dom, "diagram-class")
    assert 'data-state="error"' in tag
    assert 'class="diagram-error"' in inner and 'role="alert"' in inner
    assert "This diagram could not be rendered." in inner
    message = re.search(r'<pre class="diagram-error-message">(.*?)</pre>', inner, re.DOTALL)
    assert message and message.group(1).strip(), "the error message is shown"
    source = re.search(r'<pre class="diagram-error-source">(.*?)</pre>', inner, re.DOTALL)
    assert source and "class Broken {{{" in source.group(1)
    assert "<svg" not in inner
    # The other diagrams still render.
    for anchor in ("diagram-sequence", "diagram-deps"):
        tag, inner = figure(dom, anchor)
        assert 'data-state="ok"' in tag and "<svg" in inner
    # No stray mermaid error graphic left in the page body.
    assert "Syntax error in text" not in body(dom)
    assert body(dom).count('class="diagram-error"') == 1
