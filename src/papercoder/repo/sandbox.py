"""Run a command in a generated repository: a subprocess with a timeout, a scrubbed environment, an optional venv.

This is the only place papercoder executes generated code, and only ``papercoder debug`` (or ``run --debug``)
calls it. The command runs in its own process group, so a timeout kills everything it started, not just the shell.
The environment keeps what a program needs to run (``PATH``, ``HOME``, locale, temp dirs, proxies' absence) and
drops every variable that could carry a credential: any name mentioning a key, token, secret or password, and the
variables of known model providers and clouds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from papercoder.errors import StageError

SMOKE_ENV = "PAPERCODER_SMOKE"
OUTPUT_LIMIT = 2_000_000  # characters of output kept in memory; the tail is what matters
_SECRET_NAME = re.compile(
    r"API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|AUTH|SESSION|COOKIE|"
    r"^OPENAI_|^ANTHROPIC_|^AZURE_|^AWS_|^GOOGLE_|^GEMINI_|^GCP_|^GCLOUD_|^HF_|^HUGGING_?FACE|^MISTRAL_|^COHERE_|"
    r"^GROQ_|^DEEPSEEK_|^OPENROUTER_|^TOGETHER_|^FIREWORKS_|^REPLICATE_|^XAI_|^PERPLEXITY_|^VOYAGE_|^WANDB_|"
    r"^GITHUB_|^GH_|^GITLAB_|^NPM_|^PYPI_|^TWINE_|^DOCKER_|^KAGGLE_|^PAPERCODER_",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name may hold a credential (or papercoder's own settings)."""
    return bool(_SECRET_NAME.search(name))


def scrubbed_env(base: Mapping[str, str] | None = None, *, smoke: bool = True) -> dict[str, str]:
    """The environment for generated code: ``base`` (default ``os.environ``) without credentials.

    Python's own variables that would change which interpreter or packages run (``PYTHONPATH``, ``PYTHONHOME``,
    ``VIRTUAL_ENV``) are dropped too; ``PYTHONUNBUFFERED`` is set so the output's tail is complete on a timeout.
    With ``smoke``, ``PAPERCODER_SMOKE=1`` asks the code for its minutes-long check mode.
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not is_secret_name(k) and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env.setdefault("PATH", os.defpath)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if smoke:
        env[SMOKE_ENV] = "1"
    return env


@dataclass(frozen=True)
class Execution:
    """What one command did: its exit code (-N for a signal), output (stdout and stderr interleaved), time."""

    command: str
    exit_code: int
    output: str
    seconds: float
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def tail(text: str, lines: int = 80, chars: int = 6000) -> str:
    """The last ``lines`` lines of ``text``, at most ``chars`` characters (the end of an error is its cause)."""
    kept = "\n".join(text.rstrip("\n").split("\n")[-lines:])
    return kept if len(kept) <= chars else "…" + kept[-chars:]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            # The leader is gone; its children may not be: one SIGKILL for the group, ignored if empty.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def execute(command: str, cwd: Path, *, timeout: float, env: Mapping[str, str] | None = None) -> Execution:
    """Run ``command`` with ``bash -c`` in ``cwd``; kill its whole process group after ``timeout`` seconds.

    Args:
        command: A shell command line.
        cwd: The folder it runs in (the repository).
        timeout: Seconds before the process group is killed; the result then has ``timed_out`` and exit code 124.
        env: The environment; default :func:`scrubbed_env`.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=dict(scrubbed_env() if env is None else env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killpg reaches every child
    )
    chunks: deque[bytes] = deque()
    reader = threading.Thread(target=_drain, args=(proc, chunks), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
    except BaseException:
        _kill_group(proc)
        raise
    # A grandchild that left the group may hold the pipe open: read what came, do not wait for it forever.
    reader.join(timeout=5.0)
    output = b"".join(chunks).decode("utf-8", errors="replace")[-OUTPUT_LIMIT:]
    seconds = round(time.monotonic() - started, 3)
    if timed_out:
        output += f"\n[papercoder] killed after the {timeout:g}s timeout\n"
    code = 124 if timed_out else proc.returncode
    return Execution(command, code, output, seconds, timed_out)


def _drain(proc: subprocess.Popen[bytes], chunks: deque[bytes]) -> None:
    """Read the output until it closes, keeping about the last ``OUTPUT_LIMIT`` bytes."""
    if proc.stdout is None:
        return
    fd = proc.stdout.fileno()
    kept = 0
    for block in iter(lambda: os.read(fd, 65536), b""):
        chunks.append(block)
        kept += len(block)
        while kept > OUTPUT_LIMIT and len(chunks) > 1:
            kept -= len(chunks.popleft())


def venv_env(venv: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the virtual environment ``venv`` activated (its ``bin`` first on ``PATH``)."""
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    return {**env, "VIRTUAL_ENV": str(venv), "PATH": f"{bindir}{os.pathsep}{env.get('PATH', os.defpath)}"}


def prepare_venv(venv: Path, repo: Path, env: Mapping[str, str], *, timeout: float) -> Execution | None:
    """Create ``venv`` (once) and install ``repo/requirements.txt`` into it; the install's execution, or None.

    Raises:
        StageError: the virtual environment cannot be created.
    """
    if not (venv / "bin" / "python").exists():
        made = execute(f"{_quote(sys.executable)} -m venv {_quote(str(venv))}", repo, timeout=timeout, env=env)
        if not made.ok:
            raise StageError(f"could not create the virtual environment {venv}: {tail(made.output, 3, 300)}")
    if not (repo / "requirements.txt").is_file() or not (repo / "requirements.txt").read_text().strip():
        return None
    install = "python -m pip install --disable-pip-version-check -q -r requirements.txt"
    return execute(install, repo, timeout=timeout, env=venv_env(venv, env))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
