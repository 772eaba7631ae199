"""``eval``, ``grade`` and ``stats`` through typer, against the fake server; target detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from papercoder._cli import bench, evaluate
from papercoder.evaluation.repofiles import read_repo, resolve_target
from tests.conftest import TEST_KEY
from tests.evaluation.helpers import judge_json
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    evaluate.register(app)
    bench.register(app)
    return app


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(make_app(), list(args), env={"OPENAI_API_KEY": TEST_KEY})
    return result.exit_code, result.output


def make_run_dir(root: Path) -> Path:
    (root / "repo").mkdir(parents=True)
    (root / "paper").mkdir()
    (root / "manifest.json").write_text("{}")
    (root / "paper" / "paper.md").write_text("# Tiny paper\n\nA prototype classifier.\n")
    (root / "repo" / "model.py").write_text("class Net:\n    pass\n")
    (root / "repo" / "weights.bin").write_bytes(b"\x00\x01")
    return root


def judge_server(score: object = 4) -> FakeOpenAIServer:
    def responder(request: RecordedRequest) -> list[Reply] | Reply:
        n = request.body.get("n", 1)
        return [Reply(content=judge_json(score)) for _ in range(n)] if n > 1 else Reply(content=judge_json(score))

    return FakeOpenAIServer(responder)


def model_args(srv: FakeOpenAIServer) -> list[str]:
    return ["--judge-model", "fake-model", "--base-url", srv.base_url]


@pytest.mark.usefixtures("clean_env")
def test_eval_on_a_run_dir(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    with judge_server() as srv:
        code, output = invoke("eval", str(run), "-n", "3", *model_args(srv))
        assert code == 0, output
        user = srv.chat_requests[0].body["messages"][-1]["content"]
    assert "score 4.00" in output and "valid 3/3" in output
    assert "samples" in output and "3/3" in output  # the live bar counted the judge's samples
    saved = json.loads((run / "eval" / "ref-free.json").read_text())
    assert saved["mean"] == 4.0 and saved["files"] == ["model.py"] and saved["meta"]["skipped"] == ["weights.bin"]
    assert "A prototype classifier." in user
    assert list((run / "eval" / "calls").glob("*.json"))  # the judge's calls are cached beside the result


@pytest.mark.usefixtures("clean_env")
def test_eval_ref_based_and_option_errors(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "net.py").write_text("class GoldNet: ...\n")
    with judge_server(5) as srv:
        code, output = invoke("eval", str(run), "--gold", str(gold), "-n", "2", *model_args(srv))
        assert code == 0, output
        assert "GoldNet" in srv.chat_requests[0].body["messages"][-1]["content"]
        assert json.loads((run / "eval" / "ref-based.json").read_text())["mode"] == "ref-based"
        code, output = invoke("eval", str(run), "--mode", "ref-based", *model_args(srv))
        assert code == 2 and "--gold" in output
        code, output = invoke(
            "eval",
            str(run),
            "--context-tokens",
            "1000",
            "-n",
            "2",
            *model_args(srv),
            "--paper",
            str(write_paper(tmp_path, words=3000)),
        )
        assert code == 2 and "--max-files" in output
        code, output = invoke("eval", str(tmp_path / "missing"), *model_args(srv))
        assert code == 2 and "not found" in output


@pytest.mark.usefixtures("clean_env")
def test_eval_with_no_valid_sample_exits_1(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    with judge_server("five") as srv:
        code, output = invoke("eval", str(run), "-n", "2", *model_args(srv))
    assert code == 1 and "none of the 2 judge samples" in output


def write_paper(folder: Path, words: int = 20) -> Path:
    path = folder / "paper.md"
    path.write_text("# A paper\n\n## Abstract\n\nWe study prototypes.\n\n## Method\n\n" + "word " * words + "\n")
    return path


@pytest.mark.usefixtures("clean_env")
def test_paper2code_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "outputs" / "Transformer"
    out.mkdir(parents=True)
    (out / "planning_trajectories.json").write_text("[]")
    (out / "planning_config.yaml").write_text("d_model: 512\n")
    repo = tmp_path / "outputs" / "Transformer_repo"
    repo.mkdir()
    (repo / "model.py").write_text("class Transformer: ...\n")
    target = resolve_target(out)
    assert (target.kind, target.repo, target.paper) == ("paper2code", repo, None)
    assert read_repo(target.repo, extra=target.extra).files == {
        "model.py": "class Transformer: ...\n",
        "config.yaml": "d_model: 512\n",
    }
    with judge_server() as srv:
        code, output = invoke("eval", str(out), *model_args(srv))
        assert code == 2 and "--paper" in output
        code, output = invoke("eval", str(out), "-n", "1", "--paper", str(write_paper(tmp_path)), *model_args(srv))
        assert code == 0, output
        assert "d_model: 512" in srv.chat_requests[0].body["messages"][-1]["content"]
    assert (out / "eval" / "ref-free.json").is_file()


def test_plain_folder_target_and_file_selection(tmp_path: Path) -> None:
    repo = tmp_path / "myrepo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("a = 1\n")
    (repo / "b.py").write_text("b = 1\n")
    (repo / "README.md").write_text("# readme\n")
    (repo / "setup.yaml").write_text("x: 1\n")
    target = resolve_target(repo)
    assert target.kind == "folder" and target.eval_dir == tmp_path / "myrepo_eval"
    assert list(read_repo(repo, max_files=2).files) == ["b.py", "src/a.py"]  # code first, shallow first
    assert list(read_repo(repo, include=["src/*"]).files) == ["src/a.py"]
    assert list(read_repo(repo, include=["*.md"]).files) == ["README.md"]


@pytest.mark.usefixtures("clean_env")
def test_grade_command(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    rubric = tmp_path / "rubric.json"
    rubric.write_text(
        json.dumps(
            {
                "id": "root",
                "requirements": "reproduce",
                "weight": 1,
                "task_category": None,
                "sub_tasks": [
                    {
                        "id": "net",
                        "requirements": "Net class",
                        "weight": 1,
                        "sub_tasks": [],
                        "task_category": "Code Development",
                    },
                    {
                        "id": "ran",
                        "requirements": "it ran",
                        "weight": 1,
                        "sub_tasks": [],
                        "task_category": "Code Execution",
                    },
                ],
            }
        )
    )
    with FakeOpenAIServer(lambda r: Reply(content='{"explanation": "yes", "score": 1}')) as srv:
        code, output = invoke(
            "grade", str(run), "--rubric", str(rubric), "--category", "code-development", *model_args(srv)
        )
        assert code == 0, output
        assert [r.headers["x-papercoder-step"] for r in srv.chat_requests] == ["grade/net"]
        assert "leafs" not in output and "1/1" in output  # one Code-Dev leaf, counted on the live bar
    saved = json.loads((run / "eval" / "rubric-code-development.json").read_text())
    assert saved["score"] == 1.0 and saved["tree"]["sub_tasks"][0]["id"] == "net"
