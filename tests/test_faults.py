"""Provider faults and cut-off answers: the run completes and its repository is byte-identical to a clean run's."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import (
    Answer,
    DropConnection,
    ErrorReply,
    FakeOpenAIServer,
    RawReply,
    RecordedRequest,
    Reply,
    Stall,
)
from tests.scenario import Paper2CodeScript, many_files_script

FAULT_KINDS = ["rate_limit", "server_error", "timeout", "dropped", "html_200", "truncated_body"]


class FaultyScript:
    """Wraps a scenario: every fifth request fails (cycling through the transport fault kinds); the first
    architecture answer is cut-off JSON (a repair turn follows); the first answer for mod03.py stops at the length
    limit and its continuation brings the rest."""

    def __init__(self, inner: Paper2CodeScript) -> None:
        self.inner = inner
        self.count = 0
        self.kinds = itertools.cycle(FAULT_KINDS)
        self.injected: list[str] = []
        self.cut_done = False
        self.bad_json_done = False

    def fault(self, kind: str, request: RecordedRequest) -> Answer:
        step = request.headers["x-papercoder-step"]
        if kind == "rate_limit":
            return ErrorReply.rate_limit(retry_after_s=0.2)
        if kind == "server_error":
            return ErrorReply(500, "The server had an error while processing your request.", type="server_error")
        if kind == "timeout":
            return Stall(3.0, then=Reply(content=self.inner.answer(step)))
        if kind == "dropped":
            return DropConnection()
        if kind == "html_200":
            return RawReply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        return RawReply(200, b'{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"ind', "application/json")

    def __call__(self, request: RecordedRequest) -> Answer:
        self.count += 1
        step = request.headers["x-papercoder-step"]
        if step.endswith("#continue1"):
            full = self.inner.answer(step.split("#")[0])
            return Reply(content=full[len(full) // 2 :])
        if step == "coding/mod03.py" and not self.cut_done:
            self.cut_done = True
            self.injected.append("length")
            full = self.inner.answer(step)
            return Reply(content=full[: len(full) // 2], finish_reason="length")
        if step == "planning/architecture" and not self.bad_json_done:
            self.bad_json_done = True
            self.injected.append("bad_json_answer")
            return Reply(content='{"Implementation approach": "cut off mid-JSON", "File list": ["a.py"')
        if self.count % 5 == 0:
            kind = next(self.kinds)
            self.injected.append(kind)
            return self.fault(kind, request)
        return self.inner(request)


def run(server: FakeOpenAIServer, out: Path) -> tuple[int, str]:
    args = [
        "run",
        str(EXAMPLE_PAPER),
        "--out",
        str(out),
        "--model",
        "fake-model",
        "--base-url",
        server.base_url,
        "--timeout",
        "1",
        "--concurrency",
        "3",
    ]
    result = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    return result.exit_code, result.output


def repo_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (out / "repo").rglob("*") if p.is_file()}


@pytest.mark.usefixtures("clean_env")
def test_faults_do_not_change_the_repository(tmp_path: Path) -> None:
    with FakeOpenAIServer(many_files_script(14)) as server:
        code, output = run(server, tmp_path / "clean")
        assert code == 0, output
        clean_requests = len(server.requests)

    faulty = FaultyScript(many_files_script(14))
    with FakeOpenAIServer(faulty) as server:
        code, output = run(server, tmp_path / "faulty")
        assert code == 0, output
        faulty_requests = len(server.requests)

    assert repo_bytes(tmp_path / "faulty") == repo_bytes(tmp_path / "clean")
    assert set(FAULT_KINDS) | {"length", "bad_json_answer"} <= set(faulty.injected), faulty.injected
    assert faulty_requests > clean_requests
    print(
        f"clean requests {clean_requests}, faulty requests {faulty_requests}, injected {len(faulty.injected)}:"
        f" {faulty.injected}"
    )


@pytest.mark.usefixtures("clean_env")
def test_retries_spent_stop_with_one_line_and_keep_the_work(tmp_path: Path) -> None:
    script = Paper2CodeScript()

    def responder(request: RecordedRequest) -> Answer:
        if request.headers["x-papercoder-step"].startswith("analysis/"):
            return ErrorReply(503, "The engine is currently overloaded.", type="server_error")
        return script(request)

    out = tmp_path / "run"
    with FakeOpenAIServer(responder) as server:
        code, output = run(server, out)
    assert code == 1
    assert "analysis/" in output and "503" in output and "Traceback" not in output
    assert output.strip().count("\n") == 0 or "error:" in output.strip().splitlines()[-1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["planning"]["status"] == "done"
    assert manifest["stages"]["analysis"]["status"] == "failed"
    assert (out / "planning/3_logic.json").is_file()
