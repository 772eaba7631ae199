"""End to end through the CLI against the loopback fake server, with the real openai SDK on the client side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import CODE, CONFIG, FILES, Paper2CodeScript

runner = CliRunner()


def run_cli(server: FakeOpenAIServer, paper: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["run", str(paper), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url, *extra]
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    return result.exit_code, result.output


@pytest.mark.usefixtures("clean_env")
def test_example_paper_end_to_end(tmp_path: Path, server: FakeOpenAIServer, script: Paper2CodeScript) -> None:
    out = tmp_path / "run"
    code, output = run_cli(server, EXAMPLE_PAPER, out)
    assert code == 0, output

    repo = out / "repo"
    written = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())
    assert written == sorted([*FILES, "config.yaml", "requirements.txt", "reproduce.sh", "README.md"])
    for path in FILES:
        assert (repo / path).read_text() == CODE[path]
    assert (repo / "config.yaml").read_text() == CONFIG
    assert (repo / "requirements.txt").read_text() == "numpy>=1.24\npyyaml>=6\n"
    script_text = (repo / "reproduce.sh").read_text()
    assert script_text.startswith("#!/usr/bin/env bash\n") and "python main.py" in script_text
    assert "PAPERCODER_SMOKE=1" in script_text and (repo / "reproduce.sh").stat().st_mode & 0o100
    # The static checks found nothing in the scenario's repository: checks.json says so, and no repair call.
    checks = json.loads((out / "checks.json").read_text())
    assert checks["passed"] is True and checks["findings"] == [] and checks["repair"] is None

    # Every artifact of the run-dir layout.
    for rel in [
        "paper/paper.md",
        "paper/paper.json",
        "planning/1_plan.md",
        "planning/2_architecture.json",
        "planning/class_diagram.mmd",
        "planning/sequence_diagram.mmd",
        "planning/3_logic.json",
        "planning/config.yaml",
        "planning/trajectory.json",
        *[f"analysis/{f}.md" for f in FILES],
        *[f"coding/{f}.md" for f in FILES],
        "coding/reproduce.sh.md",
        "checks.json",
    ]:
        assert (out / rel).is_file(), rel
    assert "Temperature-Scaled Prototype Networks" in (out / "paper/paper.md").read_text()
    assert (out / "planning/class_diagram.mmd").read_text().startswith("classDiagram")
    arch = json.loads((out / "planning/2_architecture.json").read_text())
    assert arch["file_list"] == FILES

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["files"] == FILES
    assert manifest["model"]["name"] == "fake-model"
    assert manifest["model"]["api_key_env"] == "OPENAI_API_KEY"
    for stage in ("ingest", "planning", "analysis", "coding", "checks", "reproduce"):
        assert manifest["stages"][stage]["status"] == "done", stage
    assert manifest["stages"]["planning"]["calls"] == 4
    assert manifest["stages"]["analysis"]["calls"] == 3
    assert manifest["stages"]["coding"]["calls"] == 3
    assert manifest["stages"]["checks"]["calls"] == 0  # nothing found, nothing asked
    assert manifest["stages"]["reproduce"]["calls"] == 1
    assert manifest["stages"]["coding"]["usage"]["prompt_tokens"] > 0
    assert manifest["stages"]["coding"]["cost_usd"] is None  # unknown model: cost unknown, not a crash

    # Order: four planning turns, the analyses (any order), coding in task order, then reproduce.sh.
    assert script.steps[:4] == ["planning/plan", "planning/architecture", "planning/logic", "planning/config"]
    assert sorted(script.steps[4:7]) == sorted(f"analysis/{f}" for f in FILES)
    assert script.steps[7:] == [*[f"coding/{f}" for f in FILES], "repo/reproduce"]


@pytest.mark.usefixtures("clean_env")
def test_context_of_each_call(tmp_path: Path, server: FakeOpenAIServer) -> None:
    code, output = run_cli(server, EXAMPLE_PAPER, tmp_path / "run")
    assert code == 0, output
    by_step = {r.headers["x-papercoder-step"]: r for r in server.requests}
    # The planning conversation: each turn carries the previous answers.
    config_msgs = by_step["planning/config"].body["messages"]
    assert [m["role"] for m in config_msgs] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert "Temperature-Scaled Prototype Networks" in config_msgs[1]["content"]
    # Analysis: paper, plan, architecture, logic, config and the file's own logic entry.
    analysis = by_step["analysis/model.py"].body["messages"]
    assert analysis[:-1] == [*config_msgs, {"role": "assistant", "content": "```yaml\n" + CONFIG + "```\n"}]
    assert "PrototypeNet; imports load_config from utils." in analysis[-1]["content"]
    # Coding: its analysis and the full code of every file already written, none of the later ones.
    main_turn = by_step["coding/main.py"].body["messages"][-1]["content"]
    assert CODE["utils.py"].strip() in main_turn and CODE["model.py"].strip() in main_turn
    assert "## Analysis of main.py" in main_turn
    first_turn = by_step["coding/utils.py"].body["messages"][-1]["content"]
    assert "class PrototypeNet" not in first_turn
    # The key is sent to the server and never written into the run directory.
    assert all(r.headers["authorization"] == f"Bearer {TEST_KEY}" for r in server.requests)
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert TEST_KEY not in path.read_text(errors="replace"), path


@pytest.mark.usefixtures("clean_env")
def test_rerun_resumes_without_requests(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert run_cli(server, EXAMPLE_PAPER, out)[0] == 0
    first = len(server.requests)
    before = {p: p.read_bytes() for p in (out / "repo").rglob("*") if p.is_file()}
    assert run_cli(server, EXAMPLE_PAPER, out)[0] == 0
    assert len(server.requests) == first
    assert {p: p.read_bytes() for p in (out / "repo").rglob("*") if p.is_file()} == before
    # --fresh starts over: every call is made again.
    assert run_cli(server, EXAMPLE_PAPER, out, "--fresh")[0] == 0
    assert len(server.requests) == 2 * first


@pytest.mark.usefixtures("clean_env")
def test_json_summary(tmp_path: Path, server: FakeOpenAIServer) -> None:
    code, output = run_cli(server, EXAMPLE_PAPER, tmp_path / "run", "--json")
    assert code == 0, output
    data = json.loads(output)
    assert data["status"] == "done" and data["files"] == FILES and data["calls"] == 11


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("name", ["paper.pdf", "paper.tex", "paper.s2orc.json"])
def test_attention_paper_formats(tmp_path: Path, server: FakeOpenAIServer, attention_dir: Path, name: str) -> None:
    out = tmp_path / "run"
    code, output = run_cli(server, attention_dir / name, out)
    assert code == 0, output
    seen = (out / "paper/paper.md").read_text()
    assert "Attention Is All You Need" in seen
    assert "Scaled Dot-Product Attention" in seen
    names = sorted(p.name for p in (out / "repo").iterdir())
    assert names == sorted([*FILES, "config.yaml", "requirements.txt", "reproduce.sh", "README.md"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["paper"]["title"]


@pytest.mark.usefixtures("clean_env")
def test_dag_coding_order_from_the_cli(tmp_path: Path, server: FakeOpenAIServer, script: Paper2CodeScript) -> None:
    out = tmp_path / "run"
    code, output = run_cli(server, EXAMPLE_PAPER, out, "--coding-order", "dag", "--json")
    assert code == 0, output
    for path in FILES:
        assert (out / "repo" / path).read_text() == CODE[path]
    dag = json.loads((out / "coding/dag.json").read_text())
    # model.py imports utils; main.py imports model and utils: utils first, main last.
    assert dag["depends_on"]["model.py"] == ["utils.py"]
    assert dag["context"]["main.py"] == ["utils.py", "model.py"]
    assert json.loads((out / "manifest.json").read_text())["settings"]["coding_order"] == "dag"
    code, output = run_cli(server, EXAMPLE_PAPER, tmp_path / "bad", "--coding-order", "random")
    # A choice is an Enum: typer refuses another value and names the choices.
    flat = " ".join(output.replace("│", " ").split())  # rich draws typer's error in a box
    assert code == 2 and "'random' is not one of 'auto', 'sequential', 'dag'" in flat
