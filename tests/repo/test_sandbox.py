"""The sandbox package: the allow-listed environment, the backends' command lines, detection and its one-line
errors, and real execution (output, exit codes, timeouts) under ``none`` and ``bwrap``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.repo.sandbox import SandboxSpec, allowed_env, choose_backend, prepare_venv, tail
from papercoder.repo.sandbox.base import Limits, Local
from papercoder.repo.sandbox.bwrap import bwrap_argv, bwrap_problem, interpreter_paths, reachable_python
from papercoder.repo.sandbox.container import Container, container_argv, container_problem


@pytest.fixture
def fresh_detection() -> Iterator[None]:
    """Detection is cached per process; these tests change PATH, so they start and end with an empty cache."""
    bwrap_problem.cache_clear()
    container_problem.cache_clear()
    yield
    bwrap_problem.cache_clear()
    container_problem.cache_clear()


def test_the_environment_is_an_allow_list() -> None:
    base = {
        "PATH": "/bin",
        "HOME": "/h",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "CUDA_VISIBLE_DEVICES": "0",
        "OPENAI_API_KEY": "sk",
        "LLM_ACCESS": "a key under a name no deny-list knows",
        "NVIDIA_API_KEY": "nv",
        "PYTHONPATH": "/x",
        "LD_PRELOAD": "/evil.so",
        "HTTPS_PROXY": "http://user:pw@proxy:3128",
    }
    env = allowed_env(base)
    assert env == {
        "PATH": "/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "CUDA_VISIBLE_DEVICES": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PAPERCODER_SMOKE": "1",
    }
    # pip needs the proxy, so the install phase gets it; the code never does.
    assert allowed_env(base, phase="install")["HTTPS_PROXY"] == "http://user:pw@proxy:3128"
    assert "PAPERCODER_SMOKE" not in allowed_env({"PATH": "/bin"}, smoke=False)


def test_ulimit_line_sets_hard_limits() -> None:
    line = Limits(address_space=2 << 30, processes=100, file_size=1 << 20).ulimit(timeout=10)
    assert line.startswith("ulimit -HS -v 2097152 -u 100 -f 1024 -t ")
    assert Limits(None, None, None).ulimit(10).startswith("ulimit -HS -t ")


def test_bwrap_argv_flags() -> None:
    repo, venv = Path("/r/repo"), Path("/r/venv")
    argv = bwrap_argv(
        ["bash", "-c", "python main.py"],
        repo,
        env={"PATH": "/usr/bin", "HOME": "/tmp/home"},
        network=False,
        hide=[Path("/root"), Path("/home")],
        readable=[Path("/root/.pyenv/versions/3.11.7")],
        writable=[venv],
        devices=[Path("/dev/nvidia0")],
        bwrap="/usr/bin/bwrap",
    )
    text = " ".join(argv)
    assert argv[:2] == ["/usr/bin/bwrap", "--unshare-all"] and "--share-net" not in argv
    for flag in ("--die-with-parent", "--new-session", "--cap-drop ALL", "--ro-bind / /", "--dev /dev"):
        assert flag in text
    assert "--proc /proc --tmpfs /tmp --tmpfs /run --tmpfs /root --tmpfs /home --dev-bind /dev/nvidia0" in text
    # Order matters: homes hidden, then the interpreter back read-only, then the writable folders.
    assert text.index("--tmpfs /root") < text.index("--ro-bind /root/.pyenv") < text.index("--bind /r/repo /r/repo")
    assert text.index("--bind /r/repo /r/repo") < text.index("--bind /r/venv /r/venv") < text.index("--clearenv")
    assert "--clearenv --setenv PATH /usr/bin --setenv HOME /tmp/home --chdir /r/repo -- bash -c python main.py" in text
    assert "--dir /tmp/home" in text and "resolve" not in text
    online = bwrap_argv(["true"], repo, env={}, network=True)
    assert online[:3] == ["bwrap", "--unshare-all", "--share-net"]
    assert "--ro-bind-try /run/systemd/resolve /run/systemd/resolve" in " ".join(online)  # DNS, with the network


def test_container_argv_flags() -> None:
    limits = Limits(address_space=8 << 30, processes=512, file_size=1 << 30)
    argv = container_argv(
        "/usr/bin/docker",
        "python:3.11",
        "python main.py",
        Path("/r/repo"),
        env={"PATH": "/usr/bin", "PAPERCODER_SMOKE": "1"},
        network=False,
        limits=limits,
        timeout=100,
        writable=[Path("/r/venv")],
        name="papercoder-x",
        user="1000:1000",
    )
    text = " ".join(argv)
    assert text.startswith("/usr/bin/docker run --rm --init --name papercoder-x --network none --cap-drop ALL")
    assert "--security-opt no-new-privileges --user 1000:1000 --pids-limit 512 --memory 8589934592" in text
    assert "--ulimit fsize=1073741824" in text and "--ulimit cpu=" in text and "--gpus" not in text
    assert "-v /r/repo:/r/repo -v /r/venv:/r/venv -w /r/repo -e PATH=/usr/bin -e PAPERCODER_SMOKE=1" in text
    assert argv[-4:] == ["python:3.11", "bash", "-c", "python main.py"]
    gpu = container_argv("podman", "img", "true", Path("/r"), env={}, network=True, limits=limits, timeout=1, gpus=True)
    assert "--network bridge" in " ".join(gpu) and "--gpus all" in " ".join(gpu)


def test_interpreter_paths_bring_back_only_installations(tmp_path: Path) -> None:
    base = Path(sys.base_prefix).resolve()
    assert base in interpreter_paths(os.defpath, [base.parent])
    assert interpreter_paths(os.defpath, [tmp_path]) == []  # nothing of ours is under it
    # A home with a bin/python that is no installation (a pyenv shim, a script) is not bound back.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "python").chmod(0o755)
    assert tmp_path not in interpreter_paths(str(tmp_path / "bin"), [tmp_path])


@pytest.mark.usefixtures("fresh_detection")
def test_choose_backend_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="--sandbox jail: use auto, bwrap, docker, podman, none"):
        choose_backend("jail")
    with pytest.raises(InputError, match="--network sometimes: use install"):
        choose_backend(SandboxSpec(kind="none", network="sometimes"))
    with pytest.raises(InputError, match="--sandbox docker needs --image IMAGE"):
        choose_backend("docker")
    # Nothing installed: auto refuses with one line naming the fixes.
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError) as info:
        choose_backend(SandboxSpec(image="python:3.11"))
    message = str(info.value)
    assert "\n" not in message and message.startswith("no sandbox to run generated code: bubblewrap (bwrap) is not")
    assert "install bubblewrap" in message and "--sandbox docker --image IMAGE" in message
    assert "--sandbox none" in message
    with pytest.raises(InputError, match="--sandbox podman: podman is not installed"):
        choose_backend(SandboxSpec(kind="podman", image="python:3.11"))


@pytest.mark.usefixtures("fresh_detection")
def test_a_bwrap_that_cannot_make_namespaces_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A test double for bwrap on a kernel with user namespaces off: it fails the way bwrap does there.
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError) as info:
        choose_backend("auto")
    assert "uid map: Permission denied" in str(info.value) and "enable unprivileged user namespaces" in str(info.value)


def test_none_is_explicit_and_warns() -> None:
    backend = choose_backend("none")
    assert isinstance(backend, Local) and backend.warning is not None and "unisolated" in backend.warning
    assert backend.describe() == {"backend": "none", "network": "install", "gpus": False}
    assert choose_backend(SandboxSpec(kind="none", gpus=True)).limits.address_space is None  # CUDA maps a lot


@pytest.fixture(params=["none", "bwrap"])
def backend_name(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if name == "bwrap":
        request.getfixturevalue("bwrap_ready")
    return name


def test_execute_success_failure_and_output(tmp_path: Path, backend_name: str) -> None:
    done = choose_backend(backend_name).execute("echo out; echo err >&2; exit 3", tmp_path, timeout=10)
    assert done.exit_code == 3 and not done.ok and not done.timed_out
    assert "out" in done.output and "err" in done.output


def test_timeout_kills_the_group_quickly(tmp_path: Path, backend_name: str) -> None:
    started = time.monotonic()
    done = choose_backend(backend_name).execute("trap '' TERM; sleep 30 & sleep 30", tmp_path, timeout=0.5)
    assert done.timed_out and done.exit_code == 124 and "killed after the 0.5s timeout" in done.output
    assert time.monotonic() - started < 12


@pytest.mark.usefixtures("bwrap_ready")
def test_prepare_venv_runs_in_the_install_phase(tmp_path: Path) -> None:
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    repo.mkdir()
    (repo / "requirements.txt").write_text("")
    backend = choose_backend("bwrap")
    assert prepare_venv(backend, venv, repo, allowed_env(phase="install"), timeout=120) is None  # nothing to install
    assert (venv / "bin" / "python").exists() and (venv / "pyvenv.cfg").is_file()


def test_container_runs_when_a_daemon_answers(tmp_path: Path) -> None:
    image = os.environ.get("PAPERCODER_TEST_IMAGE")
    if container_problem("docker") is not None or not image:
        pytest.skip("no docker daemon, or PAPERCODER_TEST_IMAGE unset (docker is optional)")
    backend = choose_backend(SandboxSpec(kind="docker", image=image))
    assert isinstance(backend, Container)
    done = backend.execute('echo hi > f.txt; cat f.txt; test -z "$OPENAI_API_KEY"', tmp_path, timeout=120)
    assert done.ok and "hi" in done.output and (tmp_path / "f.txt").read_text() == "hi\n"


def test_tail() -> None:
    text = "".join(f"line {i}\n" for i in range(500))
    assert tail(text, lines=3) == "line 497\nline 498\nline 499"
    assert tail(text, lines=500, chars=20).startswith("…") and len(tail(text, lines=500, chars=20)) == 21


def test_a_launcher_under_a_hidden_home_gives_way_to_this_interpreter(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shims = home / ".pyenv" / "shims"
    shims.mkdir(parents=True)
    launcher = shims / "python"
    launcher.write_text('#!/bin/sh\nexec pyenv exec python "$@"\n')
    launcher.chmod(0o755)
    path = f"{shims}:/usr/bin:/bin"
    assert reachable_python(path, [home]) == f"{Path(sys.base_prefix) / 'bin'}:{path}"
    assert reachable_python(path, [tmp_path / "elsewhere"]) == path  # not hidden: the launcher works inside


@pytest.mark.usefixtures("bwrap_ready")
def test_python_runs_inside_when_path_starts_with_a_hidden_launcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shims = Path("/root/.pyenv/shims") if Path("/root/.pyenv/shims/python").exists() else None
    if shims is None:  # make one: a launcher in a hidden home that only works outside
        home = tmp_path / "home"
        shims = home / "shims"
        shims.mkdir(parents=True)
        (shims / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        (shims / "python").chmod(0o755)
        monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "main.py").write_text("print('ran', 6 * 7)\n")
    done = choose_backend("bwrap").execute("python main.py", repo, timeout=60)
    assert done.ok, done.output
    assert "ran 42" in done.output
