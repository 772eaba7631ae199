"""The one-shot baselines: one call, the answer split into files, written safely into RUN_DIR/repo/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercoder.errors import StageError
from papercoder.paper import Paper, Section
from papercoder.pipeline.baseline import run_baseline
from papercoder.run import RunDir
from tests.evaluation.helpers import with_model
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


def test_paper_baseline_writes_the_files_safely(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    with FakeOpenAIServer(ScriptedResponder([Reply(content=ANSWER)])) as srv:
        written = with_model(srv, lambda m: run_baseline("paper", PAPER, m, run))
        request = srv.chat_requests[0]
    assert written == ["model.py", "config.yaml", "requirements.txt"]
    repo = tmp_path / "run" / "repo"
    assert sorted(p.name for p in repo.rglob("*") if p.is_file()) == ["config.yaml", "model.py", "requirements.txt"]
    assert (repo / "model.py").read_text() == "class Net:\n    pass\n"
    assert not (tmp_path / "run" / "x.py").exists() and not (tmp_path / "x.py").exists()
    assert request.headers["x-papercoder-step"] == "baseline/paper"
    user = request.body["messages"][-1]["content"]
    assert "negative squared distances" in user and "### File:" in user
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["files"] == written
    assert manifest["settings"]["method"] == "paper"
    assert manifest["stages"]["coding"]["calls"] == 1
    assert any("../x.py" in w for w in manifest["warnings"])
    assert (tmp_path / "run" / "paper" / "paper.md").read_text().startswith("# Prototype Networks")
    assert (tmp_path / "run" / "coding" / "baseline_paper.md").read_text() == ANSWER
    # A second run is served from the run's call cache.
    with FakeOpenAIServer(ScriptedResponder([])) as srv:
        assert with_model(srv, lambda m: run_baseline("paper", PAPER, m, run)) == written
        assert srv.chat_requests == []


def test_abstract_baseline_sees_only_title_and_abstract(tmp_path: Path) -> None:
    seen: list[RecordedRequest] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply(content="### File: main.py\n```python\nprint(1)\n```\n")

    with FakeOpenAIServer(responder) as srv:
        assert with_model(srv, lambda m: run_baseline("abstract", PAPER, m, RunDir(tmp_path))) == ["main.py"]
    user = seen[0].body["messages"][-1]["content"]
    assert "Each class is a learned prototype." in user and "Prototype Networks" in user
    assert "negative squared distances" not in user
    assert seen[0].headers["x-papercoder-step"] == "baseline/abstract"


def test_answer_without_files_fails_and_is_asked_again(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    prose = Reply(content="I cannot write code for this paper.")
    with FakeOpenAIServer(ScriptedResponder([prose, prose])) as srv:
        for _ in range(2):
            with pytest.raises(StageError, match="no '### File: <path>' block"):
                with_model(srv, lambda m: run_baseline("paper", PAPER, m, run))
        assert len(srv.chat_requests) == 2  # the bad answer was not replayed from the cache
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["stages"]["coding"]["status"] == "failed"
