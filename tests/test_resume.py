"""Runs that survive: SIGKILL at any stage then resume, corrupt cache entries, budgets, estimates, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER, REPO_ROOT, TEST_KEY
from tests.fakes.openai_server import Answer, DropConnection, FakeOpenAIServer, RecordedRequest
from tests.scenario import Paper2CodeScript, many_files_script

runner = CliRunner()


def cli_args(server: FakeOpenAIServer, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(EXAMPLE_PAPER),
        "--out",
        str(out),
        "--model",
        "fake-model",
        "--base-url",
        server.base_url,
        *extra,
    ]


def repo_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (out / "repo").rglob("*") if p.is_file()}


class KillAt:
    """Answers like the scenario, but SIGKILLs the client process when the request for ``step`` arrives."""

    def __init__(self, inner: Paper2CodeScript, step: str) -> None:
        self.inner = inner
        self.step = step
        self.pid: int | None = None
        self.killed = threading.Event()

    def __call__(self, request: RecordedRequest) -> Answer:
        if request.headers["x-papercoder-step"] == self.step and not self.killed.is_set() and self.pid:
            os.kill(self.pid, signal.SIGKILL)
            self.killed.set()
            return DropConnection()
        return self.inner(request)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], int]:
    out = tmp_path_factory.mktemp("clean") / "run"
    with FakeOpenAIServer(many_files_script(4)) as server:
        result = runner.invoke(app, cli_args(server, out), env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        return repo_bytes(out), len(server.requests)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("step", ["planning/logic", "analysis/mod02.py", "coding/mod03.py"])
def test_sigkill_then_resume(tmp_path: Path, step: str, clean_run: tuple[dict[str, bytes], int]) -> None:
    clean_repo, clean_requests = clean_run
    out = tmp_path / "run"
    killer = KillAt(many_files_script(4), step)
    with FakeOpenAIServer(killer) as server:
        env = {**os.environ, "OPENAI_API_KEY": TEST_KEY, "PYTHONPATH": str(REPO_ROOT / "src")}
        proc = subprocess.Popen(  # the real CLI in its own process, so SIGKILL is a real crash
            [sys.executable, "-m", "papercoder", *cli_args(server, out, "--concurrency", "1")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        killer.pid = proc.pid
        proc.wait(timeout=120)
        assert killer.killed.is_set() and proc.returncode == -signal.SIGKILL
        before = len(server.requests)
        killed = json.loads((out / "manifest.json").read_text())
        done_calls = sum(s["calls"] for s in killed["stages"].values() if s["status"] == "done")
        result = runner.invoke(app, cli_args(server, out), env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        resumed = len(server.requests) - before
    # Every call answered before the kill came from the cache; the rest were asked once each.
    cached = len(list((out / "calls").glob("*.json")))
    assert resumed == clean_requests - (before - 1), (resumed, clean_requests, before)
    assert cached == clean_requests
    assert repo_bytes(out) == clean_repo
    print(
        f"killed at {step}: {before - 1} answered before the kill, {resumed} requests on resume, "
        f"clean run {clean_requests}"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "done"
    # The same totals as an uninterrupted run; the stage that was cut (and those after it) re-counted its answers
    # from the cache, the stages finished before the kill were loaded as they were.
    assert sum(s["calls"] for s in manifest["stages"].values()) == clean_requests
    assert sum(s["cached_calls"] for s in manifest["stages"].values()) == before - 1 - done_calls


@pytest.mark.usefixtures("clean_env")
def test_corrupt_cache_entry_is_redone(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, cli_args(server, out), env={"OPENAI_API_KEY": TEST_KEY}).exit_code == 0
    first = len(server.requests)
    entries = sorted((out / "calls").glob("*.json"))
    entries[0].write_text('{"key": "trunc')  # a torn write
    (out / "manifest.json").write_text("{}")  # and a broken manifest: stages are redone from the cache
    result = runner.invoke(app, cli_args(server, out), env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.output
    assert len(server.requests) == first + 1
    json.loads(entries[0].read_text())  # rewritten whole


@pytest.mark.usefixtures("clean_env")
def test_token_budget_stops_with_exit_3_and_resumes(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, cli_args(server, out, "--max-tokens", "9000"), env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 3, result.output
    assert "--max-tokens 9000" in result.output and "re-run" in result.output
    made = len(server.requests)
    assert 0 < made < 11
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "max-tokens" in manifest["error"]
    result = runner.invoke(app, cli_args(server, out), env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 11  # the calls made under the budget were not paid twice


@pytest.mark.usefixtures("clean_env")
def test_cost_budget_on_a_priced_model(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script, models=("gpt-4o",)) as server:
        args = [
            "run",
            str(EXAMPLE_PAPER),
            "--out",
            str(tmp_path / "run"),
            "--model",
            "gpt-4o",
            "--base-url",
            server.base_url,
            "--max-cost",
            "0.01",
        ]
        result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 3, result.output
    assert "--max-cost 0.01" in result.output


@pytest.mark.usefixtures("clean_env")
def test_estimate_calls_no_model(tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = runner.invoke(
        app, [*cli_args(server, tmp_path / "run"), "--estimate", "--json"], env={"OPENAI_API_KEY": TEST_KEY}
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["stage"] for s in data["stages"]] == ["planning", "analysis", "coding", "reproduce"]
    assert data["stages"][3]["calls"] == 1
    assert data["stages"][0]["calls"] == 4 and data["paper_tokens"] > 500
    assert data["cost_usd"] is None  # an unknown model's price is unknown
    assert server.requests == []
    # No key is needed for an estimate: nothing is called.
    result = runner.invoke(app, ["run", str(EXAMPLE_PAPER), "--estimate", "--model", "openai/gpt-4o"])
    assert result.exit_code == 0 and "$" in result.output, result.output


@pytest.mark.usefixtures("clean_env")
def test_wrong_key_error_never_echoes_the_key(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script, api_key="sk-the-right-key-0000000000") as server:
        result = runner.invoke(app, cli_args(server, tmp_path / "run"), env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 1
    assert "401" in result.output and "API key" in result.output
    assert TEST_KEY not in result.output and TEST_KEY[-10:] not in result.output
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert TEST_KEY not in path.read_text(errors="replace")
