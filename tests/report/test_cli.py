"""``papercoder report`` and ``papercoder runs`` through typer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from papercoder._cli.report import register
from tests.report.fixtures import make_run

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_report_default_and_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run")
    code, output = invoke("report", str(run))
    assert code == 0, output
    assert (run / "report.html").is_file() and "report.html" in output

    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    monkeypatch.setenv("DISPLAY", ":0")
    target = tmp_path / "elsewhere.html"
    code, output = invoke("report", str(run), "-o", str(target), "--open")
    assert code == 0, output
    assert target.is_file()
    assert opened == [target.resolve().as_uri()]


def test_report_open_without_a_display_says_where_the_file_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code, output = invoke("report", str(run), "--open")
    assert code == 0, output
    assert opened == []  # no text browser started in this terminal
    assert "no browser could open it here" in output and str((run / "report.html").resolve()) in output


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    code, output = invoke("report", str(tmp_path))
    assert code == 2
    assert "not a papercoder run directory (no manifest.json)" in output
    assert "Traceback" not in output
    assert not (tmp_path / "report.html").exists()


def test_runs_table_and_json(tmp_path: Path) -> None:
    make_run(tmp_path / "alpha", model="gpt-[bold]x")
    make_run(tmp_path / "team" / "beta", status="failed")
    code, output = invoke("runs", str(tmp_path))
    assert code == 0, output
    for text in ("alpha", "team/beta", "done", "failed", "gpt-[bold]x", "34,000", "$0.1400", "2025-01-02 03:04"):
        assert text in output

    code, output = invoke("runs", str(tmp_path), "--json")
    assert code == 0, output
    rows = json.loads(output)
    assert {r["name"] for r in rows} == {"alpha", "team/beta"}
    assert all(r["tokens"] == 34000 and r["files"] == 3 for r in rows)


def test_runs_empty_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = invoke("runs", str(tmp_path))
    assert code == 0 and "no runs under" in output
    code, output = invoke("runs", str(tmp_path / "missing"))
    assert code == 2 and "no runs folder" in output
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    make_run(tmp_path / "runs" / "default")
    code, output = invoke("runs")
    assert code == 0 and "default" in output
