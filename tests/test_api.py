"""The public API: ``papercoder.run`` with a custom ``ChatModel`` (the scripted in-process model), every method of
the stage table, typed events, options checked in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import papercoder
from papercoder.errors import InputError
from papercoder.testing import ScriptedModel, UnscriptedStep
from tests.conftest import EXAMPLE_PAPER
from tests.scenario import Paper2CodeScript

ONE_SHOT = "### File: main.py\n```python\nprint('one shot')\n```\n"


def scripted() -> ScriptedModel:
    """The loopback scenario's answers, served in process."""
    script = Paper2CodeScript()
    return ScriptedModel(
        {}, default=lambda step, messages: ONE_SHOT if step.startswith("baseline/") else script.answer(step)
    )


def test_run_with_a_custom_model_object(tmp_path: Path) -> None:
    model = scripted()
    events: list[papercoder.Event] = []
    result = papercoder.run(EXAMPLE_PAPER, tmp_path / "run", model=model, on_event=events.append)
    assert isinstance(result, papercoder.RunResult)
    assert result.status == "done" and result.files == ["utils.py", "model.py", "main.py"]
    assert result.calls == len(model.requests) == 11 and result.usage.prompt_tokens > 0
    assert result.cost is None and not model.closed  # an unknown model's price; the caller's object stays open
    assert model.steps[:4] == ["planning/plan", "planning/architecture", "planning/logic", "planning/config"]
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert list(manifest["stages"]) == list(papercoder.METHODS["papercoder"].stage_names)
    assert manifest["model"] == {**manifest["model"], "name": "scripted/model", "provider": "custom"}
    # Typed events: each stage's first call comes after its start; a file event for each repository file.
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("StageStarted") < kinds.index("CallStarted")
    finished = [e for e in events if isinstance(e, papercoder.StageFinished)]
    assert [e.stage for e in finished] == ["planning", "analysis", "coding", "checks", "reproduce"]
    assert all(e.status == "done" for e in finished)
    written = {e.path for e in events if isinstance(e, papercoder.FileWritten)}
    assert {"repo/main.py", "repo/reproduce.sh", "planning/1_plan.md"} <= written
    calls = [e for e in events if isinstance(e, papercoder.CallFinished)]
    assert len(calls) == 11 and sum(e.usage.completion_tokens for e in calls) == result.usage.completion_tokens
    logged = [json.loads(line) for line in (tmp_path / "run/events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in logged] == [e.kind for e in events]
    # The same run again resumes: finished stages loaded, the rest from the call cache, no new request.
    again = papercoder.run(EXAMPLE_PAPER, tmp_path / "run", model=model)
    assert again.calls == 11 and again.cached_calls > 0 and len(model.requests) == 11


@pytest.mark.parametrize(
    ("method", "steps"),
    [
        ("paper", ["baseline/paper"]),
        ("coding-only", ["baseline/paper", "repo/reproduce"]),
        ("with-plan", ["planning/plan", "baseline/plan", "repo/reproduce"]),
        ("with-architecture", ["planning/plan", "planning/architecture", "coding/", "repo/reproduce"]),
        ("with-logic", ["planning/plan", "planning/architecture", "planning/logic", "coding/", "repo/reproduce"]),
    ],
)
def test_every_method_runs_its_stage_list(tmp_path: Path, method: str, steps: list[str]) -> None:
    model = scripted()
    result = papercoder.run(EXAMPLE_PAPER, tmp_path / method, model=model, method=method)
    assert result.status == "done" and result.method == method
    asked = list(dict.fromkeys("coding/" if s.startswith("coding/") else s for s in model.steps))
    assert asked == steps
    manifest = json.loads((tmp_path / method / "manifest.json").read_text())
    assert list(manifest["stages"]) == papercoder.METHODS[method].stage_names
    if method in ("with-architecture", "with-logic"):
        assert not (tmp_path / method / "repo/config.yaml").exists()  # no configuration turn: no config.yaml


def test_every_option_reaches_every_method(tmp_path: Path) -> None:
    with pytest.raises(papercoder.PapercoderError, match="--max-tokens 10"):
        papercoder.run(EXAMPLE_PAPER, tmp_path / "a", model=scripted(), method="abstract", max_tokens=10)
    result = papercoder.run(EXAMPLE_PAPER, tmp_path / "b", model=scripted(), method="paper", max_paper_tokens=100)
    assert any("condensed" in w for w in result.warnings)


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown option 'colour'"):
        papercoder.run(EXAMPLE_PAPER, tmp_path, model=scripted(), colour="red")
    with pytest.raises(InputError, match="coding_order='random'"):
        papercoder.run(EXAMPLE_PAPER, tmp_path, model=scripted(), coding_order="random")
    with pytest.raises(InputError, match="--method nope: use one of papercoder, paper"):
        papercoder.run(EXAMPLE_PAPER, tmp_path, model=scripted(), method="nope")
    with pytest.raises(InputError, match=r"papercoder\.ChatModel protocol"):
        papercoder.run(EXAMPLE_PAPER, tmp_path, model=object())  # type: ignore[arg-type]


def test_scripted_model_fails_on_an_unscripted_step() -> None:
    import asyncio

    from papercoder.llm.base import CallSettings

    model = ScriptedModel({"planning/": "a plan", "planning/plan": "the plan"})
    done = asyncio.run(model.complete([{"role": "user", "content": "x y"}], CallSettings(step="planning/plan")))
    assert done.text == "the plan" and done.usage.prompt_tokens == 2
    assert asyncio.run(model.complete([], CallSettings(step="planning/logic"))).text == "a plan"
    with pytest.raises(UnscriptedStep, match=r"coding/main\.py"):
        asyncio.run(model.complete([], CallSettings(step="coding/main.py")))


def test_estimate_rows_come_from_the_stage_table() -> None:
    full = papercoder.estimate(EXAMPLE_PAPER, model="fake-model", base_url="http://127.0.0.1:9/v1")
    assert [r.stage for r in full.stages] == ["planning", "analysis", "coding", "reproduce"]
    assert full.stages[0].calls == 4
    plan = papercoder.estimate(EXAMPLE_PAPER, model="fake-model", base_url="http://127.0.0.1:9/v1", method="with-plan")
    assert [(r.stage, r.calls) for r in plan.stages] == [("planning", 1), ("coding", 1), ("reproduce", 1)]
    one = papercoder.estimate(EXAMPLE_PAPER, model="fake-model", base_url="http://127.0.0.1:9/v1", method="paper")
    assert [(r.stage, r.calls) for r in one.stages] == [("coding", 1)]


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme[readme.index("import papercoder\nfrom papercoder import CallSettings") :]
    code = code[: code.index("\n```\n")]
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples/tiny_paper.md").write_text(EXAMPLE_PAPER.read_text())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "runs/echo/repo/main.py").read_text() == "print('hello from', 'baseline/paper')\n"


def test_no_test_reaches_a_real_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_real_provider: list[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
    with pytest.raises(papercoder.PapercoderError, match=r"cannot reach https://api\.openai\.com"):
        papercoder.run(EXAMPLE_PAPER, tmp_path / "run", model="openai/gpt-4.1-mini", timeout=5)
    assert "api.openai.com" in no_real_provider
    no_real_provider.clear()  # the guard worked; the test itself passes


def test_the_public_names_resolve_lazily_and_importing_a_submodule_stays_light() -> None:
    """``import papercoder.paper.pdf_layout`` (a PDF worker's import) does not import the engine; every name of
    ``__all__`` still resolves, ``run`` to the function whatever was imported before."""
    code = (
        "import sys, papercoder.paper.pdf_layout, papercoder.run_dir\n"
        "assert 'papercoder._engine' not in sys.modules, 'the engine was imported'\n"
        "import papercoder\n"
        "assert callable(papercoder.run) and papercoder.run.__module__ == 'papercoder._api'\n"
        "missing = [n for n in papercoder.__all__ if getattr(papercoder, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
