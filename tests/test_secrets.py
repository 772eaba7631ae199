"""Secrets stay secret: credentials in a base URL and the API key never reach the screen or the run directory,
on the happy path or any error path, and ``debug`` never sends a key to an endpoint only a manifest names."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import Answer, ErrorReply, FakeOpenAIServer, RawReply, RecordedRequest, StreamError
from tests.scenario import Paper2CodeScript

runner = CliRunner()
# Neither looks like a key (no sk- prefix, no "Bearer"): only redaction of the configured secrets can hide them.
KEY = "papercoder-test-key-0123456789"
PASSWORD = "hunter2-url-password"
QUERY_KEY = "query-secret-987654"
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
SECRETS = (KEY, PASSWORD, QUERY_KEY, BASIC)


def url_with_credentials(server: FakeOpenAIServer, query: str = "") -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{server.port}/v1{query}"


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def leaks_in(folder: Path) -> list[str]:
    """Every file under ``folder`` that holds a secret (read as bytes: binary files too)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {s}" for s in SECRETS if s.encode() in data]
    return found


def run(out: Path, base_url: str, env: dict[str, str], *extra: str) -> tuple[int, str]:
    args = ["run", str(EXAMPLE_PAPER), "--out", str(out), "--model", "fake-model", "--base-url", base_url]
    result = runner.invoke(app, [*args, *extra], env=env)
    return result.exit_code, result.output


@pytest.mark.usefixtures("clean_env")
def test_a_run_with_credentials_in_the_url_works_and_records_only_the_safe_url(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        code, output = run(out, url_with_credentials(server, f"?api_key={QUERY_KEY}&region=eu"), {})
        safe = server.base_url
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["model"]["base_url"] == f"{safe}?region=eu"
    assert leaks(output) == [] and leaks_in(out) == []
    # The credentials were used, in memory: userinfo as basic auth, the query key on every request.
    assert server.chat_requests
    for request in server.chat_requests:
        assert request.headers["authorization"] == f"Basic {BASIC}"
        assert request.path == "/v1/chat/completions"
        assert sorted(request.query.split("&")) == [f"api_key={QUERY_KEY}", "region=eu"]


@pytest.mark.usefixtures("clean_env")
def test_doctor_shows_the_safe_url_and_sends_the_credentials(tmp_path: Path) -> None:
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        result = runner.invoke(app, ["doctor", "--model", "fake-model", "--base-url", url_with_credentials(server)])
        safe = server.base_url
    assert result.exit_code == 0, result.output
    text = "".join(result.output.split())  # the table wraps long cells
    assert safe in text and "reachable(models:fake-model" in text
    assert leaks(result.output) == [] and "alice" not in result.output
    assert server.requests[0].headers["authorization"] == f"Basic {BASIC}"


def echo(kind: str) -> Callable[[RecordedRequest], Answer]:
    """A server that puts what it was sent (the Authorization header, the decoded credentials) in its error."""

    def answer(request: RecordedRequest) -> Answer:
        sent = request.headers.get("authorization", "")
        decoded = base64.b64decode(sent.split(" ", 1)[1]).decode() if sent.startswith("Basic ") else ""
        said = f"rejected {sent} ({sent.split(' ', 1)[-1]} / {decoded})"
        fast = {"retry-after-ms": "1"}  # the SDK retries 5xx: keep it quick
        if kind == "401":
            return ErrorReply(401, said, code="invalid_api_key")
        if kind == "500":
            return ErrorReply(500, said, type="server_error", headers=fast)
        if kind == "html-500":
            return RawReply(500, f"<html><body>proxy error: {said}</body></html>".encode(), headers=fast)
        if kind == "200-error-body":
            return RawReply(200, json.dumps({"error": {"message": said}}).encode(), "application/json")
        return StreamError(said, content="the answer sta")  # an error event in the middle of a stream

    return answer


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("auth", ["key", "url"])
@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("401", "HTTP 401"),
        ("500", "HTTP 500"),
        ("html-500", "HTTP 500"),
        ("200-error-body", "answered 200 with an error: rejected"),
        ("stream-error", "sent an error event: rejected"),
    ],
)
def test_every_error_path_is_one_redacted_line(tmp_path: Path, kind: str, shown: str, auth: str) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(echo(kind)) as server:
        if auth == "key":
            code, output = run(out, server.base_url, {"MY_KEY": KEY}, "--api-key-env", "MY_KEY")
        else:
            code, output = run(out, url_with_credentials(server), {})
    sent = server.chat_requests[0].headers["authorization"]
    assert (KEY in sent) if auth == "key" else (sent == f"Basic {BASIC}")  # the secret did reach the server
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("error:") and shown in last and "***" in last, output
    assert "Traceback" not in output
    assert leaks(output) == [] and leaks_in(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "***" in manifest["error"]
    assert list((out / "calls").iterdir()) == []  # failures are never cached


def make_run(server: FakeOpenAIServer, out: Path) -> None:
    code, output = run(out, server.base_url, {"OPENAI_API_KEY": KEY})
    assert code == 0, output


def point_manifest_at(out: Path, url: str) -> None:
    """What a run directory made elsewhere looks like: its manifest names another endpoint."""
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["model"]["base_url"] = url
    (out / "manifest.json").write_text(json.dumps(manifest))


def debug(out: Path, env: dict[str, str], *extra: str) -> tuple[int, str]:
    command = f'{sys.executable} -c "raise SystemExit(3)"'  # fails, so the loop asks the model for a fix
    args = ["debug", str(out), "--cmd", command, "--max-iters", "1", "--timeout", "60", *extra]
    result = runner.invoke(app, args, env=env)
    return result.exit_code, result.output


def carries_key(server: FakeOpenAIServer) -> list[RecordedRequest]:
    return [r for r in server.requests if KEY in json.dumps(r.headers) or KEY in r.query]


@pytest.mark.usefixtures("clean_env")
def test_debug_refuses_to_send_the_key_to_an_endpoint_only_the_manifest_names(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(Paper2CodeScript()) as own, FakeOpenAIServer(Paper2CodeScript()) as foreign:
        make_run(own, out)
        point_manifest_at(out, url_with_credentials(foreign))  # credentials an old manifest held are not reused
        before = len(own.requests)
        code, output = debug(out, {"OPENAI_API_KEY": KEY})
        assert code == 2 and len(output.strip().splitlines()) == 1, output
        assert f"this run used endpoint {foreign.base_url}; pass --base-url {foreign.base_url}" in output
        assert foreign.requests == [] and len(own.requests) == before
        assert leaks(output) == []

        # The user's own endpoint default (PAPERCODER_BASE_URL) counts as given: the key goes there, not to
        # the manifest's.
        code, output = debug(out, {"OPENAI_API_KEY": KEY, "PAPERCODER_BASE_URL": own.base_url})
        assert code == 1, output
        asked = own.chat_requests[before:]
        assert [r.headers["x-papercoder-step"] for r in asked] == ["debug/iter-01"] and carries_key(own)[-1] is asked[0]
        assert foreign.requests == []

        # Named with --base-url, the endpoint gets the key: the user chose it. (A fresh run: the first fix
        # request is in the call cache now.)
        other = tmp_path / "other"
        make_run(own, other)
        point_manifest_at(other, foreign.base_url)
        code, output = debug(other, {"OPENAI_API_KEY": KEY}, "--base-url", foreign.base_url)
        assert code == 1, output
        assert len(foreign.chat_requests) == 1 and carries_key(foreign) == foreign.requests


@pytest.mark.usefixtures("clean_env")
def test_debug_uses_the_manifest_endpoint_when_no_key_would_be_sent(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(Paper2CodeScript()) as own, FakeOpenAIServer(Paper2CodeScript()) as foreign:
        make_run(own, out)
        point_manifest_at(out, url_with_credentials(foreign))
        code, output = debug(out, {})
    assert code == 1, output  # the scripted model proposes no fix, so the command still fails
    assert [r.headers["x-papercoder-step"] for r in foreign.chat_requests] == ["debug/iter-01"]
    assert carries_key(foreign) == [] and foreign.chat_requests[0].headers["authorization"] == "Bearer not-needed"
    assert leaks_in(out) == []


@pytest.mark.usefixtures("clean_env")
def test_grobid_url_credentials_reach_neither_the_manifest_nor_the_error_line(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Any PDF")
    pdf = tmp_path / "p.pdf"
    doc.save(pdf)
    out = tmp_path / "run"
    grobid = f"http://bob:{PASSWORD}@127.0.0.1:9/?token={QUERY_KEY}"  # nothing listens on port 9
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        args = ["run", str(pdf), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url]
        result = runner.invoke(app, [*args, "--grobid-url", grobid])
    assert result.exit_code == 2 and "cannot reach GROBID" in result.output, result.output
    assert leaks(result.output) == []
    # The paper is read before the run directory is touched: an unreadable one leaves nothing behind.
    assert not out.exists() or (leaks_in(out) == [] and not (out / "manifest.json").exists())
