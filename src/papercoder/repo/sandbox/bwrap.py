"""The ``bwrap`` backend (bubblewrap, Linux): the default wherever it is installed and user namespaces work.

Inside: the whole filesystem read-only; a private ``/tmp``; ``/run`` (docker's socket, D-Bus, user sessions) and
every home folder (``/root``, ``/home``, ``$HOME``) replaced by empty ones, with only the Python installation that
runs the code bound back read-only; the repository and the venv/cache folders writable; new PID, network, IPC, UTS,
user and cgroup namespaces, so the parent's ``/proc`` is invisible, signals cannot reach outside, and there is no
network (``--share-net`` only in a phase the policy allows); no capabilities; an environment of allow-listed
variables only. ``--die-with-parent`` and the PID namespace end every process when the command ends or is killed.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from papercoder.repo.sandbox.base import Backend, Execution, Phase, allowed_env, run_process, shell

SANDBOX_HOME = Path("/tmp/home")
_PRIVATE = (Path("/tmp"), Path("/run"))  # replaced by empty tmpfs before anything is bound back
_DNS = ("/run/systemd/resolve", "/run/resolvconf")  # where /etc/resolv.conf may point: back in networked phases
_GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri")


def bwrap_argv(
    inner: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str],
    network: bool,
    hide: Sequence[Path] = (),
    readable: Sequence[Path] = (),
    writable: Sequence[Path] = (),
    devices: Sequence[Path] = (),
    bwrap: str = "bwrap",
) -> list[str]:
    """The bubblewrap command line that runs ``inner`` in ``cwd``; pure, so every flag is testable.

    Order matters: bwrap applies mounts in sequence, so the empty ``hide`` folders come first, then the read-only
    ``readable`` paths (the interpreter under a hidden home), then the writable ones (``cwd`` first).
    """
    argv = [bwrap, "--unshare-all", *(["--share-net"] if network else [])]
    argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for private in _PRIVATE:
        argv += ["--tmpfs", str(private)]
    if network:
        for dns in _DNS:
            argv += ["--ro-bind-try", dns, dns]
    for folder in hide:
        argv += ["--tmpfs", str(folder)]
    for device in devices:
        argv += ["--dev-bind", str(device), str(device)]
    for path in readable:
        argv += ["--ro-bind", str(path), str(path)]
    for path in dict.fromkeys([cwd, *writable]):
        argv += ["--bind", str(path), str(path)]
    argv += ["--dir", env.get("HOME", str(SANDBOX_HOME)), "--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    return [*argv, "--chdir", str(cwd), "--", *inner]


def hidden_homes(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The home folders to replace by empty ones: ``/root``, ``/home``, ``$HOME`` and the user's password-file home,
    those that exist, outermost only (a home under ``/tmp`` is hidden with it)."""
    environ = os.environ if environ is None else environ
    candidates = ["/root", "/home", environ.get("HOME", "")]
    with contextlib.suppress(KeyError):  # a uid without a password-file entry (some containers)
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    found = {Path(c).resolve() for c in candidates if c and os.path.isdir(c)}
    found.discard(Path("/"))
    hidden = [*_PRIVATE, *found]
    return sorted(p for p in found if not any(h != p and _under(p, h) for h in hidden))


def interpreter_paths(path: str, hidden: Sequence[Path]) -> list[Path]:
    """The Python installations the code needs that lie under a hidden folder: this interpreter's prefixes and
    those of the ``python``/``python3`` first on ``path``, symlinks followed (a venv links to its base; pyenv keeps
    both under ``~/.pyenv``). Only real installations count (``pyvenv.cfg`` or ``lib/python3*/os.py``): a
    ``~/bin/python`` does not bring the whole home back."""
    prefixes = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    for exe in (sys.executable, shutil.which("python", path=path), shutil.which("python3", path=path)):
        if exe:
            prefixes |= {Path(exe).absolute().parent.parent, Path(exe).resolve().parent.parent}
    needed = {p.resolve() for p in prefixes if _is_python(p) and any(_under(p.resolve(), h) for h in hidden)}
    return sorted(p for p in needed if not any(q != p and _under(p, q) for q in needed))


def reachable_python(path: str, hidden: Sequence[Path]) -> str:
    """``path`` with this interpreter's base ``bin`` first when the ``python`` it finds is a launcher under a hidden
    folder that is not an installation (a pyenv shim in ``~/.pyenv/shims``): inside, ``python`` then still runs."""
    found = shutil.which("python", path=path) or shutil.which("python3", path=path)
    if found is None or not any(_under(Path(found).absolute(), h) for h in hidden):
        return path
    if _is_python(Path(found).resolve().parent.parent):
        return path  # a real installation, bound back read-only by interpreter_paths
    base = Path(sys.base_prefix) / "bin"
    return f"{base}{os.pathsep}{path}" if (base / "python3").exists() else path


def _is_python(prefix: Path) -> bool:
    """Whether ``prefix`` is a Python installation or venv, not a home that happens to hold a ``bin/python``."""
    return (prefix / "pyvenv.cfg").is_file() or any(prefix.glob("lib/python3*/os.py"))


def gpu_devices() -> list[Path]:
    """``/dev/nvidia*`` and ``/dev/dri``, those that exist."""
    return sorted({Path(p) for pattern in _GPU_DEVICES for p in glob.glob(pattern)})


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@functools.cache
def bwrap_problem(binary: str = "bwrap") -> str | None:
    """Why bubblewrap cannot run here (None: it works): not Linux, missing, or user namespaces disabled. Checked
    once."""
    if not sys.platform.startswith("linux"):
        return "bubblewrap needs Linux"
    found = shutil.which(binary)
    if found is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [found, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    probe += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start ({exc})"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot create its namespaces ({why}); unprivileged user namespaces may be disabled"
    return None


class Bwrap(Backend):
    """Generated code under bubblewrap (see the module's docstring for what is isolated)."""

    name = "bwrap"

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
        code_env["HOME"] = str(SANDBOX_HOME)
        code_env["TMPDIR"] = "/tmp"
        hide = hidden_homes()
        code_env["PATH"] = reachable_python(code_env["PATH"], [*_PRIVATE, *hide])
        paths = [cwd.resolve()]
        for folder in writable:
            folder.mkdir(parents=True, exist_ok=True)  # a bind needs its source
            paths.append(folder.resolve())
        argv = bwrap_argv(
            shell(command, self.limits, timeout),
            paths[0],
            env=code_env,
            network=self.networked(phase),
            hide=hide,
            readable=interpreter_paths(code_env["PATH"], [*_PRIVATE, *hide]),
            writable=paths[1:],
            devices=gpu_devices() if self.gpus else (),
            bwrap=shutil.which("bwrap") or "bwrap",
        )
        # bwrap itself gets the same clean environment: nothing secret sits in its /proc/PID/environ either.
        return run_process(argv, command, cwd, timeout=timeout, env=code_env)
