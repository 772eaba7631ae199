"""``bench --paperbench`` on a two-paper fixture in PaperBench's layout: the exact table, resume, the estimate."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.evaluation.paperbench import discover, paper_text
from papercoder.paper.tokens import count_tokens
from papercoder.pipeline.rubric import leaf_cap
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.refine_script import Leaf, RefineScript

runner = CliRunner()

LEAVES = {
    "a1": Leaf("a1", "hidden_width", "model.py"),
    "a2": Leaf("a2", "self.temperature", "model.py"),
    "b1": Leaf("b1", "yaml.safe_load", "utils.py", weight=3),
    "b2": Leaf("b2", "def prototype_loss(", "main.py"),
}
BASELINE_CODE = (
    "### File: main.py\n```python\nclass Net:\n    def __init__(self, cfg: dict) -> None:\n"
    "        self.hidden = cfg['hidden_width']\n        self.temperature = 1.0\n\n\n"
    "def prototype_loss(distances: list) -> float:\n    return -min(distances)\n```\n"
)


def leaf(item: Leaf, category: str = "Code Development") -> dict[str, Any]:
    return {
        "id": item.id,
        "requirements": f"requirement {item.id}",
        "weight": item.weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": "Method Implementation",
    }


def write_paper(root: Path, pid: str, leaves: list[dict[str, Any]], addendum: str | None) -> None:
    folder = root / "papers" / pid
    folder.mkdir(parents=True)
    (folder / "paper.md").write_text(EXAMPLE_PAPER.read_text().replace("Small Tabular", f"Small Tabular ({pid})"))
    if addendum:
        (folder / "addendum.md").write_text(addendum)
    tree = {"id": pid, "requirements": pid, "weight": 1, "sub_tasks": leaves, "task_category": None}
    (folder / "rubric.json").write_text(json.dumps(tree))
    (folder / "config.yaml").write_text(f"id: {pid}\ntitle: Paper {pid}\n")
    (folder / "blacklist.txt").write_text("https://github.com/authors/code\n")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    execution = dict(leaf(Leaf("a3", "never", "x.py")), task_category="Code Execution")
    write_paper(root, "alpha", [leaf(LEAVES["a1"]), leaf(LEAVES["a2"]), execution], "Use 64 hidden units.")
    write_paper(root, "beta", [leaf(LEAVES["b1"]), leaf(LEAVES["b2"])], None)
    return root


def test_layout_reader(data: Path) -> None:
    papers = discover(data)
    assert [p.id for p in papers] == ["alpha", "beta"]
    assert papers[0].title == "Paper alpha" and papers[0].blacklist == ["https://github.com/authors/code"]
    assert paper_text(papers[0]).rstrip().endswith("## Addendum\n\nUse 64 hidden units.")
    assert [p.id for p in discover(data / "papers", ["beta"])] == ["beta"]


@pytest.mark.usefixtures("clean_env")
def test_paperbench_table_is_exact_and_resumes(data: Path, tmp_path: Path) -> None:
    script = RefineScript(leaves=LEAVES, replies={"baseline/paper": BASELINE_CODE})
    out = tmp_path / "out"
    with FakeOpenAIServer(script) as server:
        args = ["bench", str(data), "--paperbench", "--methods", "papercoder,paper", "--out", str(out)]
        args += ["--model", "fake-model", "--base-url", server.base_url, "--quiet"]
        result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        made = len(server.chat_requests)
        grading = [s for s in script.steps if s.startswith("grade/")]
        again = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
        assert again.exit_code == 0, again.output
        assert len(server.chat_requests) == made  # resumed: every answer from the runs' call caches
    # Only Code-Development leaves are graded (a3 is Code Execution): 2 + 2 leaves × 2 methods.
    assert sorted(grading) == sorted(["grade/a1", "grade/a2", "grade/b1", "grade/b2"] * 2)
    table = (out / "results.md").read_text()
    # papercoder: alpha = (1 + 0)/2 = 50, beta = (3·1 + 0)/4 = 75 → 62.5 ± stdev(50, 75)/√2 = 12.5.
    # paper: alpha = 100, beta = (0 + 1)/4 = 25 → 62.5 ± stdev(100, 25)/√2 = 37.5.
    assert "| papercoder | 62.5 ± 12.5 | 2 | 0 |" in table
    assert "| paper | 62.5 ± 37.5 | 2 | 0 |" in table
    assert "| alpha | 50.0 | 100.0 |" in table and "| beta | 75.0 | 25.0 |" in table
    assert "| PaperCoder (o3-mini-high) | 45.1 ± 0.3 | o3-mini-high | Seo et al. 2025" in table
    assert "AutoP2C | 50.1 ± 1.1" in table and "IterativeAgent (o1-high) | 43.4 ± 0.8" in table
    rows = list(csv.DictReader((out / "papers.csv").open()))
    assert [(r["paper"], r["method"], float(r["score"])) for r in rows] == [
        ("alpha", "papercoder", 0.5),
        ("alpha", "paper", 1.0),
        ("beta", "papercoder", 0.75),
        ("beta", "paper", 0.25),
    ]
    # The addendum reached the generator, as PaperBench gives it to its agents.
    assert "Use 64 hidden units." in (out / "alpha" / "input.md").read_text()
    graded = json.loads((out / "alpha" / "papercoder" / "seed-1" / "eval" / "paperbench-code-dev.json").read_text())
    assert graded["category"] == "Code Development" and graded["leaves"] == 2


@pytest.mark.usefixtures("clean_env")
def test_paperbench_estimate_counts(data: Path) -> None:
    args = ["bench", str(data), "--paperbench", "--estimate", "--json", "--seeds", "2", "--refine-rounds", "2"]
    args += ["--methods", "papercoder,papercoder+refine", "--model", "openai/o3-mini"]
    result = runner.invoke(app, args, env={})
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    stages = {s["stage"]: s for s in plan["stages"]}
    # One grading call per Code-Dev leaf: (2 + 2) leaves × 2 methods × 2 seeds.
    assert stages["grading"]["calls"] == 16
    assert stages["planning"]["calls"] == 4 * 2 * 2 * 2
    derived = sum(leaf_cap(count_tokens(paper_text(p))) for p in discover(data))
    assert stages["refine-grading"]["calls"] == derived * (1 + 2) * 2  # first grading + one per round, per seed
    assert stages["rubric"]["calls"] == (1 + 5) * 2 * 2
    assert plan["calls"] == sum(s["calls"] for s in plan["stages"])
    assert plan["cost_usd"] is not None and plan["cost_usd"] > 0
    assert [p["code_dev_leaves"] for p in plan["papers"]] == [2, 2]
