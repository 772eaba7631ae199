"""Model output that used to crash a run with a traceback: odd file names, deep JSON, lone surrogates, a full disk,
and output too large to keep. Each is a warning and the run goes on, or one error line and a manifest that says
failed; never a traceback, and never a bad answer replayed from the cache."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from papercoder import fsutil
from papercoder.llm.openai_compat import MAX_ANSWER_CHARS
from papercoder.pipeline.coding import MAX_ATTACHED_CHARS
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import CODE, FILES, Paper2CodeScript, many_files_script
from tests.test_bad_output import run, scenario, warnings
from tests.test_pipeline_failures import invoke, run_args


def failed_run(out: Path, script: Paper2CodeScript, **server: Any) -> tuple[str, dict[str, Any], FakeOpenAIServer]:
    """Run the CLI expecting exit 1; the output, the manifest, and the (stopped) server."""
    with FakeOpenAIServer(script, **server) as srv:
        code, output = invoke(run_args(srv, EXAMPLE_PAPER, out))
        srv.raise_errors()
    assert code == 1, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output  # one error line, and it is the whole error
    assert errors[0].strip() == output.strip().splitlines()[-1].strip()
    return errors[0], json.loads((out / "manifest.json").read_text()), srv


def steps_asked(srv: FakeOpenAIServer) -> list[str]:
    return [unquote(r.headers.get("x-papercoder-step", "")) for r in srv.chat_requests]


def cached_steps(out: Path) -> list[str]:
    return [json.loads(p.read_text(encoding="utf-8"))["step"] for p in (out / "calls").glob("*.json")]


@pytest.mark.usefixtures("clean_env")
def test_non_ascii_file_name_runs_end_to_end(tmp_path: Path) -> None:
    files = ["utils.py", "modèle.py", "main.py"]
    code = {"modèle.py": CODE["model.py"]}
    with FakeOpenAIServer(scenario(files, files, code)) as srv:
        rc, output = invoke(run_args(srv, EXAMPLE_PAPER, tmp_path / "run"))
        srv.raise_errors()
        headers = [r.headers.get("x-papercoder-step", "") for r in srv.chat_requests]
    assert rc == 0, output
    out = tmp_path / "run"
    assert json.loads((out / "manifest.json").read_text())["files"] == files
    assert (out / "repo/modèle.py").read_text(encoding="utf-8") == CODE["model.py"]
    assert "modèle.py" in (out / "analysis/modèle.py.md").read_text(encoding="utf-8")
    assert (out / "coding/modèle.py.md").is_file()
    assert all(h.isascii() for h in headers) and "coding/mod%C3%A8le.py" in headers


@pytest.mark.usefixtures("clean_env")
def test_file_names_too_long_for_the_file_system_are_refused(tmp_path: Path) -> None:
    # Each component is legal on its own (< 255 characters), but not once the run adds ".md" and a temporary suffix.
    long_ascii, long_accented = "a" * 240 + ".py", "é" * 130 + ".py"
    files = ["utils.py", long_ascii, "model.py", long_accented, "main.py"]
    out, manifest, coded = run(tmp_path, scenario(files, files))
    assert coded == FILES
    assert sorted(p.name for p in (out / "repo").glob("*.py")) == sorted(FILES)
    assert warnings(manifest).count("longer than 200 bytes") >= 2


@pytest.mark.usefixtures("clean_env")
def test_json_nested_100k_deep_is_one_line_and_not_replayed(tmp_path: Path) -> None:
    script = Paper2CodeScript(replies={"planning/architecture": "[" * 100_000 + "]" * 100_000})
    out = tmp_path / "run"
    error, manifest, srv = failed_run(out, script)
    assert "planning/architecture" in error and "nested too deeply" in error
    assert manifest["status"] == "failed" and manifest["stages"]["planning"]["status"] == "failed"
    assert steps_asked(srv).count("planning/architecture") == 2  # the answer and its one repair turn
    assert "planning/architecture" not in cached_steps(out)
    # A re-run asks again (the bad answers were evicted) and fails the same way, in one line.
    error, manifest, srv = failed_run(out, script)
    assert "nested too deeply" in error and manifest["status"] == "failed"
    assert steps_asked(srv) == ["planning/architecture"] * 2  # the plan came from the cache


@pytest.mark.usefixtures("clean_env")
def test_config_answer_that_is_not_yaml_is_asked_again_on_a_re_run(tmp_path: Path) -> None:
    script = Paper2CodeScript(replies={"planning/config": "```yaml\n" + "[" * 5_000 + "\n```\n"})
    out = tmp_path / "run"
    error, manifest, _ = failed_run(out, script)
    assert "planning/config" in error and manifest["status"] == "failed"
    assert "planning/config" not in cached_steps(out)
    _, _, srv = failed_run(out, script)
    assert steps_asked(srv) == ["planning/config"]  # asked again; the earlier turns came from the cache


@pytest.mark.usefixtures("clean_env")
def test_lone_surrogates_in_answers_are_replaced(tmp_path: Path) -> None:
    script = scenario(FILES, FILES, code={"utils.py": CODE["utils.py"] + "# bad \udfff byte\n"})
    # Escaped in the HTTP body (the fake sends JSON with ensure_ascii), and, for the architecture, inside the
    # answer's own JSON too (json.dumps writes the escape into the content).
    script.architecture["Implementation approach"] = "numpy \ud800 and yaml"
    script.replies["planning/plan"] = "## Plan\n1. Encoder \ud800 MLP.\n"
    out, _, coded = run(tmp_path, script)
    assert coded[:3] == FILES
    assert "Encoder \ufffd MLP" in (out / "planning/1_plan.md").read_text(encoding="utf-8")
    arch = json.loads((out / "planning/2_architecture.json").read_text(encoding="utf-8"))
    assert arch["implementation_approach"] == "numpy \ufffd and yaml"
    assert "# bad \ufffd byte" in (out / "repo/utils.py").read_text(encoding="utf-8")
    for entry in (out / "calls").glob("*.json"):
        entry.read_text(encoding="utf-8")  # every cache entry is valid UTF-8


class DiskFullDouble:
    """A test double for the disk under ``atomic_write_text``: writes into ``folder`` fail with ``error``, as on a
    full (ENOSPC), over-quota (EDQUOT) or read-only (EROFS) file system; every other write goes through."""

    def __init__(self, folder: str, error: int) -> None:
        self.folder, self.error, self.refused = folder, error, 0
        self.real = fsutil._write_through_temp

    def __call__(self, path: Path, text: str, flusher: fsutil.Flusher | None = None) -> None:
        if path.parent.name == self.folder:
            self.refused += 1
            raise OSError(self.error, "disk double: " + errno.errorcode[self.error], str(path))
        self.real(path, text, flusher)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("error", "words"),
    [(errno.ENOSPC, "the disk is full"), (errno.EDQUOT, "quota"), (errno.EROFS, "read-only")],
)
def test_disk_full_is_one_line_and_the_manifest_says_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, words: str
) -> None:
    disk = DiskFullDouble("coding", error)
    monkeypatch.setattr(fsutil, "_write_through_temp", disk)
    out = tmp_path / "run"
    line, manifest, _ = failed_run(out, Paper2CodeScript())
    assert disk.refused == 1
    assert words in line and str(out / "coding") in line and "--out" in line
    assert manifest["status"] == "failed" and manifest["stages"]["coding"]["status"] == "failed"
    assert words in manifest["error"]


@pytest.mark.usefixtures("clean_env")
def test_plan_over_the_file_cap_is_cut_with_a_warning(tmp_path: Path) -> None:
    script = many_files_script(100)  # 100 modules and main.py: 101 files
    # main.py imports every module, mod99.py too: the dropped file is a problem the run reports.
    _, manifest, coded = run(tmp_path, script, status="done-with-problems")
    assert any("mod99" in problem for problem in manifest["problems"]), manifest["problems"]
    assert len(manifest["files"]) == 100 and manifest["files"][-1] == "main.py"
    assert manifest["files"][:99] == script.files[:99] and "mod99.py" not in manifest["files"]
    assert coded[:100] == manifest["files"]
    assert "the plan lists 101 files, more than --max-files 100" in warnings(manifest)
    assert "mod99.py" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_max_files_option_sets_the_cap(tmp_path: Path) -> None:
    with FakeOpenAIServer(Paper2CodeScript()) as srv:
        rc, output = invoke([*run_args(srv, EXAMPLE_PAPER, tmp_path / "run"), "--max-files", "2"])
        srv.raise_errors()
    assert rc == 0, output
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["files"] == ["utils.py", "main.py"]  # the entry point kept in place of model.py
    assert manifest["settings"]["max_files"] == 2
    assert "more than --max-files 2" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_oversized_answer_is_refused_unread_and_not_kept(tmp_path: Path) -> None:
    size = 6_000_000
    script = Paper2CodeScript(replies={"coding/model.py": "```python\n" + "x = 1\n" * (size // 6) + "```\n"})
    out = tmp_path / "run"
    error, manifest, srv = failed_run(out, script, stream_pieces=200)  # 30k-character pieces
    assert f"passed {MAX_ANSWER_CHARS:,} characters" in error and "coding/model.py" in error
    assert manifest["status"] == "failed" and manifest["stages"]["coding"]["status"] == "failed"
    assert steps_asked(srv).count("coding/model.py") == 1  # not retried: a retry would cost as much again
    assert "coding/main.py" not in steps_asked(srv)
    assert max(len(r.raw) for r in srv.chat_requests) < 100_000  # nothing of that size reached a prompt
    assert not (out / "coding/model.py.md").exists() and "coding/model.py" not in cached_steps(out)
    assert max(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 1_000_000


@pytest.mark.usefixtures("clean_env")
def test_huge_file_is_attached_to_later_prompts_cut(tmp_path: Path) -> None:
    huge = CODE["utils.py"] + "VALUE = 1\n" * 25_000  # 250k characters, still what model.py imports
    out, manifest, coded = run(tmp_path, scenario(FILES, FILES, code={"utils.py": huge}))
    assert coded[:3] == FILES and (out / "repo/utils.py").read_text() == huge  # the file itself is whole
    prompts = [p for p in (out / "calls").glob("*.json") if json.loads(p.read_text())["step"] == "coding/model.py"]
    assert len(prompts) == 1
    turn = json.loads(prompts[0].read_text())["messages"][-1]["content"]
    assert "VALUE = 1" in turn and len(turn) < MAX_ATTACHED_CHARS + 20_000
    # The default order (auto) switches to interfaces after so large a file: what is cut is the interface's text.
    shown = re.search(r"utils\.py is ([\d,]+) characters; prompts attach only its first", warnings(manifest))
    assert shown is not None and int(shown.group(1).replace(",", "")) > MAX_ATTACHED_CHARS
    left = int(shown.group(1).replace(",", "")) - MAX_ATTACHED_CHARS
    assert f"{left:,} more characters of utils.py left out" in turn
