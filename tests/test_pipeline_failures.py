"""What happens when the model's answers are bad or the input is: repair turns, safe paths, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import ARCHITECTURE, CODE, Paper2CodeScript

runner = CliRunner()


def invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    return result.exit_code, result.output


def run_args(server: FakeOpenAIServer, paper: Path, out: Path) -> list[str]:
    return ["run", str(paper), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url]


class BadFirstArchitecture(Paper2CodeScript):
    """Answers the architecture step with prose first (invalid), then valid JSON after the repair turn."""

    bad_answers: int = 1

    def __call__(self, request: RecordedRequest) -> Reply:
        step = request.headers.get("x-papercoder-step", "")
        if step == "planning/architecture" and self.bad_answers > 0:
            self.bad_answers -= 1
            self.steps.append(step)
            return Reply(content="I would build three files: utils, model and main. {oops")
        return super().__call__(request)


@pytest.mark.usefixtures("clean_env")
def test_invalid_json_gets_one_repair_turn(tmp_path: Path) -> None:
    script = BadFirstArchitecture()
    with FakeOpenAIServer(script) as server:
        code, output = invoke(run_args(server, EXAMPLE_PAPER, tmp_path / "run"))
        assert code == 0, output
        arch_requests = [r for r in server.requests if r.headers["x-papercoder-step"] == "planning/architecture"]
    assert len(arch_requests) == 2
    repair = arch_requests[1].body["messages"]
    assert repair[-2] == {"role": "assistant", "content": "I would build three files: utils, model and main. {oops"}
    assert "could not be used" in repair[-1]["content"] and "JSON" in repair[-1]["content"]
    # The JSON schema is asked for through response_format.
    assert arch_requests[0].body["response_format"]["type"] == "json_schema"


@pytest.mark.usefixtures("clean_env")
def test_invalid_json_twice_fails_with_one_line(tmp_path: Path) -> None:
    script = BadFirstArchitecture()
    script.bad_answers = 2
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = invoke(run_args(server, EXAMPLE_PAPER, out))
        assert code == 1
        assert "planning/architecture" in output and str(out) in output
        assert "Traceback" not in output
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "failed"
        assert manifest["stages"]["planning"]["status"] == "failed"
        assert (out / "planning/1_plan.md").is_file()  # what was done is kept
        # The bad answers were not cached: re-running asks the architecture step again (and now succeeds).
        script.bad_answers = 0
        before = len(server.requests)
        code, output = invoke(run_args(server, EXAMPLE_PAPER, out))
        assert code == 0, output
        steps = [r.headers["x-papercoder-step"] for r in server.requests[before:]]
        assert steps[0] == "planning/architecture"  # the plan came from the cache


@pytest.mark.usefixtures("clean_env")
def test_unsafe_file_names_stay_inside_the_repo(tmp_path: Path) -> None:
    script = Paper2CodeScript()
    script.architecture = dict(
        ARCHITECTURE, **{"File list": ["utils.py", "../evil.py", "/etc/abs.py", "./model.py", "model.py", "main.py"]}
    )
    script.logic_text = script.logic_text.replace(
        '"Task list": ["utils.py", "model.py", "main.py"]',
        '"Task list": ["utils.py", "../evil.py", "/etc/abs.py", "./model.py", "model.py", "main.py", "data/"]',
    )
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = invoke(run_args(server, EXAMPLE_PAPER, out))
    assert code == 0, output
    assert not (tmp_path / "evil.py").exists()
    assert sorted(p.name for p in (out / "repo").iterdir()) == [
        "README.md",
        "config.yaml",
        "main.py",
        "model.py",
        "reproduce.sh",
        "requirements.txt",
        "utils.py",
    ]
    assert (out / "repo/model.py").read_text() == CODE["model.py"]
    warnings = "\n".join(json.loads((out / "manifest.json").read_text())["warnings"])
    assert "../evil.py" in warnings and "/etc/abs.py" in warnings


@pytest.mark.usefixtures("clean_env")
def test_missing_paper_is_a_one_line_error(tmp_path: Path) -> None:
    code, output = invoke(
        [
            "run",
            str(tmp_path / "nope.pdf"),
            "--out",
            str(tmp_path / "run"),
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ]
    )
    assert code == 2
    assert output.count("\n") == 1 and "not found" in output and "Traceback" not in output


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("paper.docx", b"PK\x03\x04", "docx"),
        ("empty.pdf", b"", "empty"),
        ("corrupt.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "pdf"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, name: str, content: bytes, expect: str) -> None:
    paper = tmp_path / name
    paper.write_bytes(content)
    code, output = invoke(
        ["run", str(paper), "--out", str(tmp_path / "run"), "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    )
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and output.splitlines()[-1] == errors[0], output
    assert expect in errors[0].lower() and "Traceback" not in output


@pytest.mark.usefixtures("clean_env")
def test_truncated_pdf_exits_2(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A Paper\n\nSome text on the method.")
    data = doc.tobytes()
    paper = tmp_path / "cut.pdf"
    paper.write_bytes(data[: len(data) // 3])
    code, output = invoke(
        ["run", str(paper), "--out", str(tmp_path / "run"), "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    )
    assert code == 2, output
    assert "Traceback" not in output


@pytest.mark.usefixtures("clean_env")
def test_fresh_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    code, output = invoke(
        [
            "run",
            str(EXAMPLE_PAPER),
            "--out",
            str(tmp_path),
            "--fresh",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ]
    )
    assert code == 2 and "not a papercoder run directory" in output
    assert (tmp_path / "precious.txt").read_text() == "keep me"
