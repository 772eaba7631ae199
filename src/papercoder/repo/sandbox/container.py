"""The ``docker``/``podman`` backend (``--sandbox docker --image IMAGE``): for users who have a container engine,
and for GPUs (``--gpus``). Detected, never required.

The container sees only the repository and the venv/cache folders, mounted at the same absolute paths (so a venv
made inside works in later runs), runs as the calling user, with no capabilities, no new privileges, a PID limit,
``--network none`` unless the policy allows the phase, and the allow-listed environment. On a timeout the
container is killed by name (killing the client would leave it running).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from papercoder.repo.sandbox.base import Backend, Execution, Limits, Network, Phase, allowed_env, run_process

CONTAINER_HOME = "/tmp"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def container_argv(
    engine: str,
    image: str,
    command: str,
    cwd: Path,
    *,
    env: Mapping[str, str],
    network: bool,
    limits: Limits,
    timeout: float,
    writable: Sequence[Path] = (),
    gpus: bool = False,
    name: str = "papercoder",
    user: str | None = None,
) -> list[str]:
    """The ``docker run``/``podman run`` command line; pure, so every flag is testable."""
    argv = [engine, "run", "--rm", "--init", "--name", name, "--network", "bridge" if network else "none"]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    if user is None:
        user = f"{os.getuid()}:{os.getgid()}"
    argv += ["--user", user]
    if limits.processes is not None:
        argv += ["--pids-limit", str(limits.processes)]
    if limits.address_space is not None:  # the container's memory, the closest docker has to an address space
        argv += ["--memory", str(limits.address_space)]
    if limits.file_size is not None:
        argv += ["--ulimit", f"fsize={limits.file_size}"]
    cpu = limits.cpu_seconds(timeout)
    argv += ["--ulimit", f"cpu={cpu}:{cpu}"]
    if gpus:
        argv += ["--gpus", "all"]
    for path in dict.fromkeys([cwd, *writable]):
        argv += ["-v", f"{path}:{path}"]
    argv += ["-w", str(cwd)]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, "bash", "-c", command]


@functools.cache
def container_problem(engine: str) -> str | None:
    """Why ``engine`` (docker or podman) cannot run containers here (None: it can). Checked once."""
    found = shutil.which(engine)
    if found is None:
        return f"{engine} is not installed"
    try:
        done = subprocess.run([found, "info"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{engine} info` does not answer ({exc})"
    if done.returncode != 0:
        return f"`{engine} info` failed: no {engine} daemon answers"
    return None


class Container(Backend):
    """Generated code in a throw-away container of ``image``."""

    def __init__(
        self, engine: str, image: str, *, network: Network = "install", limits: Limits | None = None, gpus: bool = False
    ) -> None:
        super().__init__(network=network, limits=limits, gpus=gpus)
        self.name = engine
        self.image = image
        self.python = "python3"  # the image's, not the host's

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "image": self.image}

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
        # The host's PATH means nothing in the image; a venv (made inside, at the same path) still comes first.
        venv = code_env.get("VIRTUAL_ENV")
        code_env["PATH"] = f"{venv}/bin:{CONTAINER_PATH}" if venv else CONTAINER_PATH
        code_env["HOME"] = CONTAINER_HOME
        for folder in writable:
            folder.mkdir(parents=True, exist_ok=True)
        name = f"papercoder-{uuid.uuid4().hex[:12]}"
        engine = shutil.which(self.name) or self.name
        argv = container_argv(
            engine,
            self.image,
            command,
            cwd.resolve(),
            env=code_env,
            network=self.networked(phase),
            limits=self.limits,
            timeout=timeout,
            writable=[w.resolve() for w in writable],
            gpus=self.gpus,
            name=name,
        )

        def kill() -> None:
            subprocess.run([engine, "kill", name], capture_output=True, timeout=60, check=False)

        # The client needs the caller's engine settings (DOCKER_HOST, ...); the container gets only code_env.
        return run_process(argv, command, cwd, timeout=timeout, env=os.environ, on_timeout=kill)
