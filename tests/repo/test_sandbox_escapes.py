"""The bwrap sandbox against a hostile program (``sandbox_probe.py``): every escape fails, the repository's own code
still runs. Real bubblewrap, real processes, a real loopback listener; in CI these never skip (see ``bwrap_ready``).
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from papercoder.repo.sandbox import Backend, Execution, SandboxSpec, choose_backend
from papercoder.repo.sandbox.base import Limits, Phase
from papercoder.repo.sandbox.bwrap import Bwrap

PROBE = Path(__file__).with_name("sandbox_probe.py")
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- probe-secret-7f3a9c"

pytestmark = pytest.mark.usefixtures("bwrap_ready")


@dataclass(frozen=True)
class Layout:
    run: Path
    repo: Path
    venv: Path
    home: Path


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    """A run directory with a repository holding the probe, a module and a config; ``$HOME`` with an SSH key."""
    run = tmp_path / "run"
    repo = run / "repo"
    repo.mkdir(parents=True)
    (repo / "probe.py").write_text(PROBE.read_text())
    (repo / "helper.py").write_text("VALUE = 42\n")
    (repo / "config.yaml").write_text("lr: 0.125\n")
    (run / "manifest.json").write_text("{}\n")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_KEY)
    monkeypatch.setenv("HOME", str(home))
    # `python` is the interpreter running the tests, as in an activated venv (it links under the hidden /root).
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    return Layout(run, repo, run / "venv", home)


@pytest.fixture
def sandbox() -> Backend:
    backend = choose_backend("auto")
    assert isinstance(backend, Bwrap), "auto must pick bwrap where it works"
    return backend


def probe(backend: Backend, where: Layout, escape: str, *args: str, phase: Phase = "run") -> Execution:
    command = f"{shlex.quote(sys.executable)} probe.py {escape} {' '.join(shlex.quote(a) for a in args)}"
    done = backend.execute(command, where.repo, timeout=60, phase=phase, writable=[where.venv])
    assert done.ok, done.output
    return done


def test_home_files_are_hidden(sandbox: Backend, layout: Layout) -> None:
    targets = [str(layout.home / ".ssh" / "id_rsa")]
    root_files = sorted(p for p in Path("/root").glob(".*") if p.is_file()) if Path("/root").is_dir() else []
    readable = [p for p in root_files if _readable(p)]
    targets += [str(p) for p in readable[:3]]
    output = probe(sandbox, layout, "read", *targets).output
    assert SSH_KEY not in output and "ESCAPED" not in output
    assert all(f"BLOCKED read {t}" in output for t in targets), output
    # The same program unsandboxed does read them: the probe can fail.
    assert SSH_KEY in subprocess.run([sys.executable, PROBE, "read", targets[0]], capture_output=True, text=True).stdout


def test_parent_environment_and_credentials_are_out_of_reach(
    sandbox: Backend, layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name a deny-list would catch, and one it would not (the kind --api-key-env may name).
    secrets = {"SERVICE_TOKEN": "tok-5e1c0ffee", "LLM_ACCESS": "sk-llm-access-91b2"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    # /proc/PID/environ shows a process's initial environment: a stand-in for papercoder started with the keys.
    parent = subprocess.Popen(["sleep", "60"], env={**os.environ})
    try:
        output = probe(sandbox, layout, "environ", str(parent.pid), str(os.getpid())).output
    finally:
        parent.kill()
        parent.wait()
    assert [v for v in secrets.values() if v in output] == []
    assert "OWN ENV " in output and "PAPERCODER_SMOKE=1" in output
    assert f"BLOCKED environ /proc/{parent.pid}/environ" in output
    assert f"BLOCKED environ /proc/{os.getpid()}/environ" in output


def test_no_connection_to_a_loopback_listener(sandbox: Backend, layout: Layout) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = str(listener.getsockname()[1])
        output = probe(sandbox, layout, "connect", port).output
        assert f"BLOCKED connect 127.0.0.1:{port}" in output and "ESCAPED" not in output
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing came in
        # The install phase has the network (the default policy), so pip can reach its index.
        assert f"ESCAPED connect 127.0.0.1:{port}" in probe(sandbox, layout, "connect", port, phase="install").output
        listener.accept()[0].close()
        never = choose_backend(SandboxSpec(network="never"))
        assert "BLOCKED connect" in probe(never, layout, "connect", port, phase="install").output


def test_writes_outside_the_repository_do_not_land(sandbox: Backend, layout: Layout, tmp_path: Path) -> None:
    system = Path(f"/var/tmp/papercoder-probe-{uuid.uuid4().hex}")
    outside = [tmp_path / "outside" / "x.txt", layout.run / "manifest.json", layout.run / "new.txt", system]
    outside.append(layout.home / ".bashrc")
    try:
        output = probe(sandbox, layout, "write", *map(str, outside), str(layout.venv / "ok.txt")).output
        assert f"BLOCKED write {system}: [Errno 30] Read-only file system" in output
        assert [p for p in outside if p.exists() and p.read_text() == "escaped\n"] == []
        assert (layout.run / "manifest.json").read_text() == "{}\n"
        assert (layout.venv / "ok.txt").read_text() == "escaped\n"  # the venv is writable, as it must be
    finally:
        system.unlink(missing_ok=True)


def test_a_daemon_does_not_outlive_the_command(sandbox: Backend, layout: Layout) -> None:
    marker = f"pcprobe{uuid.uuid4().hex[:10]}"
    assert f"STARTED daemon {marker}" in probe(sandbox, layout, "daemon", marker).output
    survivors = _processes_named(marker)
    for pid in survivors:
        subprocess.run(["kill", "-9", str(pid)], check=False)
    assert survivors == [], "the daemon outlived the command"


def test_processes_outside_cannot_be_signalled(sandbox: Backend, layout: Layout) -> None:
    victim = subprocess.Popen(["sleep", "60"])  # stands in for papercoder: same user, outside the sandbox
    try:
        output = probe(sandbox, layout, "kill", str(victim.pid), f"0:{os.getpid()}").output
        assert f"BLOCKED kill -15 {victim.pid}" in output and f"BLOCKED kill -0 {os.getpid()}" in output
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_the_repository_code_still_runs(sandbox: Backend, layout: Layout) -> None:
    code = "import helper, pathlib; print('value', helper.VALUE); print(open('config.yaml').read().strip()); "
    code += "pathlib.Path('out.txt').write_text('done')"
    done = sandbox.execute(f"python -c {shlex.quote(code)}", layout.repo, timeout=60, writable=[layout.venv])
    assert done.ok, done.output
    assert "value 42" in done.output and "lr: 0.125" in done.output
    assert (layout.repo / "out.txt").read_text() == "done"


def test_timeout_kills_everything_it_started(sandbox: Backend, layout: Layout) -> None:
    marker = f"pcprobe{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    command = f"trap '' TERM; setsid bash -c 'exec -a {marker} sleep 300' & sleep 30 & sleep 30"
    done = sandbox.execute(command, layout.repo, timeout=1)
    assert done.timed_out and done.exit_code == 124 and time.monotonic() - started < 12
    assert _processes_named(marker) == []


def test_resource_limits_are_hard(layout: Layout) -> None:
    small = Bwrap(limits=Limits(address_space=2 << 30, processes=256, file_size=1 << 20))
    done = small.execute("ulimit -Hv; ulimit -Hu; ulimit -Hf; ulimit -v unlimited", layout.repo, timeout=30)
    assert done.output.split()[:3] == [str(2 << 20), "256", "1024"], done.output
    assert done.exit_code != 0 and "ulimit" in done.output  # raising a hard limit is refused
    big = small.execute("head -c 2000000 /dev/zero > big.bin", layout.repo, timeout=30)
    assert not big.ok and (layout.repo / "big.bin").stat().st_size == 1 << 20


def _readable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


def _processes_named(marker: str) -> list[int]:
    """Host processes whose command line holds ``marker``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found
