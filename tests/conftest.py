"""Shared fixtures: the loopback fake model server, the shared example paper, CLI helpers."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import Paper2CodeScript

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
EXAMPLE_PAPER = REPO_ROOT / "examples" / "tiny_paper.md"
TEST_KEY = "sk-test-papercoder-0123456789abcdefXYZ"


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def no_real_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any lookup of or connection to a host that is not this machine is refused, and fails the test even when the
    client swallows the error: no test reaches a real provider, whatever key or URL leaks in from the environment.
    (A guard on sockets, not a double of the client.) The test gets the list of refused hosts."""
    refused: list[str] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def check(host: object) -> None:
        if str(host) not in _LOOPBACK:
            refused.append(str(host))
            raise OSError(f"a test tried to reach {host}: tests talk only to the loopback fake server")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield refused
    assert not refused, f"a test tried to reach {', '.join(dict.fromkeys(refused))}"


@pytest.fixture
def attention_dir() -> Path:
    """The real paper in ../shared/examples/attention; the test is skipped when shared/ is absent."""
    path = SHARED / "examples" / "attention"
    if not (path / "paper.pdf").is_file():
        pytest.skip("../shared/examples/attention is not present")
    return path


@pytest.fixture
def script() -> Paper2CodeScript:
    return Paper2CodeScript()


@pytest.fixture
def server(script: Paper2CodeScript) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(script) as srv:
        yield srv


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model configuration leaks in from the developer's shell."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERCODER_MODEL", "PAPERCODER_BASE_URL", "PAPERCODER_PROMPTS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def bwrap_ready() -> None:
    """Skip where bubblewrap cannot run, except in CI (``CI`` set), where the sandbox tests must run: fail there."""
    from papercoder.repo.sandbox.bwrap import bwrap_problem

    problem = bwrap_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox tests must run in CI, but {problem} (.ci/run installs bubblewrap)")
        pytest.skip(problem)
