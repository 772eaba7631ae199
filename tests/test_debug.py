"""The debug loop end to end: a scripted model over real HTTP writes a buggy repository, then fixes it run by run."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.report.load import load_run
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import (
    BUGGY_CODE,
    BUGGY_CONFIG,
    FIX_CONFIG,
    FIX_IMPORT,
    FIX_NAME,
    FIXED_CODE,
    FIXED_CONFIG,
    NO_EDITS,
    Paper2CodeScript,
    buggy_script,
)

runner = CliRunner()
PYTHON = f"{sys.executable} main.py"
# The python running the tests first on PATH, so `python main.py` (the default command) finds one.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def make_run(server: FakeOpenAIServer, out: Path, *extra: str) -> tuple[int, str]:
    args = ["run", str(EXAMPLE_PAPER), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url]
    result = runner.invoke(app, [*args, *extra], env={"OPENAI_API_KEY": TEST_KEY, "PATH": PATH})
    return result.exit_code, result.output


def debug(out: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    # A key is set, so the run's endpoint is named again: debug never sends a key to a manifest's endpoint alone.
    manifest = out / "manifest.json"
    again = ["--base-url", json.loads(manifest.read_text())["model"]["base_url"]] if manifest.is_file() else []
    result = runner.invoke(app, ["debug", str(out), *again, *extra], env={"OPENAI_API_KEY": TEST_KEY, **(env or {})})
    return result.exit_code, result.output


def by_step(server: FakeOpenAIServer, step: str) -> str:
    found = [r for r in server.requests if r.headers.get("x-papercoder-step") == step]
    assert len(found) == 1, step
    return found[0].last_user_content


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_debug_loop_converges_and_the_diff_is_the_fix(tmp_path: Path) -> None:
    script = buggy_script(
        {"debug/iter-01": FIX_IMPORT, "debug/iter-02": FIX_CONFIG, "debug/iter-03": FIX_NAME, "repair/checks": NO_EDITS}
    )
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = make_run(server, out)
        assert code == 4, output  # the wrong import is left after the (unhelpful) repair round: done-with-problems
        assert {p: (out / "repo" / p).read_text() for p in BUGGY_CODE} == BUGGY_CODE  # nothing run, nothing fixed
        made = len(server.requests)
        code, output = debug(out, "--cmd", PYTHON, "--max-iters", "3", "--timeout", "60")
        assert code == 0, output
        assert "exits 0 after 3 fix iterations (4 runs)" in output
        # Each debug prompt has the error's tail and the files the error involves.
        first, second, third = (by_step(server, f"debug/iter-0{n}") for n in (1, 2, 3))
    assert len(server.requests) == made + 3
    assert "ImportError: cannot import name 'load_configuration' from 'utils'" in first
    assert BUGGY_CODE["main.py"].strip() in first and BUGGY_CONFIG.strip() in first
    assert "KeyError: 'temperature'" in second and "----- model.py -----" in second
    assert "NameError: name 'epochs' is not defined" in third
    assert "without network access" in first  # the model knows downloads cannot work in the run phase

    # The repository now runs, and what changed is exactly the three fixes.
    repo = out / "repo"
    assert {p: (repo / p).read_text() for p in FIXED_CODE} == FIXED_CODE
    assert (repo / "config.yaml").read_text() == FIXED_CONFIG
    log = out / "debug"
    results = [json.loads((log / f"iter-0{n}" / "result.json").read_text()) for n in (1, 2, 3, 4)]
    assert [r["exit_code"] for r in results] == [1, 1, 1, 0]
    assert [r["fix"]["applied"] if r["fix"] else None for r in results] == [2, 1, 1, None]
    assert all(r["command"] == PYTHON for r in results)
    assert "hidden=64 t=0.5\nepochs 3" in (log / "iter-04" / "output.txt").read_text()
    diff = (log / "iter-01" / "fix.diff").read_text()
    assert "-from utils import load_configuration\n+from utils import load_config\n" in diff
    assert '+  "model": {"hidden_width": 64, "temperature": 0.5},' in (log / "iter-02" / "fix.diff").read_text()
    assert not (log / "iter-04" / "fix.diff").exists()
    summary = json.loads((log / "summary.json").read_text())
    written = [(repo / name).read_text() for name in ("reproduce.sh", "README.md")]
    total = sum(t.count("\n") for t in [*BUGGY_CODE.values(), BUGGY_CONFIG, *written])
    assert summary["converged"] is True and summary["fixes"] == 3 and summary["runs"] == 4
    assert summary["modified_lines"] == 4 and summary["total_lines"] == total  # 2 + 1 + 1 lines
    print(f"converged after {summary['fixes']} fixes; {summary['modified_lines']}/{total} lines modified")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["debug"]["status"] == "done" and manifest["stages"]["debug"]["calls"] == 3

    # The report (rewritten after the loop) shows the checks and every iteration.
    assert "iter-04" in (out / "report.html").read_text()
    data = load_run(out)
    assert [it.name for it in data.debug] == ["iter-01", "iter-02", "iter-03", "iter-04"]
    assert data.checks is not None and isinstance(data.checks.data, dict) and data.checks.data["passed"] is False
    # The key was sent to the server, never written to the run directory or shown to the repository.
    for path in out.rglob("*"):
        if path.is_file():
            assert TEST_KEY not in path.read_text(errors="replace"), path


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_fix_that_never_lands_stops_after_max_iters(tmp_path: Path) -> None:
    wrong = "main.py\n<<<<<<< SEARCH\nfrom utils import load_everything\n=======\nfrom utils import load_config\n"
    wrong += ">>>>>>> REPLACE\n"
    script = buggy_script({f"debug/iter-0{n}": wrong for n in (1, 2, 3)})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        assert make_run(server, out)[0] == 4  # the wrong import is left after the repair round
        code, output = debug(out, "--cmd", PYTHON, "--max-iters", "2", "--timeout", "60")
        second = by_step(server, "debug/iter-02")
        assert not [r for r in server.requests if r.headers.get("x-papercoder-step") == "debug/iter-03"]
    assert code == 1
    lines = [line for line in output.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert f"`{PYTHON}` still fails (exit 1) after 2 fix iterations (3 runs); logs in" in " ".join(output.split())
    assert str(out / "debug") in "".join(output.split())
    # The block that matched nothing was reported back, never applied.
    assert "SEARCH block for main.py matched nothing" in second
    assert (out / "repo" / "main.py").read_text() == BUGGY_CODE["main.py"]
    assert sorted(p.name for p in (out / "debug").iterdir()) == ["iter-01", "iter-02", "iter-03", "summary.json"]
    summary = json.loads((out / "debug" / "summary.json").read_text())
    assert summary["converged"] is False and summary["modified_lines"] == 0
    assert json.loads((out / "manifest.json").read_text())["stages"]["debug"]["status"] == "failed"


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_run_with_debug_repairs_statically_then_debugs(tmp_path: Path) -> None:
    # The repair round fixes what the static checks find (the import, the config key); the NameError needs a run.
    script = buggy_script({"repair/checks": FIX_IMPORT + "\n" + FIX_CONFIG, "debug/iter-01": FIX_NAME})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = make_run(server, out, "--debug", "--json")
        repair_prompt = by_step(server, "repair/checks")
    assert code == 0, output
    assert script.steps[-3:] == ["repair/checks", "repo/reproduce", "debug/iter-01"]
    assert "imports load_configuration from utils" in repair_prompt and "model.temperature" in repair_prompt
    checks = json.loads((out / "checks.json").read_text())
    assert [f["kind"] for f in checks["findings"]] == ["import", "config"]
    assert checks["passed"] is True and checks["remaining"] == [] and checks["repair"]["applied"] == 3
    assert "+from utils import load_config" in checks["repair"]["diff"]
    data = json.loads(output[output.index("{") :])
    assert data["debug"]["converged"] is True and data["debug"]["fixes"] == 1 and data["calls"] == 13
    assert {p: (out / "repo" / p).read_text() for p in FIXED_CODE} == FIXED_CODE

    # Re-running the same command resumes: every call, the debug one included, comes from the cache.
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        code, output = make_run(server, out, "--debug", "--json")
        assert code == 0, output
        assert server.requests == []


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_timeout_kills_everything_the_command_started(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert make_run(server, out)[0] == 0
    # A background child and a detached daemon; named by a marker, since their pids inside the sandbox mean nothing.
    marker = f"pcdebug{uuid.uuid4().hex[:10]}"
    command = f"bash -c 'exec -a {marker}a sleep 60' & setsid bash -c 'exec -a {marker}b sleep 60' & "
    command += "echo started; sleep 60"
    code, output = debug(out, "--cmd", command, "--max-iters", "0", "--timeout", "1")
    assert code == 1 and "timed out" in output
    result = json.loads((out / "debug/iter-01/result.json").read_text())
    assert result["timed_out"] is True and result["seconds"] < 15
    assert result["sandbox"] == "bwrap" and result["network"] is False
    assert "started" in (out / "debug/iter-01/output.txt").read_text()
    assert not running(marker), "a child outlived the timeout"


def running(marker: str) -> bool:
    """Whether a live (not zombie) process has ``marker`` in its command line."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                stat = (proc / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    return True
        except OSError:
            continue
    return False


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_the_command_sees_no_credentials(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert make_run(server, out)[0] == 0
    # The key the model reads through --api-key-env, under a name no deny-list would catch, and a token.
    secrets = {"LLM_ACCESS": "sk-llm-access-4d2e", "SERVICE_TOKEN": "tok-123", "HOME": str(tmp_path)}
    command = 'env; echo "smoke=$PAPERCODER_SMOKE home=$HOME"; ls -A "$HOME" | wc -l'
    code, output = debug(out, "--cmd", command, "--max-iters", "0", "--api-key-env", "LLM_ACCESS", env=secrets)
    assert code == 0, output
    text = (out / "debug/iter-01/output.txt").read_text()
    assert "smoke=1 home=/tmp/home\n0\n" in text  # an empty home of its own
    assert "sk-llm-access-4d2e" not in text and "tok-123" not in text and TEST_KEY not in text
    summary = json.loads((out / "debug/summary.json").read_text())
    assert summary["sandbox"] == "bwrap" and summary["network"] == "install"


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_venv_runs_in_its_own_environment(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert make_run(server, out)[0] == 0
    (out / "repo" / "requirements.txt").write_text("")  # nothing to install: no network needed
    code, output = debug(out, "--cmd", 'python -c "import sys; print(sys.prefix)"', "--max-iters", "0", "--venv")
    assert code == 0, output
    assert str((out / "venv").resolve()) in (out / "debug/iter-01/output.txt").read_text().replace("\n", "")


@pytest.mark.usefixtures("clean_env")
def test_sandbox_options(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert make_run(server, out)[0] == 0
    code, output = debug(out, "--sandbox", "docker")
    assert code == 2 and "--sandbox docker needs --image IMAGE" in output and len(output.strip().splitlines()) == 1
    code, output = debug(out, "--network", "sometimes")
    flat = " ".join(output.replace("│", " ").split())  # rich draws typer's error in a box
    assert code == 2 and "'sometimes' is not one of 'install', 'always', 'never'" in flat
    # none only when asked for, and then with a warning; recorded like any backend.
    code, output = debug(out, "--sandbox", "none", "--cmd", "echo hi", "--max-iters", "0")
    assert code == 0 and "unisolated" in output
    assert json.loads((out / "debug/iter-01/result.json").read_text())["sandbox"] == "none"
    boxed = runner.invoke(app, ["debug", "--help"]).output
    help_text = " ".join(boxed.replace("│", " ").split())  # rich draws the options in a box
    assert "install (default: only while creating the venv and installing requirements.txt" in help_text
    # run --debug checks the sandbox before any model call.
    requests = len(server.requests)
    code, output = make_run(server, tmp_path / "other", "--debug", "--sandbox", "jail")
    flat = " ".join(output.replace("│", " ").split())
    assert code == 2 and "'jail' is not one of 'auto', 'bwrap'" in flat and len(server.requests) == requests


@pytest.mark.usefixtures("clean_env")
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, server: FakeOpenAIServer) -> None:
    code, output = debug(tmp_path / "nothing-here")
    assert code == 2 and "not a papercoder run directory" in output and len(output.strip().splitlines()) == 1
    out = tmp_path / "run"
    assert make_run(server, out)[0] == 0
    code, output = debug(out, "--cmd", "  ")
    assert code == 2 and "--cmd is empty" in output


@pytest.mark.usefixtures("clean_env")
def test_reproduce_answer_without_a_script_gets_the_fallback(tmp_path: Path) -> None:
    script = Paper2CodeScript(replies={"repo/reproduce": "Sorry, I cannot write shell scripts."})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = make_run(server, out)
    assert code == 0, output
    text = (out / "repo/reproduce.sh").read_text()
    assert "python3 -m venv .venv" in text and "pip install -r requirements.txt" in text
    assert "python main.py" in text and "PAPERCODER_SMOKE=1" in text
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert any(w.startswith("reproduce.sh: ") and "wrote the standard script instead" in w for w in warnings)


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_debug_says_what_it_fixes_and_when_a_fix_held_no_edits(tmp_path: Path) -> None:
    script = buggy_script({"debug/iter-01": FIX_IMPORT, "debug/iter-02": NO_EDITS, "repair/checks": NO_EDITS})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        assert make_run(server, out)[0] == 4
        code, output = debug(out, "--cmd", PYTHON, "--max-iters", "2", "--timeout", "60")
    assert code == 1, output
    flat = " ".join(output.split())
    assert "run 1 failed (exit 1): ImportError: cannot import name 'load_configuration' from 'utils'" in flat
    assert "fix 1: 2 edits applied to main.py" in flat, flat
    assert "run 2 failed (exit 1): KeyError: 'temperature'" in flat
    assert "fix 2 held no edit that applied, 1 refused; run 3 is of the same code" in flat
