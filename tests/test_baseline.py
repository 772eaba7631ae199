"""The one-shot baselines: one call, the answer split into files, written safely into RUN_DIR/repo/.

Through the whole engine against the loopback server (``papercoder.run``), and the stage itself on the scripted
in-process model (``papercoder.testing.ScriptedModel``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import papercoder
from papercoder.errors import BudgetExceeded, StageError
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.paper import Paper, Section
from papercoder.pipeline import baseline
from papercoder.pipeline.context import RunContext
from papercoder.run_dir import Manifest, RunDir, StageRecord
from papercoder.settings import PipelineOptions
from papercoder.testing import ScriptedModel
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply, ScriptedResponder

PAPER = Paper(
    title="Prototype Networks",
    abstract="Each class is a learned prototype.",
    sections=[Section(title="Method", text="Logits are negative squared distances scaled by a temperature.")],
    source_format="markdown",
)

ANSWER = """I wrote three files.

### File: model.py
```python
class Net:
    pass
```

### File: config.yaml
```yaml
lr: 0.01
```

### File: ../x.py
```python
print("escaped")
```

### File: requirements.txt
```
numpy
```
"""


def paper_file(tmp_path: Path) -> Path:
    path = tmp_path / "paper.md"
    path.write_text(PAPER.markdown())
    return path


def run_on(srv: FakeOpenAIServer, paper: Path, out: Path, **options: object) -> papercoder.RunResult:
    async def go() -> papercoder.RunResult:
        model = OpenAICompatModel("fake-model", base_url=srv.base_url, api_key=TEST_KEY, max_retries=0)
        try:
            return await papercoder.run_async(paper, out, model=model, **options)
        finally:
            await model.aclose()

    return asyncio.run(go())


def test_paper_baseline_writes_the_files_safely(tmp_path: Path) -> None:
    paper, out = paper_file(tmp_path), tmp_path / "run"
    with FakeOpenAIServer(ScriptedResponder([Reply(content=ANSWER)])) as srv:
        result = run_on(srv, paper, out, method="paper")
        request = srv.chat_requests[0]
    written = result.files
    assert written == ["model.py", "config.yaml", "requirements.txt"]
    repo = out / "repo"
    assert sorted(p.name for p in repo.rglob("*") if p.is_file()) == ["config.yaml", "model.py", "requirements.txt"]
    assert (repo / "model.py").read_text() == "class Net:\n    pass\n"
    assert not (out / "x.py").exists() and not (tmp_path / "x.py").exists()
    assert request.headers["x-papercoder-step"] == "baseline/paper"
    user = request.body["messages"][-1]["content"]
    assert "negative squared distances" in user and "### File:" in user
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["files"] == written
    assert manifest["settings"]["method"] == "paper" and list(manifest["stages"]) == ["ingest", "coding"]
    assert manifest["stages"]["coding"]["calls"] == 1
    assert any("../x.py" in w for w in manifest["warnings"])
    assert (out / "paper" / "paper.md").read_text().startswith("# Prototype Networks")
    assert (out / "coding" / "baseline_paper.md").read_text() == ANSWER
    # A second run is served from the run's call cache.
    with FakeOpenAIServer(ScriptedResponder([])) as srv:
        assert run_on(srv, paper, out, method="paper").files == written
        assert srv.chat_requests == []


def test_abstract_baseline_sees_only_title_and_abstract(tmp_path: Path) -> None:
    seen: list[RecordedRequest] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply(content="### File: main.py\n```python\nprint(1)\n```\n")

    with FakeOpenAIServer(responder) as srv:
        assert run_on(srv, paper_file(tmp_path), tmp_path / "run", method="abstract").files == ["main.py"]
    user = seen[0].body["messages"][-1]["content"]
    assert "Each class is a learned prototype." in user and "Prototype Networks" in user
    assert "negative squared distances" not in user
    assert seen[0].headers["x-papercoder-step"] == "baseline/abstract"


def test_answer_without_files_fails_and_is_asked_again(tmp_path: Path) -> None:
    paper, out = paper_file(tmp_path), tmp_path / "run"
    prose = Reply(content="I cannot write code for this paper.")
    with FakeOpenAIServer(ScriptedResponder([prose, prose])) as srv:
        for _ in range(2):
            with pytest.raises(StageError, match="no '### File: <path>' block"):
                run_on(srv, paper, out, method="paper")
        assert len(srv.chat_requests) == 2  # the bad answer was not replayed from the cache
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["stages"]["coding"]["status"] == "failed"


def test_baselines_obey_the_budgets_and_paper_limit(tmp_path: Path) -> None:
    """Every option applies to every method: --max-tokens stops the one call before it is made."""
    with FakeOpenAIServer(ScriptedResponder([])) as srv:
        with pytest.raises(BudgetExceeded, match="--max-tokens 10"):
            run_on(srv, paper_file(tmp_path), tmp_path / "run", method="paper", max_tokens=10)
        assert srv.chat_requests == []


def scripted_context(root: Path, model: ScriptedModel) -> RunContext:
    run = RunDir(root)
    run.create()
    manifest = Manifest(stages={"coding": StageRecord()})
    return RunContext(run, CachedModel(model, CallCache(run.calls)), PipelineOptions(), manifest)


def test_the_stage_on_the_scripted_model(tmp_path: Path) -> None:
    model = ScriptedModel({"baseline/": "### File: src/net.py\n```python\nX = 1\n```\n"})
    ctx = scripted_context(tmp_path / "run", model)
    written = asyncio.run(baseline.run(ctx, baseline.baseline_messages("paper", PAPER), "baseline/paper"))
    assert written == ["src/net.py"] and (tmp_path / "run/repo/src/net.py").read_text() == "X = 1\n"
    assert model.steps == ["baseline/paper"]
    assert "negative squared distances" in model.requests[0].messages[-1]["content"]
    assert ctx.manifest.stages["coding"].status == "done" and ctx.manifest.stages["coding"].calls == 1


def test_the_abstract_baseline_needs_an_abstract() -> None:
    with pytest.raises(StageError, match="needs the paper's abstract"):
        baseline.baseline_messages("abstract", PAPER.model_copy(update={"abstract": ""}))
