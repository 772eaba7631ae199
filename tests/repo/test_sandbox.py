"""Executing generated code: scrubbed environment, process-group timeouts, output tails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from papercoder.repo.sandbox import execute, is_secret_name, scrubbed_env, tail


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "HF_TOKEN",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "OPENAI_BASE_URL",
        "my_api_key",
        "AZURE_OPENAI_ENDPOINT",
        "PAPERCODER_MODEL",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CUDA_VISIBLE_DEVICES", "TERM"])
def test_plain_names_are_kept(name: str) -> None:
    assert not is_secret_name(name)


def test_scrubbed_env() -> None:
    env = scrubbed_env({"PATH": "/bin", "HOME": "/h", "OPENAI_API_KEY": "sk", "PYTHONPATH": "/x", "X_TOKEN": "t"})
    assert env == {
        "PATH": "/bin",
        "HOME": "/h",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PAPERCODER_SMOKE": "1",
    }
    assert "PAPERCODER_SMOKE" not in scrubbed_env({"PATH": "/bin"}, smoke=False)


def test_execute_success_failure_and_output(tmp_path: Path) -> None:
    done = execute("echo out; echo err >&2; exit 3", tmp_path, timeout=10, env={"PATH": "/usr/bin:/bin"})
    assert done.exit_code == 3 and not done.ok and not done.timed_out
    assert "out" in done.output and "err" in done.output


def test_timeout_kills_the_group_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    done = execute("trap '' TERM; sleep 30 & sleep 30", tmp_path, timeout=0.5, env={"PATH": "/usr/bin:/bin"})
    assert done.timed_out and done.exit_code == 124 and "killed after the 0.5s timeout" in done.output
    assert time.monotonic() - started < 12


def test_tail() -> None:
    text = "".join(f"line {i}\n" for i in range(500))
    assert tail(text, lines=3) == "line 497\nline 498\nline 499"
    assert tail(text, lines=500, chars=20).startswith("…") and len(tail(text, lines=500, chars=20)) == 21
