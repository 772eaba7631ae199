"""The refine loop end to end against the loopback server: a scripted grader and fixer, real HTTP, real run dirs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.errors import ModelError
from papercoder.evaluation.rubric import JudgeSettings
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.pipeline.debugging import open_run
from papercoder.pipeline.refine import RefineOptions, RefineResult
from papercoder.pipeline.refine import run as refine_run
from papercoder.repo.files import snapshot
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import Answer, DropConnection, FakeOpenAIServer, RecordedRequest
from tests.refine_script import Leaf, RefineScript, edit, rubric_tree
from tests.scenario import CODE
from tests.test_rundir import subprocess_cli

runner = CliRunner()

TEMP = Leaf("temp", "self.temperature", "model.py")
PROTO = Leaf("proto", "def prototypes(", "model.py")
HIDDEN = Leaf("hidden", "hidden_width", "model.py")
LOSS = Leaf("loss", "def prototype_loss(", "utils.py")
CONFIG = Leaf("config", "yaml.safe_load", "utils.py", weight=2)
GROUPS = {"A": (2.0, [TEMP, PROTO, HIDDEN]), "B": (1.0, [LOSS, CONFIG])}

MODEL_LINE = "        self.hidden = cfg['model']['hidden_width']"
MODEL_FIX = MODEL_LINE + (
    "\n        self.temperature = 1.0\n\n    def prototypes(self, points: list) -> list:\n        return points"
)
UTILS_NOTE = edit(
    "utils.py", "def load_config(path: str) -> dict:", "# Reads config.yaml.\ndef load_config(path: str) -> dict:"
)
UTILS_BREAK = edit(
    "utils.py",
    "        return yaml.safe_load(fh)",
    "        return {}\n\n\ndef prototype_loss(distances: list) -> float:\n    return -min(distances)",
)
EDITS = {
    "refine/round-01/model.py": "Adds the temperature and the prototypes.\n\n"
    + edit("model.py", MODEL_LINE, MODEL_FIX),
    "refine/round-01/utils.py": UTILS_NOTE,
    "refine/round-02/utils.py": UTILS_BREAK,
}
AFTER_ROUND_1 = {
    **CODE,
    "model.py": CODE["model.py"].replace(MODEL_LINE, MODEL_FIX),
    "utils.py": CODE["utils.py"].replace("def load_config", "# Reads config.yaml.\ndef load_config"),
}


def make_run(server: FakeOpenAIServer, out: Path) -> None:
    args = ["run", str(EXAMPLE_PAPER), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url]
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.output


def refine(server: FakeOpenAIServer, out: Path, rubric: Path | None, rounds: int) -> RefineResult:
    async def main() -> RefineResult:
        model = OpenAICompatModel("fake-model", base_url=server.base_url, api_key="sk-test", max_retries=0)
        try:
            options = RefineOptions(rounds=rounds, rubric=rubric, judging=JudgeSettings(top_k=10))
            return await refine_run(open_run(out, model), options, model)
        finally:
            await model.aclose()

    return asyncio.run(main())


def code_of(out: Path) -> dict[str, str]:
    return {p: t for p, t in snapshot(out / "repo").items() if p in CODE}


def paid(server: FakeOpenAIServer) -> list[tuple[str, str]]:
    """(step, hash of the messages) of every chat request answered 200."""
    return [
        (r.headers["x-papercoder-step"], hashlib.sha256(json.dumps(r.body["messages"]).encode()).hexdigest())
        for r in server.chat_requests
        if r.status == 200
    ]


def setup(tmp_path: Path, script: RefineScript) -> tuple[Path, Path]:
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(rubric_tree(GROUPS)))
    return tmp_path / "run", rubric


@pytest.mark.usefixtures("clean_env")
def test_two_of_three_fixed_then_a_regression_is_rolled_back(tmp_path: Path) -> None:
    script = RefineScript(leaves={x.id: x for _, xs in GROUPS.values() for x in xs}, edits=dict(EDITS))
    out, rubric = setup(tmp_path, script)
    with FakeOpenAIServer(script) as server:
        make_run(server, out)
        before = len(server.chat_requests)
        result = refine(server, out, rubric, rounds=3)
        requests = server.chat_requests[before:]
    # Before: A = (0 + 0 + 1)/3, B = (0 + 2·1)/3, root = (2·1/3 + 1·2/3)/3 = 4/9. Round 1 fixes temp and proto:
    # A = 1, root = (2 + 2/3)/3 = 8/9. Round 2 fixes loss but breaks config: B = 1/3, root 7/9 < 8/9: rolled back.
    assert result.scores == pytest.approx([4 / 9, 8 / 9, 8 / 9])
    assert result.scores[1] - result.scores[0] == pytest.approx(4 / 9)
    assert result.stopped == "no leaf changed" and result.rolled_back == ["round 2: utils.py"]
    assert code_of(out) == AFTER_ROUND_1  # byte-identical to the repository before round 2
    second = json.loads((out / "refine" / "round-02" / "round.json").read_text())
    [entry] = second["files"]
    assert entry["status"] == "rolled-back" and "config" in entry["reason"]
    assert entry["score_after"] == pytest.approx(7 / 9)
    assert (out / "refine" / "round-02" / "round.diff").read_text() == ""
    assert "self.temperature = 1.0" in (out / "refine" / "round-01" / "round.diff").read_text()
    summary = json.loads((out / "refine" / "summary.json").read_text())
    rows = {row["id"]: row["verdicts"] for row in summary["leaves"]}
    assert rows == {"temp": [0, 1, 1], "proto": [0, 1, 1], "hidden": [1, 1, 1], "loss": [0, 0, 0], "config": [1, 1, 1]}
    assert summary["label"] == "given rubric" and not summary["derived"]
    html = (out / "report.html").read_text()  # the report shows the rounds and the leaf table
    assert 'id="refine"' in html and "requirement temp" in html and 'href="#file-model-py"' in html
    # What the fixer saw for model.py: its failed requirements with the grader's reasons, the file, its neighbours.
    prompt = next(r for r in requests if r.headers["x-papercoder-step"] == "refine/round-01/model.py")
    text = prompt.last_user_content
    assert "[temp] requirement temp" in text and "[proto] requirement proto" in text and "model.py lacks it" in text
    assert MODEL_LINE in text and "def load_config(path: str) -> dict" in text  # utils.py's interface
    assert "[loss]" not in text
    # Calls: 5 leaves graded; round 1: utils.py (1 + loss and the 2 passing leaves shown utils.py), model.py (1 +
    # temp, proto and the 2 passing leaves); round 2: utils.py (1 + loss and the 4 passing leaves).
    steps = [r.headers["x-papercoder-step"] for r in requests]
    assert sum(s.startswith("refine/") for s in steps) == 3
    assert sum(s.startswith("grade/") for s in steps) == 5 + 3 + 4 + 5


@pytest.mark.usefixtures("clean_env")
def test_kill_during_a_round_and_resume(tmp_path: Path) -> None:
    leaves = {x.id: x for _, xs in GROUPS.values() for x in xs}
    clean = RefineScript(leaves=leaves, edits=dict(EDITS))
    with FakeOpenAIServer(clean) as server:
        make_run(server, tmp_path / "whole")
        before = len(server.chat_requests)
        refine(server, tmp_path / "whole", *setup(tmp_path, clean)[1:], rounds=3)
        uninterrupted = paid(server)[before:]

    # utils.py is edited first in round 1; the call for model.py then fails: the round dies half done.
    script = RefineScript(leaves=leaves, edits=dict(EDITS), fail_once={"refine/round-01/model.py"})
    out, rubric = tmp_path / "run", tmp_path / "rubric.json"
    with FakeOpenAIServer(script) as server:
        make_run(server, out)
        before = len(server.chat_requests)
        with pytest.raises(ModelError):
            refine(server, out, rubric, rounds=3)
        assert "# Reads config.yaml." in (out / "repo" / "utils.py").read_text()
        assert json.loads((out / "refine" / "state.json").read_text())["status"] == "running"
        result = refine(server, out, rubric, rounds=3)
        answered = paid(server)[before:]
    assert len(answered) == len(set(answered))  # no call paid twice
    assert sorted(answered) == sorted(uninterrupted)
    assert code_of(out) == code_of(tmp_path / "whole") == AFTER_ROUND_1
    assert result.scores == pytest.approx([4 / 9, 8 / 9, 8 / 9])


COMPONENTS = json.dumps(
    {
        "components": [
            {"name": "Encoder", "summary": "the MLP", "weight": 2, "sections": ["2 Method"]},
            {"name": "Evaluation", "summary": "accuracy and ECE", "weight": 1, "sections": ["3 Experimental Setup"]},
        ]
    }
)
LEAVES_1 = json.dumps(
    {
        "leaves": [
            {"requirement": "The encoder has a hidden width of 64.", "section": "2 Method", "weight": 2},
            {"requirement": "A learned temperature scales distances.", "section": "2 Method", "weight": 1},
        ]
    }
)
LEAVES_2 = json.dumps(
    {
        "leaves": [
            {"requirement": "ECE uses 10 equal-width bins.", "section": "3 Experimental Setup", "weight": 1},
            {"requirement": "the encoder has a hidden width of 64", "section": "2 Method", "weight": 1},
        ]
    }
)


@pytest.mark.usefixtures("clean_env")
def test_unusable_answers_end_the_loop_cleanly_on_a_derived_rubric(tmp_path: Path) -> None:
    leaves = {
        "c01.01": Leaf("c01.01", "hidden_width", "model.py"),
        "c01.02": Leaf("c01.02", "self.temperature", "model.py"),
        "c02.01": Leaf("c02.01", "def ece(", "main.py"),
    }
    derive = {"rubric/components": COMPONENTS, "rubric/leaves/c01": LEAVES_1, "rubric/leaves/c02": LEAVES_2}
    # The second component's first answer is not a valid list of leaves: one repair turn, then it is.
    queue = {"rubric/leaves/c02": [json.dumps({"leaves": [{"requirement": "x", "weight": -1}]})]}
    script = RefineScript(leaves=leaves, derive=derive, derive_queue=queue)
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        make_run(server, out)
        repo_before = snapshot(out / "repo")
        args = ["refine", str(out), "--rounds", "2", "--base-url", server.base_url, "--json"]
        result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
        repair = [r for r in server.chat_requests if r.headers["x-papercoder-step"] == "rubric/leaves/c02"]
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert outcome["stopped"] == "no leaf changed" and outcome["rounds"] == 1
    assert outcome["label"] == "self-derived rubric (not a PaperBench score)" and outcome["derived"]
    assert snapshot(out / "repo") == repo_before
    assert "not PaperBench scores" in (out / "report.html").read_text()
    tree = json.loads((out / "rubric" / "rubric.json").read_text())
    # The duplicate hidden-width requirement is merged into the first (weights added), the tree keeps three leaves.
    first = tree["sub_tasks"][0]["sub_tasks"][0]
    assert (first["id"], first["weight"], first["section"]) == ("c01.01", 3.0, "2 Method")
    assert [leaf["id"] for c in tree["sub_tasks"] for leaf in c["sub_tasks"]] == ["c01.01", "c01.02", "c02.01"]
    assert len(repair) == 2 and "could not be used" in repair[1].last_user_content
    record = json.loads((out / "refine" / "round-01" / "round.json").read_text())
    assert {e["status"] for e in record["files"]} == {"unusable"}
    assert json.loads((out / "refine" / "summary.json").read_text())["scores"] == pytest.approx([0.5, 0.5])
    # The prompt cites the paper section the derived leaf names.
    prompt = next(r for r in server.chat_requests if r.headers["x-papercoder-step"] == "refine/round-01/model.py")
    assert "## 2 Method" in prompt.last_user_content and "softplus" in prompt.last_user_content


@pytest.mark.usefixtures("clean_env")
def test_a_derived_rubric_invalid_twice_is_one_line_naming_the_step(tmp_path: Path) -> None:
    bad = json.dumps({"components": []})
    script = RefineScript(derive={"rubric/components": bad})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        make_run(server, out)
        args = ["refine", str(out), "--base-url", server.base_url, "--quiet"]
        result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
        asked = [r for r in server.chat_requests if r.headers["x-papercoder-step"] == "rubric/components"]
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in result.output
    assert line.startswith("error: rubric step 'rubric/components' gave an invalid rubric twice")
    assert len(asked) == 2
    assert not (out / "rubric" / "rubric.json").exists()


@pytest.mark.usefixtures("clean_env")
def test_run_with_refine_ends_with_the_refine_line(tmp_path: Path) -> None:
    script = RefineScript(leaves={x.id: x for _, xs in GROUPS.values() for x in xs}, edits=dict(EDITS))
    out, rubric = setup(tmp_path, script)
    with FakeOpenAIServer(script) as server:
        args = ["run", str(EXAMPLE_PAPER), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url]
        result = runner.invoke(
            app, [*args, "--refine", "1", "--rubric", str(rubric), "--json"], env={"OPENAI_API_KEY": TEST_KEY}
        )
    assert result.exit_code == 0, result.output
    refined = json.loads(result.output)["refine"]
    assert refined["rounds"] == 1 and refined["label"] == "given rubric"
    assert refined["scores"][1] > refined["scores"][0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["refine"]["status"] == "done" and manifest["stages"]["refine-grading"]["calls"] > 0


class HoldOnce:
    """The refine script, but the first request for ``step`` is held (never answered while the test runs): the
    client is SIGKILLed while it waits, as a real kill lands mid-call."""

    def __init__(self, inner: RefineScript, step: str) -> None:
        self.inner, self.step = inner, step
        self.arrived, self.release = threading.Event(), threading.Event()

    def __call__(self, request: RecordedRequest) -> Answer:
        if unquote(request.headers.get("x-papercoder-step", "")) == self.step and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(120)
            return DropConnection()
        return self.inner(request)


@pytest.mark.usefixtures("clean_env")
def test_sigkill_during_a_round_then_resume_pays_no_call_twice(tmp_path: Path) -> None:
    leaves = {x.id: x for _, xs in GROUPS.values() for x in xs}
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(rubric_tree(GROUPS)))

    def cli_refine(server: FakeOpenAIServer, out: Path) -> list[str]:
        return ["refine", str(out), "--rounds", "3", "--rubric", str(rubric), "--base-url", server.base_url]

    with FakeOpenAIServer(RefineScript(leaves=leaves, edits=dict(EDITS))) as server:
        make_run(server, tmp_path / "whole")
        before = len(server.chat_requests)
        result = runner.invoke(app, cli_refine(server, tmp_path / "whole"), env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        uninterrupted = paid(server)[before:]

    out = tmp_path / "run"
    gate = HoldOnce(RefineScript(leaves=leaves, edits=dict(EDITS)), "refine/round-01/model.py")
    with FakeOpenAIServer(gate) as server:
        make_run(server, out)
        before = len(server.chat_requests)
        proc = subprocess_cli(cli_refine(server, out))
        try:
            assert gate.arrived.wait(120), proc.communicate(timeout=5)[0]
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            proc.kill()
        assert json.loads((out / "refine" / "state.json").read_text())["status"] == "running"
        result = runner.invoke(app, cli_refine(server, out), env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        answered = paid(server)[before:]  # the held call is still unanswered: the killed process never got it
        gate.release.set()
    assert len(answered) == len(set(answered))  # no call paid twice
    assert sorted(answered) == sorted(uninterrupted)
    assert code_of(out) == code_of(tmp_path / "whole")
