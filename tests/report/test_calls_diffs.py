"""The report's model calls (prompt, answer, folded thinking, from the file or stage they belong to) and its
side-by-side diffs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from papercoder.report import render_report
from papercoder.report.diffview import side_by_side
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_pipeline_e2e import run_cli
from tests.test_reasoning import THOUGHT, ThinkingScript

DIFF = """--- a/main.py
+++ b/main.py
@@ -1,4 +1,4 @@
 import os
-from utils import load_configuration
+from utils import load_config
 x = 1
-y = 2
+y = 3
+z = 4
--- a/config.yaml
+++ b/config.yaml
@@ -2 +2,2 @@
-  a: 1
+  a: 2
\\ No newline at end of file
"""


def test_side_by_side_pairs_changed_lines() -> None:
    main, config = side_by_side(DIFF)
    assert (main.path, main.removed, main.added) == ("main.py", 2, 3)
    kinds = [r.kind for r in main.rows]
    assert kinds == ["hunk", "same", "change", "same", "change", "add"]
    change = main.rows[2]
    assert (change.left_no, change.left, change.right_no, change.right) == (
        2, "from utils import load_configuration", 2, "from utils import load_config"
    )  # fmt: skip
    assert (main.rows[5].left, main.rows[5].right_no, main.rows[5].right) == (None, 5, "z = 4")
    assert config.path == "config.yaml" and [r.kind for r in config.rows] == ["hunk", "change"]
    assert side_by_side("") == []


@pytest.mark.usefixtures("clean_env")
def test_each_call_is_shown_with_its_file_or_stage_and_thinking_folded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(ThinkingScript(inline=True)) as server:
        assert run_cli(server, EXAMPLE_PAPER, out)[0] == 0
    html = render_report(out)
    files = html[html.index('<section id="files">') : html.index('<section id="cost">')]
    model_py = files[files.index('id="file-model-py"') : files.index('id="file-main-py"')]
    for step in ("analysis/model.py", "coding/model.py"):
        assert f"Call <code>{step}</code>" in model_py
        thought = THOUGHT.format(step=step)
        assert '<details class="thinking"><summary>Thinking</summary>' in model_py
        assert thought.split(":")[0] in model_py
    assert "Here is `model.py`:" in model_py  # the answer, without its thinking
    calls = html[html.index('<section id="calls">') :]
    for step in ("planning/plan", "planning/architecture", "planning/logic", "planning/config", "repo/reproduce"):
        assert f"Call <code>{step}</code>" in calls, step
    # The paper is in every prompt: shown once, then linked.
    assert html.count("=== PAPER ===") == 1
    refs = re.findall(r'the same text as <a href="#(msg-[0-9a-f]{12})">', html)
    assert refs and all(f'id="{r}"' in html for r in refs)
    assert "&lt;think&gt;" not in html
