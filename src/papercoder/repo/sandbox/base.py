"""What every sandbox backend shares: the allow-listed environment, resource limits, running a process with a
timeout that kills its whole tree, and the :class:`Execution` it returns.

The environment generated code sees is built from an allow-list (``PATH``, locale, GPU selection, thread counts),
never by removing what looks secret from ``os.environ``: a credential under a name nobody thought of (the variable
``--api-key-env`` names, a proxy with a password) is simply not on the list.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SMOKE_ENV = "PAPERCODER_SMOKE"
OUTPUT_LIMIT = 2_000_000  # characters of output kept in memory; the tail is what matters
GIB = 1 << 30

Phase = Literal["install", "run"]
Network = Literal["install", "always", "never"]
NETWORKS: tuple[Network, ...] = ("install", "always", "never")

# Variables a program needs to start, print and find its devices; nothing else from the caller's environment passes.
ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "HIP_VISIBLE_DEVICES",
        "ROCR_VISIBLE_DEVICES",
        "CUDA_HOME",
        "CUDA_PATH",
        "LD_LIBRARY_PATH",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
    }
)
ALLOWED_PREFIXES = ("LC_",)
# pip needs the proxy to reach the index; the proxy URL may carry a password, so only the install phase gets it.
INSTALL_NAMES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"})


def allowed_env(base: Mapping[str, str] | None = None, *, phase: Phase = "run", smoke: bool = True) -> dict[str, str]:
    """The environment for generated code: the allow-listed variables of ``base`` (default ``os.environ``).

    ``PYTHONUNBUFFERED`` is set so the output's tail is complete on a timeout; with ``smoke``,
    ``PAPERCODER_SMOKE=1`` asks the code for its minutes-long check mode. ``HOME`` and ``TMPDIR`` are the backend's.
    """
    source = os.environ if base is None else base
    names = ALLOWED_NAMES | INSTALL_NAMES if phase == "install" else ALLOWED_NAMES
    env = {k: v for k, v in source.items() if k in names or k.startswith(ALLOWED_PREFIXES)}
    env.setdefault("PATH", os.defpath)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if smoke:
        env[SMOKE_ENV] = "1"
    return env


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits inside the sandbox (None: not limited).

    Attributes:
        address_space: Bytes of virtual memory (``ulimit -v``); off with GPUs, whose drivers map far more than
            they use.
        processes: Processes and threads (``ulimit -u``): a fork bomb stops here.
        file_size: Bytes one written file may reach (``ulimit -f``).
    CPU seconds are tied to the timeout: every core busy for the whole of it, plus a minute.
    """

    address_space: int | None = 16 * GIB
    processes: int | None = 4096
    file_size: int | None = 16 * GIB

    def cpu_seconds(self, timeout: float) -> int:
        return int(timeout * (os.cpu_count() or 1)) + 60

    def ulimit(self, timeout: float) -> str:
        """A ``ulimit`` line setting these as hard limits (so the code cannot raise them), clipped to ours."""
        wanted = [
            ("-v", resource.RLIMIT_AS, self.address_space, 1024),
            ("-u", resource.RLIMIT_NPROC, self.processes, 1),
            ("-f", resource.RLIMIT_FSIZE, self.file_size, 1024),
            ("-t", resource.RLIMIT_CPU, self.cpu_seconds(timeout), 1),
        ]
        parts = []
        for flag, which, value, unit in wanted:
            if value is None:
                continue
            hard = resource.getrlimit(which)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            parts.append(f"{flag} {max(1, value // unit)}")
        return f"ulimit -HS {' '.join(parts)}" if parts else "true"


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


def shell(command: str, limits: Limits | None, timeout: float) -> list[str]:
    """``bash -c COMMAND`` after the limits are set; the command travels as an argument, never re-quoted."""
    if limits is None:
        return ["bash", "-c", command]
    return ["bash", "-c", f'{limits.ulimit(timeout)} || exit 125; exec bash -c "$1"', "bash", command]


class Backend(ABC):
    """One way of running generated code. ``execute`` runs a shell command in ``cwd`` (writable, with the paths in
    ``writable``), with network only when the policy allows it in this phase, killed with everything it started
    after ``timeout`` seconds."""

    name: str = ""

    def __init__(self, *, network: Network = "install", limits: Limits | None = None, gpus: bool = False) -> None:
        self.python = sys.executable  # the interpreter that creates virtual environments inside this backend
        self.network = network
        self.gpus = gpus
        self.limits = Limits() if limits is None else limits
        if gpus:  # CUDA maps far more address space than it uses
            self.limits = Limits(None, self.limits.processes, self.limits.file_size)

    def networked(self, phase: Phase) -> bool:
        return self.network == "always" or (self.network == "install" and phase == "install")

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "network": self.network, "gpus": self.gpus}

    @property
    def warning(self) -> str | None:
        """A line to show before running anything, when the backend isolates less than it should."""
        return None

    @abstractmethod
    def execute(
        self,
        command: str,
        cwd: Path,
        *,
        timeout: float,
        phase: Phase = "run",
        env: Mapping[str, str] | None = None,
        writable: Sequence[Path] = (),
    ) -> Execution:
        """Run ``command`` with ``bash -c`` in ``cwd``.

        Args:
            command: A shell command line.
            cwd: The folder it runs in (the repository); writable.
            timeout: Seconds before everything it started is killed; the result then has ``timed_out`` and exit
                code 124.
            phase: ``install`` (creating the venv, installing requirements) or ``run`` (the code itself).
            env: Its whole environment; default :func:`allowed_env` for the phase.
            writable: Other folders it may write (the venv, the cache).
        """


class Local(Backend):
    """``--sandbox none``: a plain subprocess with the user's permissions. Only the environment (allow-listed) and
    the process group (killed on timeout and at the end) are controlled."""

    name = "none"

    @property
    def warning(self) -> str | None:
        return "debug: --sandbox none runs the generated code unisolated, with your permissions, files and network"

    def execute(
        self,
        command: str,
        cwd: Path,
        *,
        timeout: float,
        phase: Phase = "run",
        env: Mapping[str, str] | None = None,
        writable: Sequence[Path] = (),
    ) -> Execution:
        code_env = dict(allowed_env(phase=phase) if env is None else env)
        code_env.setdefault("HOME", os.path.expanduser("~"))
        return run_process(shell(command, self.limits, timeout), command, cwd, timeout=timeout, env=code_env)


def run_process(
    argv: Sequence[str],
    command: str,
    cwd: Path,
    *,
    timeout: float,
    env: Mapping[str, str],
    on_timeout: Callable[[], None] | None = None,
) -> Execution:
    """Run ``argv`` in its own process group; kill the group after ``timeout`` seconds (first ``on_timeout``, for
    what the group does not hold, like a container) and once the command is done, so no background job lingers."""
    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
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
        if on_timeout is not None:
            on_timeout()
        _kill_group(proc)
    except BaseException:
        _kill_group(proc)
        raise
    _signal_group(proc.pid, signal.SIGKILL)  # background jobs still in the group end with the command
    # A grandchild that left the group may hold the pipe open: read what came, do not wait for it forever.
    reader.join(timeout=5.0)
    output = b"".join(chunks).decode("utf-8", errors="replace")[-OUTPUT_LIMIT:]
    seconds = round(time.monotonic() - started, 3)
    if timed_out:
        output += f"\n[papercoder] killed after the {timeout:g}s timeout\n"
    code = 124 if timed_out else proc.returncode
    return Execution(command, code, output, seconds, timed_out)


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal a process group; False when it is gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        if not _signal_group(proc.pid, sig):
            return
        try:
            proc.wait(timeout=wait)
            # The leader is gone; its children may not be: one SIGKILL for the group, ignored if empty.
            _signal_group(proc.pid, signal.SIGKILL)
        except subprocess.TimeoutExpired:
            continue
        return


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
