"""Model output that would corrupt the repository: each case is a warning in the manifest, and the run goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import ARCHITECTURE, CODE, FILES, LOGIC_TEXT, Paper2CodeScript
from tests.test_pipeline_failures import invoke, run_args


def scenario(file_list: list[str], task_list: list[str], code: dict[str, str] | None = None) -> Paper2CodeScript:
    script = Paper2CodeScript()
    script.architecture = dict(ARCHITECTURE, **{"File list": file_list})
    script.logic_text = LOGIC_TEXT.replace(
        '"Task list": ["utils.py", "model.py", "main.py"]', f'"Task list": {json.dumps(task_list)}'
    )
    script.code = {**CODE, **(code or {})}
    return script


def run(tmp_path: Path, script: Paper2CodeScript, *, status: str = "done") -> tuple[Path, dict[str, Any], list[str]]:
    """Run the CLI; the run dir, the manifest, and the coding steps the server was asked, in order."""
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = invoke(run_args(server, EXAMPLE_PAPER, out))
        server.raise_errors()
    assert code == (0 if status == "done" else 4), output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == status
    return out, manifest, [s.removeprefix("coding/") for s in script.steps if s.startswith("coding/")]


def warnings(manifest: dict[str, Any]) -> str:
    return "\n".join(manifest["warnings"])


@pytest.mark.usefixtures("clean_env")
def test_path_traversal_is_refused(tmp_path: Path) -> None:
    files = ["utils.py", "../../outside.py", "model.py", "main.py"]
    out, manifest, coded = run(tmp_path, scenario(files, files))
    assert coded == FILES and not (tmp_path / "outside.py").exists() and not (out / "outside.py").exists()
    assert "../../outside.py" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_absolute_path_is_refused(tmp_path: Path) -> None:
    files = ["/tmp/abs_papercoder.py", "utils.py", "model.py", "main.py"]
    out, manifest, coded = run(tmp_path, scenario(files, files))
    assert coded == FILES and not Path("/tmp/abs_papercoder.py").exists()
    assert sorted(p.name for p in (out / "repo").glob("*.py")) == sorted(FILES)
    assert "/tmp/abs_papercoder.py" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_names_that_differ_only_in_case_keep_the_first(tmp_path: Path) -> None:
    files = ["utils.py", "model.py", "Model.py", "main.py"]
    out, manifest, coded = run(tmp_path, scenario(files, files))
    assert coded == FILES
    assert sorted(p.name for p in (out / "repo").glob("*.py")) == sorted(FILES)
    assert "'Model.py'" in warnings(manifest) and "case" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_non_source_files_in_the_task_list_are_skipped(tmp_path: Path) -> None:
    files = ["utils.py", "data/train.csv", "weights.pt", "model.py", "main.py"]
    out, manifest, coded = run(tmp_path, scenario(files, files))
    assert coded == FILES
    assert not (out / "repo/weights.pt").exists() and not (out / "repo/data").exists()
    assert "'weights.pt' is not a source file" in warnings(manifest)
    assert "'data/train.csv' is not a source file" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_file_of_the_file_list_missing_from_the_task_list_is_coded_last(tmp_path: Path) -> None:
    out, manifest, coded = run(tmp_path, scenario(FILES, ["model.py", "main.py"]))
    assert coded == ["model.py", "main.py", "utils.py"]
    assert (out / "repo/utils.py").read_text() == CODE["utils.py"]
    assert "'utils.py' is in the file list but not in the task list; coded last" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_task_list_file_missing_from_the_file_list_is_coded_anyway(tmp_path: Path) -> None:
    out, manifest, coded = run(tmp_path, scenario(["model.py", "main.py"], FILES))
    assert coded == FILES and (out / "repo/utils.py").read_text() == CODE["utils.py"]
    assert "'utils.py' is in the task list but not in the file list; coded anyway" in warnings(manifest)


@pytest.mark.usefixtures("clean_env")
def test_empty_code_answer_is_a_warning_and_the_rest_is_written(tmp_path: Path) -> None:
    # The empty file is a problem the (scripted, unhelpful) repair round leaves: done-with-problems, exit 4.
    out, manifest, coded = run(tmp_path, scenario(FILES, FILES, code={"model.py": ""}), status="done-with-problems")
    assert "model.py: empty: the file is empty" in manifest["problems"]
    assert coded[:3] == FILES  # a repair round may follow; the three files were asked once each, in order
    assert (out / "repo/model.py").read_text() == ""
    assert (out / "repo/main.py").read_text() == CODE["main.py"]
    assert "coding model.py: the model answered no code; the file is empty" in warnings(manifest)
