"""The prompts a run sends, read off the loopback fake server: structure, not wording.

Each test runs the scripted conversation through the CLI (real HTTP, the real openai SDK) and looks at the requests
as the model would get them: which settings every call carries for a model family, what the coding turn of a file
holds from the design, what a repair call carries from the paper, and how the config answer's groups are checked.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.evaluation.judge import JUDGE_SCHEMA, JudgeResult, judge_repository, parse_sample
from papercoder.llm.families import family_of, sampling_for
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.paper.model import Paper
from papercoder.parsing.json_extract import extract_json
from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign, json_schema, parse_planning_json
from papercoder.repo.checks import static_checks
from papercoder.repo.configgroups import group_settings
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.evaluation.helpers import judge_json
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply, ScriptedResponder
from tests.scenario import ARCHITECTURE, CODE, LOGIC_TEXT, Paper2CodeScript, buggy_script

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("clean_env")

SIGNATURES = {
    "utils.py": ["def load_config(path: str) -> dict"],
    "model.py": ["class PrototypeNet: __init__(self, cfg: dict) -> None", "PrototypeNet.embed(self, x: list) -> list"],
    "main.py": ["def main() -> None"],
}
DESIGNED = dict(ARCHITECTURE, interfaces=[{"file": f, "signatures": s} for f, s in SIGNATURES.items()])
SMOKE_LOGIC = LOGIC_TEXT.replace(
    '"Anything UNCLEAR": "",',
    '"Anything UNCLEAR": "", "smoke_mode": {"files": ["main.py"], "shrinks": "two epochs on 8 synthetic samples"},',
)


def run(server: FakeOpenAIServer, out: Path, *extra: str, model: str = "fake-model") -> str:
    args = ["run", str(EXAMPLE_PAPER), "--out", str(out), "--model", model, "--base-url", server.base_url, *extra]
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": TEST_KEY})
    assert result.exit_code in (0, 4), result.output  # 4: done with problems (the buggy scenarios)
    return result.output


def step_of(request: RecordedRequest) -> str:
    return request.headers.get("x-papercoder-step", "")


def by_step(server: FakeOpenAIServer, step: str) -> RecordedRequest:
    return next(r for r in server.chat_requests if step_of(r) == step)


def last_user(request: RecordedRequest) -> str:
    content: Any = [m for m in request.messages if m["role"] == "user"][-1]["content"]
    return str(content)


def test_a_reasoning_model_gets_high_effort_and_no_temperature_in_every_request(tmp_path: Path) -> None:
    script = buggy_script()  # a repair call too
    with FakeOpenAIServer(script) as server:
        output = run(server, tmp_path / "run", "--temperature", "0.3", model="o3-mini")
    requests = server.chat_requests
    steps = {step_of(r).split("/")[0] for r in requests}
    assert {"planning", "analysis", "coding", "repair", "repo"} <= steps
    for request in requests:
        assert request.body.get("reasoning_effort") == "high", step_of(request)
        assert "temperature" not in request.body, step_of(request)
        assert request.messages[0]["role"] == "system"  # o3-mini takes a system message
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["settings"]["reasoning_effort"] == "high"
    assert manifest["settings"]["model_family"] == "openai-reasoning"
    assert manifest["settings"]["temperature"] is None
    assert any("takes no temperature" in w for w in manifest["warnings"]), output


def test_reasoning_effort_option_wins_and_a_marked_model_is_reasoning(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "low", "--reasoning-effort", "low", model="gpt-5-mini")
        efforts = {r.body.get("reasoning_effort") for r in server.chat_requests}
    assert efforts == {"low"}
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        run(server, tmp_path / "marked", "--reasoning-model", model="my-thinker")
        assert {r.body.get("reasoning_effort") for r in server.chat_requests} == {"high"}
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        run(server, tmp_path / "chat", "--temperature", "0.2", model="gpt-4.1-mini")
        bodies = [r.body for r in server.chat_requests]
    assert all("reasoning_effort" not in b and b["temperature"] == 0.2 for b in bodies)


def test_deepseek_r1_gets_no_system_role_from_the_first_call(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "run", model="deepseek-ai/DeepSeek-R1")
    requests = server.chat_requests
    assert requests and all(r.status == 200 for r in requests)  # no 400 first: folded before the first call
    for request in requests:
        assert all(m["role"] != "system" for m in request.messages), step_of(request)
        assert request.body.get("temperature") == 0.6 and "reasoning_effort" not in request.body
    # The system text opens the first user turn, so the shared prefix stays byte-identical across a stage's calls.
    first = [r.messages[0]["content"] for r in requests if step_of(r).startswith(("analysis/", "coding/"))]
    assert len(set(first)) == 1 and "research engineer" in first[0]


def test_coding_prompt_carries_the_design_signatures_of_its_file_and_smoke_only_where_planned(tmp_path: Path) -> None:
    script = Paper2CodeScript(architecture=DESIGNED, logic_text=SMOKE_LOGIC)
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "run")
    architecture_ask = last_user(by_step(server, "planning/architecture"))
    assert '"interfaces"' in architecture_ask and '"sequence_diagram"' in architecture_ask
    assert '"smoke_mode"' in last_user(by_step(server, "planning/logic"))
    assert "unstated" in last_user(by_step(server, "planning/config"))
    for path, signatures in SIGNATURES.items():
        turn = last_user(by_step(server, f"coding/{path}"))
        design = turn.split("Its interface in the design", 1)[1].split("Its analysis:", 1)[0]
        for signature in signatures:
            assert f"`{signature}`" in design, (path, signature)
        others = [s for p, ss in SIGNATURES.items() if p != path for s in ss]
        assert not any(s in design for s in others), path
        assert ("PAPERCODER_SMOKE" in turn) == (path == "main.py"), path
        assert "two epochs on 8 synthetic samples" in turn if path == "main.py" else True
        assert "Before you answer, check" in turn  # the self-check
    saved = ArchitectureDesign.model_validate_json((tmp_path / "run/planning/2_architecture.json").read_text())
    assert saved.signatures_for("model.py") == SIGNATURES["model.py"]


def test_repair_prompt_carries_the_paper_section_and_plan_part_of_its_files(tmp_path: Path) -> None:
    script = buggy_script()
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "run")
    repair = last_user(by_step(server, "repair/checks"))
    paper = Paper.model_validate_json((tmp_path / "run/paper/paper.json").read_text())
    shown = [s for s in paper.sections if s.text.strip() and s.text.strip()[:200] in repair]
    assert shown, "no section of the paper in the repair prompt"
    assert "=== END OF EXCERPTS ===" in repair
    assert "`main.py`: Entry point; imports model and utils." in repair  # the logic design's entry for main.py


def test_reproduce_prompt_carries_the_entry_point_code_and_config(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "run")
    prompt = last_user(by_step(server, "repo/reproduce"))
    assert CODE["main.py"].strip() in prompt and "hidden_width: 64" in prompt


UNSTATED_CONFIG = (
    "model:\n  hidden_width: 64\ntraining:\n  learning_rate: 0.01\n"
    "unstated:\n  seed: 7  # our choice: any fixed seed\n  batch_size: 32\n"
    "smoke:\n  max_steps: 2  # our choice\n"
)


def test_the_config_answers_unstated_group_is_parsed_and_checked(tmp_path: Path) -> None:
    code = dict(CODE)
    code["model.py"] += (
        "\n\ndef seeded(cfg: dict) -> int:\n    return cfg['training']['seed'] + cfg.get('warmup', 0)\n"
        "\n\ndef steps(cfg: dict) -> int:\n    return cfg['unstated'].get('epochs', 3) + cfg['smoke']['max_steps']\n"
    )
    script = Paper2CodeScript(code=code, replies={"planning/config": "```yaml\n" + UNSTATED_CONFIG + "```\n"})
    with FakeOpenAIServer(script) as server:
        run(server, tmp_path / "run")
    text = (tmp_path / "run/repo/config.yaml").read_text()
    settings = {s.key: s for s in group_settings(text, "unstated") or []}
    assert settings["unstated.seed"].comment == "our choice: any fixed seed" and settings["unstated.seed"].line == 6
    assert settings["unstated.batch_size"].comment == ""
    findings = json.loads((tmp_path / "run/checks.json").read_text())["findings"]
    config = [f for f in findings if f["kind"] == "config"]
    # The uncommented choice is reported on its line; the commented one and the optional reads are not.
    assert {(f["path"], f["line"]) for f in config if "without a comment" in f["message"]} == {("config.yaml", 7)}
    misplaced = [f for f in config if f["path"] == "model.py"]
    assert len(misplaced) == 1 and "training.seed" in misplaced[0]["message"]
    assert "unstated.seed" in misplaced[0]["message"]


def test_a_name_used_through_a_module_that_no_file_defines_is_reported(tmp_path: Path) -> None:
    (tmp_path / "utils.py").write_text("def load_config(path: str) -> dict:\n    return {}\n")
    (tmp_path / "main.py").write_text(
        "import utils\nimport model as m\n\n\ndef main(model: object) -> None:\n"
        "    cfg = utils.load_configuration('config.yaml')\n    utils.load_config('x')\n    m.Net(cfg)\n"
    )
    (tmp_path / "model.py").write_text("class Network:\n    pass\n")
    found = [(f.kind, f.path, f.line, f.message) for f in static_checks(tmp_path)]
    assert (
        "import",
        "main.py",
        6,
        "uses utils.load_configuration, but utils.py defines no load_configuration (did you mean load_config?)",
    ) in found
    assert any(f[3].startswith("uses model.Net, but model.py defines no Net") for f in found)
    assert not any("load_config'" in f[3] or "uses utils.load_config," in f[3] for f in found)


def test_family_table_and_old_answers() -> None:
    assert family_of("openai/o3-mini").effort and not family_of("o1-mini").system_role
    assert family_of("gpt-5-chat-latest").name == "gpt-5-chat" and family_of("gpt-4o").name == "chat"
    assert sampling_for("o3-mini", None, None).reasoning_effort == "high"
    assert sampling_for("deepseek-r1", "high", None).reasoning_effort is None  # R1 takes no effort
    # An architecture and a logic design from before interfaces and the smoke plan were asked for still parse.
    old = parse_planning_json(ARCHITECTURE, ArchitectureDesign)
    assert old.interfaces == [] and old.signatures_for("main.py") == []
    logic = parse_planning_json(extract_json(LOGIC_TEXT), LogicDesign)
    assert logic.smoke_mode.files == []
    # A compact run (small local model) neither asks for them nor puts them in its JSON schema.
    assert "interfaces" not in json_schema(ArchitectureDesign, omit=ArchitectureDesign.COMPACT_OMIT)["properties"]
    assert "$defs" not in json_schema(ArchitectureDesign, omit=ArchitectureDesign.COMPACT_OMIT)


def test_a_reasoning_judge_runs_at_high_effort_ties_critiques_to_files_and_ends_with_the_format() -> None:
    critique = {"component": "encoder", "file": "model.py", "function": "PrototypeNet.embed", "severity": "high"}
    answer = json.dumps({"components": ["encoder"], "critiques": [{**critique, "comment": "absent"}], "score": 2})
    with FakeOpenAIServer(ScriptedResponder([Reply(content=answer)])) as server:

        async def judge() -> JudgeResult:
            model = OpenAICompatModel("o3-mini", base_url=server.base_url, api_key="sk-test", max_retries=0)
            try:
                return await judge_repository(model, "# A paper\n\nText.", {"model.py": "x = 1\n"}, n=1)
            finally:
                await model.aclose()

        result = asyncio.run(judge())
    (request,) = server.chat_requests
    assert request.body["reasoning_effort"] == "high" and "temperature" not in request.body
    prompt = last_user(request)
    assert prompt.rindex('"function"') > prompt.index("x = 1")  # the answer's shape is restated after the repo
    assert result.critiques[0].file == "model.py" and result.critiques[0].function == "PrototypeNet.embed"
    assert '"file"' in json.dumps(JUDGE_SCHEMA) and parse_sample(0, judge_json(3)).valid  # old answers still parse
