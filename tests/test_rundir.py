"""Run directories that keep their word: identity over every byte the model saw, one process at a time, no
foreign folder or other paper overwritten, interrupted runs shown as such, debug fixes kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder import rundir_lock
from papercoder._cli.main import app
from papercoder.report.load import load_run
from papercoder.run_dir import StageClock, StageRecord
from papercoder.rundir_lock import RunDirBusy, held_elsewhere, hold
from tests.conftest import EXAMPLE_PAPER, REPO_ROOT, TEST_KEY
from tests.fakes.openai_server import Answer, DropConnection, FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import (
    BUGGY_CODE,
    FIX_CONFIG,
    FIX_IMPORT,
    FIX_NAME,
    FIXED_CODE,
    NO_EDITS,
    Paper2CodeScript,
    buggy_script,
    many_files_script,
)

runner = CliRunner()
ENV = {"OPENAI_API_KEY": TEST_KEY}
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def run_args(server: FakeOpenAIServer, paper: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(paper), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url, *extra]


def invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args, env={**ENV, "PATH": PATH})
    return result.exit_code, result.output


def steps(server: FakeOpenAIServer, since: int = 0) -> list[str]:
    return [r.headers.get("x-papercoder-step", "") for r in server.requests[since:]]


def tree_bytes(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def subprocess_cli(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO_ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "papercoder", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def latex_paper(folder: Path, method: str) -> Path:
    (folder / "sections").mkdir(parents=True, exist_ok=True)
    (folder / "main.tex").write_text(
        "\\documentclass{article}\\title{Prototype Networks}\\begin{document}\\maketitle\n"
        "\\begin{abstract}A tiny prototype classifier.\\end{abstract}\n"
        "\\section{Introduction}We classify points by their nearest prototype.\n"
        "\\input{sections/method}\n\\end{document}\n"
    )
    (folder / "sections" / "method.tex").write_text(f"\\section{{Method}}{method}\n")
    return folder


@pytest.mark.usefixtures("clean_env")
def test_an_edited_input_file_redoes_the_stages_that_read_it(tmp_path: Path, server: FakeOpenAIServer) -> None:
    paper = latex_paper(tmp_path / "paper", "An MLP with 64 hidden units, trained for 30 epochs.")
    out = tmp_path / "run"
    code, output = invoke(run_args(server, paper, out))
    assert code == 0, output
    first = len(server.requests)
    sha = json.loads((out / "manifest.json").read_text())["paper"]["text_sha256"]

    code, output = invoke(run_args(server, paper, out))  # nothing changed: every call from the cache
    assert code == 0, output
    assert len(server.requests) == first

    (paper / "sections" / "method.tex").write_text("\\section{Method}An MLP with 128 hidden units, 50 epochs.\n")
    code, output = invoke(run_args(server, paper, out))  # the same paper, edited in place: a resume, not refused
    assert code == 0, output
    assert "paper's text changed since the last run" in output
    redone = steps(server, first)
    assert redone[:4] == ["planning/plan", "planning/architecture", "planning/logic", "planning/config"]
    # Every prompt that holds the paper's text is asked again; reproduce.sh's prompt (the repo's file names and
    # requirements, unchanged) is served from the cache.
    assert sorted(redone) == sorted(s for s in steps(server)[:first] if s != "repo/reproduce")  # analysis: parallel
    assert "128 hidden units" in server.requests[first].last_user_content
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["paper"]["text_sha256"] != sha and manifest["status"] == "done"
    assert "128 hidden units" in (out / "paper" / "paper.md").read_text()


class Gate:
    """Answers like the scenario, but holds the first request until ``release`` is set (a slow model)."""

    def __init__(self, inner: Paper2CodeScript) -> None:
        self.inner = inner
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: RecordedRequest) -> Answer:
        self.arrived.set()
        self.release.wait(60)
        return self.inner(request)


@pytest.mark.usefixtures("clean_env")
def test_a_second_process_on_a_held_run_dir_exits_2_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    gate = Gate(Paper2CodeScript())
    with FakeOpenAIServer(gate) as server:
        proc = subprocess_cli(run_args(server, EXAMPLE_PAPER, out))
        try:
            assert gate.arrived.wait(60), "the first run never called the model"
            assert held_elsewhere(out)
            code, output = invoke(run_args(server, EXAMPLE_PAPER, out))
            assert code == 2, output
            assert output.count("\n") == 1 and f"PID {proc.pid} (papercoder run)" in output, output
            code, output = invoke(["debug", str(out), "--cmd", "true", "--base-url", server.base_url])
            assert code == 2 and f"PID {proc.pid}" in output, output
            judge = ["--judge-model", "fake-model", "--base-url", server.base_url]
            code, output = invoke(["eval", str(out), *judge])  # eval writes RUN_DIR/eval/
            assert code == 2 and f"PID {proc.pid}" in output, output
            code, output = invoke(run_args(server, EXAMPLE_PAPER, out, "--fresh"))  # --fresh empties nothing held
            assert code == 2, output
            assert (out / "manifest.json").is_file()
            calls = len(server.requests)
        finally:
            gate.release.set()
            stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, stdout.decode()
    assert calls == 1  # the refused commands asked the model nothing
    assert not held_elsewhere(out) and (out / ".lock").read_text() == ""


def test_a_killed_holders_lock_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = (
        "import time\nfrom pathlib import Path\nfrom papercoder.rundir_lock import hold\n"
        f"with hold(Path({str(out)!r}), 'run'):\n    print('held', flush=True)\n    time.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
    with pytest.raises(RunDirBusy, match=f"PID {proc.pid} \\(papercoder run\\)"), hold(out, "debug"):
        pass
    proc.kill()
    proc.wait(30)
    assert (out / ".lock").read_text().startswith(f"{proc.pid} ")  # the dead holder's record is still there
    with hold(out, "debug"):
        assert (out / ".lock").read_text() == f"{os.getpid()} debug\n"
        with hold(out, "debug"):  # the holder may take it again (run --debug)
            pass
        assert not held_elsewhere(out)


def test_the_pid_file_fallback_takes_over_a_dead_pid_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rundir_lock, "fcntl", None)  # as on Windows
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    (out / ".lock").write_text(f"{dead.pid} run\n")
    with hold(out, "run"):
        assert (out / ".lock").read_text() == f"{os.getpid()} run\n"
    assert not (out / ".lock").exists()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(f"{alive.pid} debug\n")
        assert held_elsewhere(out)
        with pytest.raises(RunDirBusy, match=f"PID {alive.pid} \\(papercoder debug\\)"), hold(out, "run"):
            pass
    finally:
        alive.kill()
        alive.wait(30)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("method", ["papercoder", "paper"])
def test_out_at_a_foreign_folder_is_refused_and_left_as_it_was(
    tmp_path: Path, server: FakeOpenAIServer, method: str
) -> None:
    foreign = tmp_path / "thesis"
    (foreign / "repo").mkdir(parents=True)
    (foreign / "repo" / "main.py").write_text("print('my own code')\n")
    (foreign / "notes.txt").write_text("keep me")
    before = tree_bytes(foreign)
    code, output = invoke(run_args(server, EXAMPLE_PAPER, foreign, "--method", method))
    assert code == 2, output
    assert output.count("\n") == 1 and "not a papercoder run directory" in output and "nothing was changed" in output
    assert tree_bytes(foreign) == before
    assert server.requests == []


@pytest.mark.usefixtures("clean_env")
def test_another_paper_is_refused_unless_fresh(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert invoke(run_args(server, EXAMPLE_PAPER, out))[0] == 0
    other = tmp_path / "other.md"
    other.write_text("# Another Paper\n\n## Abstract\n\nSomething else entirely.\n\n## Method\n\nA linear model.\n")
    before = tree_bytes(out)
    made = len(server.requests)
    code, output = invoke(run_args(server, other, out))
    assert code == 2, output
    assert "holds the run of another paper" in output and str(EXAMPLE_PAPER) in output and "--fresh" in output
    assert tree_bytes(out) == before and len(server.requests) == made

    copy = tmp_path / "copy_of_tiny.md"  # the same text from another path is the same paper: a resume
    copy.write_bytes(EXAMPLE_PAPER.read_bytes())
    code, output = invoke(run_args(server, copy, out))
    assert code == 0, output
    assert len(server.requests) == made

    code, output = invoke(run_args(server, other, out, "--fresh"))
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["paper"]["source"] == str(other.resolve()) and manifest["paper"]["title"] == "Another Paper"
    assert "Another Paper" in (out / "paper" / "paper.md").read_text()


class SlowKillAt:
    """Answers like the scenario, each answer after ``delay`` seconds; SIGKILLs the client at ``step``."""

    def __init__(self, inner: Paper2CodeScript, step: str, delay: float) -> None:
        self.inner, self.step, self.delay = inner, step, delay
        self.pid: int | None = None
        self.killed = threading.Event()

    def __call__(self, request: RecordedRequest) -> Answer:
        if request.headers["x-papercoder-step"] == self.step and not self.killed.is_set() and self.pid:
            os.kill(self.pid, signal.SIGKILL)
            self.killed.set()
            return DropConnection()
        time.sleep(self.delay)
        return self.inner(request)


@pytest.mark.usefixtures("clean_env")
def test_a_killed_run_shows_interrupted_and_its_resume_adds_the_time(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "tiny"
    killer = SlowKillAt(many_files_script(4), "coding/mod03.py", 0.2)
    with FakeOpenAIServer(killer) as server:
        proc = subprocess_cli(run_args(server, EXAMPLE_PAPER, out, "--concurrency", "1"))
        killer.pid = proc.pid
        proc.wait(timeout=120)
        assert killer.killed.is_set() and proc.returncode == -signal.SIGKILL

        on_disk = json.loads((out / "manifest.json").read_text())
        assert on_disk["status"] == "running" and on_disk["stages"]["coding"]["status"] == "running"
        before = on_disk["stages"]["coding"]["wall_s"]
        assert before >= 0.6  # three coding answers of 0.2 s each were saved as they came
        result = runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"])
        assert result.exit_code == 0, result.output
        assert [r["status"] for r in json.loads(result.output)] == ["interrupted"]
        shown = load_run(out).manifest  # the report header reads the same
        assert shown.status == "interrupted" and shown.stages["coding"].status == "interrupted"

        code, output = invoke(run_args(server, EXAMPLE_PAPER, out))  # --concurrency only schedules: a resume
        assert code == 0, output
    after = json.loads((out / "manifest.json").read_text())
    assert after["status"] == "done" and after["stages"]["coding"]["status"] == "done"
    assert after["stages"]["coding"]["wall_s"] >= before + 0.2  # mod03 and main.py were asked after the resume
    assert after["stages"]["coding"]["calls"] == 5  # calls are re-counted, cached ones included, not added


def test_a_resumed_stage_clock_adds_to_the_time_recorded() -> None:
    record = StageRecord(status="interrupted", wall_s=2.5, calls=7)
    clock = StageClock(record, "fake-model")
    clock.start()
    assert record.calls == 0 and record.status == "running"
    clock.finish("done")
    assert 2.5 <= record.wall_s < 3.5


def debug_script() -> Paper2CodeScript:
    return buggy_script(
        {"debug/iter-01": FIX_IMPORT, "debug/iter-02": FIX_CONFIG, "debug/iter-03": FIX_NAME, "repair/checks": NO_EDITS}
    )


@pytest.mark.usefixtures("clean_env")
def test_run_after_debug_keeps_the_debugged_repository(tmp_path: Path) -> None:
    paper = tmp_path / "tiny.md"
    paper.write_bytes(EXAMPLE_PAPER.read_bytes())
    out = tmp_path / "run"
    with FakeOpenAIServer(debug_script()) as server:
        assert invoke(run_args(server, paper, out))[0] == 4  # the buggy import is left after the repair round
        code, output = invoke(
            ["debug", str(out), "--cmd", f"{sys.executable} main.py", "--max-iters", "3", "--base-url", server.base_url]
        )
        assert code == 0, output
        repo = out / "repo"
        assert {p: (repo / p).read_text() for p in FIXED_CODE} == FIXED_CODE
        made = len(server.requests)

        code, output = invoke(run_args(server, paper, out))
        assert code == 0, output
        assert "kept repo/ as changed after papercoder wrote it" in output and "main.py" in output
        assert {p: (repo / p).read_text() for p in FIXED_CODE} == FIXED_CODE
        assert len(server.requests) == made
        assert json.loads((out / "manifest.json").read_text())["status"] == "done"  # checked as debug left it

        # An edited paper would recode every file: refused, the fixes untouched, with how to regenerate.
        paper.write_text(paper.read_text() + "\n\nA late addition to the method.\n")
        code, output = invoke(run_args(server, paper, out))
        assert code == 2, output
        assert output.count("\n") == 1 and "move repo/ aside or pass --fresh" in output
        assert {p: (repo / p).read_text() for p in FIXED_CODE} == FIXED_CODE

        code, output = invoke(run_args(server, paper, out, "--fresh"))
        assert code == 4, output
        assert {p: (repo / p).read_text() for p in BUGGY_CODE} == BUGGY_CODE  # regenerated


BASELINE_ANSWER = "### File: main.py\n```python\nprint('generated')\n```\n"


@pytest.mark.usefixtures("clean_env")
def test_a_baseline_rerun_keeps_a_hand_fixed_repository(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(lambda request: Reply(content=BASELINE_ANSWER)) as server:
        args = run_args(server, EXAMPLE_PAPER, out, "--method", "paper")
        assert invoke(args)[0] == 0
        main = out / "repo" / "main.py"
        assert main.read_text() == "print('generated')\n"
        main.write_text("print('fixed by hand')\n")
        code, output = invoke(args)
        assert code == 0, output
        assert main.read_text() == "print('fixed by hand')\n"
        warnings = json.loads((out / "manifest.json").read_text())["warnings"]
        assert any("kept repo/" in w for w in warnings)
        assert invoke([*args, "--fresh"])[0] == 0
        assert main.read_text() == "print('generated')\n"
        assert len(server.requests) == 2  # the first run and the fresh one
