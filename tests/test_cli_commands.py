"""The smaller commands: ingest, doctor, GROBID route, baselines through `run --method`, help texts."""

from __future__ import annotations

import http.server
import importlib.util
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply

runner = CliRunner()

TEI = b"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader><fileDesc><titleStmt><title level="a" type="main">A GROBID Paper
</title></titleStmt></fileDesc><profileDesc><abstract><p>We parse PDFs with a server.</p></abstract></profileDesc>
</teiHeader><text><body><div><head n="1">Method</head><p>The method uses a learning rate of 0.1.</p></div></body>
<back><div type="references"><listBibl><biblStruct><analytic><title>Ref</title></analytic></biblStruct></listBibl>
</div></back></text></TEI>"""


@pytest.fixture
def grobid() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback stand-in for a GROBID server (a test double): answers fixed TEI to a full-text request."""
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.path == "/api/processFulltextDocument"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(TEI if ok else b"")

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


def test_ingest_prints_markdown_and_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(EXAMPLE_PAPER)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Temperature-Scaled Prototype Networks")
    assert "| Learning rate | 0.01 |" in result.stdout
    out = tmp_path / "paper.md"
    result = runner.invoke(app, ["ingest", str(EXAMPLE_PAPER), "-o", str(out), "--max-paper-tokens", "300"])
    assert result.exit_code == 0, result.output
    assert "sections" in result.output and "tokens" in result.output and "trimmed" in result.output
    assert out.read_text().startswith("# Temperature-Scaled")


def test_ingest_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_grobid_route(tmp_path: Path, grobid: tuple[str, list[bytes]]) -> None:
    url, bodies = grobid
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Any PDF")
    pdf = tmp_path / "p.pdf"
    doc.save(pdf)
    result = runner.invoke(app, ["ingest", str(pdf), "--grobid-url", url])
    assert result.exit_code == 0, result.output
    assert "# A GROBID Paper" in result.stdout and "learning rate of 0.1" in result.stdout
    assert b"Any PDF" in bodies[0] or b"%PDF" in bodies[0]
    result = runner.invoke(app, ["ingest", str(pdf), "--grobid-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "cannot reach GROBID" in result.output


@pytest.mark.usefixtures("clean_env")
def test_doctor_without_a_key_never_prints_one(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 0, result.output
    assert "local/smollm2" in result.output and "OPENAI_API_KEY is not set" in result.output
    shown = " ".join(result.output.split())
    bwrap = "bwrap works (the default)" if shutil.which("bwrap") else "bwrap: bubblewrap (bwrap) is not installed"
    assert bwrap in shown and "docker: " in shown and "PDF layout --jobs" in shown
    assert ("Ray installed" if importlib.util.find_spec("ray") else "pip install 'papercoder[ray]'") in shown
    with FakeOpenAIServer(lambda r: Reply(content="x")) as server:
        result = runner.invoke(
            app, ["doctor", "--model", "fake-model", "--base-url", server.base_url], env={"OPENAI_API_KEY": TEST_KEY}
        )
    assert result.exit_code == 0, result.output
    assert "is set" in result.output and "reachable" in result.output and TEST_KEY not in result.output


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("method", ["paper", "abstract"])
def test_baseline_methods(tmp_path: Path, method: str) -> None:
    answer = "### File: main.py\n```python\nprint('hi')\n```\n### File: ../evil.py\n```python\nx = 1\n```\n"

    def responder(request: RecordedRequest) -> Reply:
        return Reply(content=answer)

    out = tmp_path / "run"
    with FakeOpenAIServer(responder) as server:
        result = runner.invoke(
            app,
            [
                "run",
                str(EXAMPLE_PAPER),
                "--out",
                str(out),
                "--method",
                method,
                "--model",
                "fake-model",
                "--base-url",
                server.base_url,
            ],
            env={"OPENAI_API_KEY": TEST_KEY},
        )
        prompt = server.requests[0].body["messages"][-1]["content"]
    assert result.exit_code == 0, result.output
    assert (out / "repo/main.py").read_text() == "print('hi')\n"
    assert not (tmp_path / "evil.py").exists()
    assert ("Experimental Setup" in prompt) == (method == "paper")
    assert json.loads((out / "manifest.json").read_text())["status"] == "done"


def test_help_explains_models_and_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for fragment in ("local/smollm2", "OPENAI_API_KEY", "--base-url", "Exit codes"):
        assert fragment in result.output
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for fragment in ("--model", "--api-key-env", "--reasoning-effort", "--concurrency", "Example"):
        assert fragment in result.output


@pytest.mark.usefixtures("clean_env")
def test_quiet_prints_only_the_result_line(tmp_path: Path) -> None:
    from tests.scenario import Paper2CodeScript

    with FakeOpenAIServer(Paper2CodeScript()) as server:
        result = runner.invoke(
            app,
            [
                "run",
                str(EXAMPLE_PAPER),
                "--out",
                str(tmp_path / "run"),
                "--quiet",
                "--model",
                "fake-model",
                "--base-url",
                server.base_url,
            ],
            env={"OPENAI_API_KEY": TEST_KEY},
        )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("done 3 files"), result.output


@pytest.mark.usefixtures("clean_env")
def test_progress_and_summary_table(tmp_path: Path) -> None:
    from tests.scenario import Paper2CodeScript

    with FakeOpenAIServer(Paper2CodeScript()) as server:
        result = runner.invoke(
            app,
            [
                "run",
                str(EXAMPLE_PAPER),
                "--out",
                str(tmp_path / "run"),
                "--model",
                "gpt-4o",
                "--base-url",
                server.base_url,
            ],
            env={"OPENAI_API_KEY": TEST_KEY},
        )
    assert result.exit_code == 0, result.output
    assert "3/3" in result.output and "4/4" in result.output  # files per stage, planning turns
    assert "planning" in result.output and "cached" in result.output and "$" in result.output


def test_error_text_is_printed_literally_not_as_markup(tmp_path: Path) -> None:
    missing = tmp_path / "paper[local][bold].md"
    result = runner.invoke(app, ["ingest", str(missing)])
    assert result.exit_code == 2
    assert "paper[local][bold].md" in result.output
    result = runner.invoke(app, ["--help"])
    assert "papercoder[local]" in result.output
    result = runner.invoke(app, ["bench", "--help"], env={"COLUMNS": "200"})
    assert "pip install 'papercoder[ray]'" in result.output  # an extra's brackets are not read as a markup tag


def test_help_shows_flags_as_flags_and_wraps_to_the_terminal() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    for command in (["run", "--help"], ["debug", "--help"], ["--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "papercoder", *command], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "<bool>" not in done.stdout and "--help" in done.stdout
        assert max(len(line) for line in done.stdout.splitlines()) <= 80, done.stdout
    assert (
        "--fresh"
        in subprocess.run(
            [sys.executable, "-m", "papercoder", "run", "--help"], capture_output=True, text=True, env=env, check=False
        ).stdout
    )


def test_an_estimate_command_points_to_run_estimate() -> None:
    result = runner.invoke(app, ["estimate", "paper.pdf", "--model", "openai/o3-mini"])
    assert result.exit_code == 2
    assert "papercoder run PAPER --estimate" in result.output and result.output.count("\n") == 1


@pytest.mark.usefixtures("clean_env")
def test_the_closing_table_fits_80_columns(tmp_path: Path) -> None:
    from tests.scenario import Paper2CodeScript

    with FakeOpenAIServer(Paper2CodeScript()) as server:
        args = ["run", str(EXAMPLE_PAPER), "--out", str(tmp_path / "run"), "--model", "gpt-4o"]
        result = runner.invoke(app, [*args, "--base-url", server.base_url], env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index(" stage ") : result.output.index("\ndone ")].splitlines()
    assert max(len(line) for line in table) <= 80, result.output  # the closing line after it is one line, unwrapped
    assert any(line.split()[:2] == ["planning", "done"] for line in table), result.output
