"""The Paper2Code judge against the fake server: n samples, dropped samples, the one-by-one fallback, context."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.evaluation.judge import JudgeResult, judge_repository, parse_sample, summarize
from tests.evaluation.helpers import judge_json, single_choice, with_model
from tests.fakes.openai_server import (
    ErrorReply,
    FakeOpenAIServer,
    RawReply,
    RecordedRequest,
    Reply,
    ScriptedResponder,
)

PAPER = "# Prototype Networks\n\n## Method\n\nEach class has a learned prototype; logits are negative distances.\n"
REPO = {"model.py": "class PrototypeNet:\n    pass\n", "config.yaml": "lr: 0.01\n"}
GOLD = {"proto/net.py": "class AuthorsPrototypeNet:\n    temperature = 1.0\n"}


def eight_answers() -> list[Reply]:
    """4 valid samples (5, 4, 4, 3; one fenced with a trailing comma) and 4 invalid ones."""
    fenced = '```json\n{"components": ["loss"], "critiques": [], "score": 4,}\n```'
    return [
        Reply(content=judge_json(5)),
        Reply(content="{oops, not json"),
        Reply(content=fenced),
        Reply(content=judge_json(0)),
        Reply(content=judge_json(4, severity="HIGH")),
        Reply(content=judge_json(6)),
        Reply(content=judge_json("five")),
        Reply(content=judge_json(3, severity="low")),
    ]


def test_eight_samples_in_one_call_drop_invalid_ones() -> None:
    with FakeOpenAIServer(ScriptedResponder([eight_answers()])) as srv:
        result: JudgeResult = with_model(srv, lambda m: judge_repository(m, PAPER, REPO, n=8))
        requests = srv.chat_requests
    assert len(requests) == 1
    body = requests[0].body
    assert body["n"] == 8
    assert body["response_format"]["type"] == "json_schema"
    assert requests[0].headers["x-papercoder-step"] == "eval/ref-free"
    assert result.mode == "ref-free"
    assert (result.valid, result.n) == (4, 8)
    assert result.scores == [5, 4, 4, 3]
    assert result.mean == 4.0
    # Population std: deviations 1, 0, 0, -1 → variance 2/4.
    assert result.std == pytest.approx(math.sqrt(0.5))
    assert [s.valid for s in result.samples] == [True, False, True, False, True, False, False, True]
    assert "not JSON" in (result.samples[1].error or "")
    assert result.samples[1].raw == "{oops, not json"
    assert [c.severity for c in result.critiques] == ["medium", "high", "low"]
    assert result.calls == 1 and result.usage.prompt_tokens > 0
    assert result.cost_usd is None  # unknown model: unknown cost
    # The gold repository is not in a reference-free prompt; the repository is.
    user = body["messages"][-1]["content"]
    assert "class PrototypeNet" in user and "reference repository" not in user.lower()


def test_provider_ignoring_n_gets_the_rest_one_by_one(tmp_path: Path) -> None:
    scores = iter([5, 4, 3, 2, 1, 2, 3, 4])

    def responder(request: RecordedRequest) -> Reply | RawReply:
        text = judge_json(next(scores))
        return single_choice(text) if request.body.get("n", 1) > 1 else Reply(content=text)

    with FakeOpenAIServer(responder) as srv:
        first = with_model(srv, lambda m: judge_repository(m, PAPER, REPO, n=8, concurrency=1), cache=tmp_path)
        requests = srv.chat_requests
        assert len(requests) == 8
        again = with_model(srv, lambda m: judge_repository(m, PAPER, REPO, n=8), cache=tmp_path)
        assert len(srv.chat_requests) == 8  # everything came from the call cache
    assert requests[0].body["n"] == 8
    singles = requests[1:]
    assert all("n" not in r.body for r in singles)
    assert sorted(r.headers["x-papercoder-step"] for r in singles) == [f"eval/ref-free/sample-{i}" for i in range(1, 8)]
    assert sorted(r.body["response_format"]["json_schema"]["name"] for r in singles) == [
        f"judge_{i}" for i in range(1, 8)
    ]
    # The messages of every sample are identical: only the settings tell the cache entries apart.
    assert all(r.body["messages"] == requests[0].body["messages"] for r in singles)
    assert first.scores == [5, 4, 3, 2, 1, 2, 3, 4]
    assert first.mean == 3.0 and first.valid == 8
    assert first.notes and "one by one" in first.notes[0]
    assert again.scores == first.scores and again.cached_calls == 8


def test_provider_refusing_n_is_sampled_one_by_one() -> None:
    def responder(request: RecordedRequest) -> Reply | ErrorReply:
        if request.body.get("n", 1) > 1:
            return ErrorReply(400, "n > 1 is not supported by this server")
        return Reply(content=judge_json(4))

    with FakeOpenAIServer(responder) as srv:
        result = with_model(srv, lambda m: judge_repository(m, PAPER, REPO, n=3))
        assert len(srv.chat_requests) == 4
    assert result.scores == [4, 4, 4] and result.std == 0.0
    assert "refused n=3" in result.notes[0]


def test_reference_based_prompt_holds_the_gold_repository() -> None:
    with FakeOpenAIServer(ScriptedResponder([[Reply(content=judge_json(3)), Reply(content=judge_json(2))]])) as srv:
        result = with_model(srv, lambda m: judge_repository(m, PAPER, REPO, gold=GOLD, n=2))
        request = srv.chat_requests[0]
    user = request.body["messages"][-1]["content"]
    assert "class AuthorsPrototypeNet" in user and "### File: proto/net.py" in user
    assert "class PrototypeNet" in user and "Prototype Networks" in user
    assert user.index("AuthorsPrototypeNet") < user.index("class PrototypeNet:")  # gold first, then the repo
    assert request.headers["x-papercoder-step"] == "eval/ref-based"
    assert result.mode == "ref-based" and result.gold_files == ["proto/net.py"]
    assert result.mean == 2.5 and result.std == 0.5


def test_prompt_over_the_context_window_is_refused_before_any_call() -> None:
    big = {f"file_{i}.py": "x = 1\n" * 400 for i in range(10)}
    with FakeOpenAIServer(ScriptedResponder([])) as srv:
        with pytest.raises(InputError) as info:
            with_model(srv, lambda m: judge_repository(m, PAPER, big, n=8), context_window=8000)
        with pytest.raises(InputError):
            with_model(srv, lambda m: judge_repository(m, PAPER, big, n=8, context_tokens=8000))
        assert srv.chat_requests == []
    message = str(info.value)
    assert "8000" in message and "--max-files" in message and "--include" in message
    assert "\n" not in message


def test_parse_sample_and_summarize() -> None:
    assert parse_sample(0, judge_json("4")).score == 4  # a numeric string is read as its number
    assert not parse_sample(1, judge_json(True)).valid
    assert not parse_sample(2, judge_json(4.5)).valid
    assert not parse_sample(3, judge_json(3, severity="critical")).valid
    assert parse_sample(4, '{"components": [{"name": "loss"}], "critiques": [], "score": 2}').answer is not None
    assert summarize([]) == (None, None)
    assert summarize([3]) == (3.0, 0.0)
