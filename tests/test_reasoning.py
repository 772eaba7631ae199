"""A reasoning model's thinking stays out of every artifact: answers that open with ``<think>…</think>`` (or send
``reasoning_content`` beside the answer) give the same repository as plain answers, and the call cache keeps the
thinking apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercoder.llm.base import Completion
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import Paper2CodeScript
from tests.test_pipeline_e2e import run_cli

THOUGHT = "The user wants {step}. Let me think: ```python\nimport os\n``` no, wait."


class ThinkingScript(Paper2CodeScript):
    """The scenario as a reasoning model answers it: thinking first, in the text or in ``reasoning_content``."""

    def __init__(self, *, inline: bool) -> None:
        super().__init__()
        self.inline = inline

    def __call__(self, request: RecordedRequest) -> Reply:
        plain = super().__call__(request)
        thought = THOUGHT.format(step=self.steps[-1])
        if self.inline:
            return Reply(content=f"<think>\n{thought}\n</think>\n\n{plain.content}")
        return Reply(content=plain.content, reasoning_content=thought)


def _artifacts(out: Path) -> dict[str, str]:
    keep = ("repo", "planning", "analysis", "coding")
    return {
        str(p.relative_to(out)): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).parts[0] in keep
    }


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("inline", [True, False], ids=["think-tags", "reasoning_content"])
def test_thinking_answers_give_the_same_run_as_plain_ones(tmp_path: Path, inline: bool) -> None:
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        assert run_cli(server, EXAMPLE_PAPER, tmp_path / "plain")[0] == 0
    with FakeOpenAIServer(ThinkingScript(inline=inline)) as server:
        code, output = run_cli(server, EXAMPLE_PAPER, tmp_path / "thinking")
    assert code == 0, output

    assert _artifacts(tmp_path / "thinking") == _artifacts(tmp_path / "plain")
    assert "<think>" not in json.dumps(_artifacts(tmp_path / "thinking"))
    # Each cached call keeps its thinking beside the answer, for the report.
    entries = [json.loads(p.read_text()) for p in (tmp_path / "thinking/calls").glob("*.json")]
    assert entries and all(e["completion"]["reasoning"] == [THOUGHT.format(step=e["step"])] for e in entries)
    assert all("<think>" not in e["completion"]["texts"][0] for e in entries)


def test_without_thinking_is_idempotent_and_keeps_the_provider_field() -> None:
    done = Completion(texts=["<think>a</think>answer", "plain"], finish_reasons=["stop", "stop"], reasoning=["given"])
    split = done.without_thinking()
    assert split.texts == ["answer", "plain"] and split.reasoning == ["given\n\na", ""]
    assert split.without_thinking() is split
    untouched = Completion(texts=["no thinking"], finish_reasons=["stop"])
    assert untouched.without_thinking() is untouched
