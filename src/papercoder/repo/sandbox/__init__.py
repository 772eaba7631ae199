"""Everything that executes generated code goes through here: one interface, three backends.

- ``bwrap`` (bubblewrap; the default on Linux where it works): read-only system, empty homes, private ``/tmp``, the
  repository and venv writable, new PID/network/user namespaces, no capabilities (:mod:`.bwrap`).
- ``docker``/``podman`` with ``--image`` (and ``--gpus``): a throw-away container (:mod:`.container`).
- ``none``, only when asked for: a plain subprocess, with a warning (:class:`.base.Local`).

Every backend gives the code an allow-listed environment (no credential of any name), resource limits, and kills
everything it started on a timeout. Installing requirements (phase ``install``) may use the network; running the
code (phase ``run``) may not, unless ``--network always``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from papercoder.errors import InputError, StageError
from papercoder.repo.sandbox.base import (
    GIB,
    NETWORKS,
    SMOKE_ENV,
    Backend,
    Execution,
    Limits,
    Local,
    Network,
    Phase,
    allowed_env,
    tail,
)
from papercoder.repo.sandbox.bwrap import Bwrap, bwrap_problem
from papercoder.repo.sandbox.container import Container, container_problem

__all__ = [
    "KINDS",
    "SMOKE_ENV",
    "Backend",
    "Execution",
    "Phase",
    "SandboxSpec",
    "allowed_env",
    "choose_backend",
    "prepare_venv",
    "tail",
    "venv_env",
]

KINDS = ("auto", "bwrap", "docker", "podman", "none")
OTHER_FIXES = "or use --sandbox docker --image IMAGE, or --sandbox none to run the code unisolated"


@dataclass(frozen=True)
class SandboxSpec:
    """What the user asked for: ``--sandbox``, ``--image``, ``--gpus``, ``--network`` and the memory limit (GiB of
    address space per process; None for none, and ignored with GPUs)."""

    kind: str = "auto"
    image: str | None = None
    gpus: bool = False
    network: str = "install"
    memory_gb: float | None = 16.0


def _network(value: str) -> Network:
    for known in NETWORKS:
        if value == known:
            return known
    raise InputError(f"--network {value}: use install (only while installing requirements), always or never")


def choose_backend(spec: SandboxSpec | str = "auto") -> Backend:
    """The backend for ``spec``, checked to work here.

    ``auto`` is bwrap where it works, else docker/podman when an ``image`` is given and an engine answers.

    Raises:
        InputError: an unknown kind or network policy, a container without an image, or no working backend (the
            line names the fixes).
    """
    spec = SandboxSpec(kind=spec) if isinstance(spec, str) else spec
    if spec.kind not in KINDS:
        raise InputError(f"--sandbox {spec.kind}: use {', '.join(KINDS)}")
    network = _network(spec.network)
    limits = Limits(address_space=int(spec.memory_gb * GIB) if spec.memory_gb else None)
    if spec.kind == "none":
        return Local(network=network, limits=limits, gpus=spec.gpus)
    if spec.kind in ("docker", "podman"):
        if not spec.image:
            raise InputError(f"--sandbox {spec.kind} needs --image IMAGE, one with bash and python3 (e.g. python:3.11)")
        problem = container_problem(spec.kind)
        if problem is not None:
            raise InputError(f"--sandbox {spec.kind}: {problem}; start it, or use --sandbox bwrap on Linux")
        return Container(spec.kind, spec.image, network=network, limits=limits, gpus=spec.gpus)
    problem = bwrap_problem()
    if problem is None:
        return Bwrap(network=network, limits=limits, gpus=spec.gpus)
    if spec.kind == "auto" and spec.image:
        for engine in ("docker", "podman"):
            if container_problem(engine) is None:
                return Container(engine, spec.image, network=network, limits=limits, gpus=spec.gpus)
    first = "install bubblewrap (e.g. apt-get install bubblewrap)"
    if "namespaces" in problem:
        first = "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    fix = f"{first}, {OTHER_FIXES}"
    raise InputError(f"no sandbox to run generated code: {problem}; {fix}")


def venv_env(venv: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the virtual environment ``venv`` activated (its ``bin`` first on ``PATH``)."""
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    return {**env, "VIRTUAL_ENV": str(venv), "PATH": f"{bindir}{os.pathsep}{env.get('PATH', os.defpath)}"}


def prepare_venv(
    backend: Backend,
    venv: Path,
    repo: Path,
    env: Mapping[str, str],
    *,
    timeout: float,
    writable: Sequence[Path] = (),
) -> Execution | None:
    """Create ``venv`` (once) and install ``repo/requirements.txt`` into it, both in the ``install`` phase; the
    install's execution, or None when there is nothing to install.

    Raises:
        StageError: the virtual environment cannot be created.
    """
    phase: Phase = "install"
    where = [venv, *writable]
    if not os.path.lexists(venv / "bin" / "python"):  # a container's venv links to the image's python
        create = f"{_quote(backend.python)} -m venv {_quote(str(venv))}"
        made = backend.execute(create, repo, timeout=timeout, phase=phase, env=env, writable=where)
        if not made.ok:
            raise StageError(f"could not create the virtual environment {venv}: {tail(made.output, 3, 300)}")
    if not (repo / "requirements.txt").is_file() or not (repo / "requirements.txt").read_text().strip():
        return None
    install = "python -m pip install --disable-pip-version-check -q -r requirements.txt"
    return backend.execute(install, repo, timeout=timeout, phase=phase, env=venv_env(venv, env), writable=where)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
