"""Streamed answers through the loopback server: the same ``Completion`` as a plain answer, broken streams retried
whole, servers that do not stream handled, and usage (cached prompt tokens included) recorded per stage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import papercoder
from papercoder.errors import ModelError
from papercoder.llm.base import CallSettings, Completion, Message
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.openai_compat import OpenAICompatModel
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import (
    ErrorReply,
    FakeOpenAIServer,
    RawReply,
    RecordedRequest,
    Reply,
    Responder,
    ScriptedResponder,
)
from tests.fakes.transport import Handler
from tests.fakes.wire import stream_rounds, usage_body
from tests.scenario import Paper2CodeScript

LONG_PROMPT: list[Message] = [
    {"role": "system", "content": "You write code."},
    {"role": "user", "content": "A long paper. " + "Attention weighs every token against every other. " * 200},
]
SETTINGS = CallSettings(step="test/step", max_tokens=500)


def model_for(server: FakeOpenAIServer, **kwargs: Any) -> OpenAICompatModel:
    kwargs.setdefault("max_retries", 0)
    return OpenAICompatModel("fake-model", base_url=server.base_url, api_key=TEST_KEY, **kwargs)


async def ask_all(model: OpenAICompatModel, prompts: list[list[Message]], settings: CallSettings) -> list[Completion]:
    try:
        return [await model.complete(p, settings) for p in prompts]
    finally:
        await model.aclose()


class MidStreamFaults(FakeOpenAIServer):
    """Breaks the first streamed answers, one per item of ``faults``, after their first piece of text: ``stall``
    goes silent (until the client hangs up or the server stops), ``drop`` closes the connection. ``think`` is no
    fault: half a second of silence after the role delta, before any text (a reasoning model), then the rest."""

    def __init__(self, responder: Responder, faults: list[str], **kwargs: Any) -> None:
        super().__init__(responder, **kwargs)
        self.faults = list(faults)

    def _send_completion(self, handler: Handler, record: RecordedRequest, replies: list[Reply]) -> None:
        with self._lock:
            kind = self.faults.pop(0) if self.faults and record.body.get("stream") else None
        if kind is None:
            super()._send_completion(handler, record, replies)
            return
        head = {"id": "chatcmpl-broken", "created": 0, "model": record.body["model"], "system_fingerprint": "fp"}
        rounds = stream_rounds(head, replies, usage_body(1, 1, 0, 0), True, self.stream_pieces)
        handler._head(200, "text/event-stream; charset=utf-8", {}, record)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        for k, chunks in enumerate(rounds if kind == "think" else rounds[:2]):  # the role delta, then text
            if kind == "think" and k == 1:
                self._sleep(0.5)
            handler._write_chunk("".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode())
        if kind == "think":
            handler._write_chunk(b"data: [DONE]\n\n")
            handler.wfile.write(b"0\r\n\r\n")
            handler._done(record, 200)
            return
        if kind == "stall":
            self._sleep(30)
        handler.drop(record)


@pytest.mark.parametrize(
    "reply",
    [
        Reply("def f():\n    return 'héllo ✓'\n" * 40, reasoning_tokens=321),
        Reply("cut off mid-wor", finish_reason="length"),
        Reply("short"),
    ],
    ids=["long", "length", "short"],
)
def test_streamed_answer_equals_plain_answer(reply: Reply) -> None:
    results: dict[bool, list[Completion]] = {}
    for stream in (True, False):
        with FakeOpenAIServer(lambda _: reply, stream_pieces=7) as server:
            prompts = [LONG_PROMPT, LONG_PROMPT]  # the second is served from the simulated prefix cache
            results[stream] = asyncio.run(ask_all(model_for(server, stream=stream), prompts, SETTINGS))
            bodies = [r.body for r in server.chat_requests]
            server.raise_errors()
        assert all(b.get("stream", False) is stream for b in bodies)
        if stream:
            assert all(b["stream_options"] == {"include_usage": True} for b in bodies)
    assert results[True] == results[False]
    first, second = results[True]
    assert first.text == reply.content and first.finish_reason == reply.finish_reason
    assert first.usage.prompt_tokens > 1024 and first.usage.completion_tokens > 0
    assert first.usage.reasoning_tokens == reply.reasoning_tokens
    assert first.usage.cached_tokens == 0 and second.usage.cached_tokens > 0


def test_on_token_sees_the_text_arrive() -> None:
    pieces: list[tuple[str, str]] = []
    text = "x = 1\n" * 30
    with FakeOpenAIServer(lambda _: Reply(text), stream_pieces=5) as server:
        model = model_for(server, on_token=lambda step, piece: pieces.append((step, piece)))
        done = asyncio.run(ask_all(model, [LONG_PROMPT], SETTINGS))[0]
    assert done.text == text
    assert len(pieces) == 5 == model.streamed_pieces
    assert "".join(p for _, p in pieces) == text and {s for s, _ in pieces} == {"test/step"}


def test_several_answers_are_not_streamed() -> None:
    with FakeOpenAIServer(lambda _: Reply("a verdict")) as server:
        done = asyncio.run(ask_all(model_for(server), [LONG_PROMPT], CallSettings(step="judge", n=3)))[0]
        assert "stream" not in server.chat_requests[0].body
    assert done.texts == ["a verdict"] * 3


@pytest.mark.parametrize("fault", ["stall", "drop"])
def test_stream_broken_midway_is_retried_whole(fault: str) -> None:
    text = "class Model:\n    pass\n" * 20
    with MidStreamFaults(lambda _: Reply(text), [fault], stream_pieces=6) as server:
        done = asyncio.run(ask_all(model_for(server, idle_timeout_s=0.3), [LONG_PROMPT], SETTINGS))[0]
        requests = server.chat_requests
    assert done.text == text and done.finish_reason == "stop"
    assert done.usage.completion_tokens > 0
    assert len(requests) == 2 and requests[0].body == requests[1].body


def test_silence_before_the_first_token_is_not_a_stall() -> None:
    with MidStreamFaults(lambda _: Reply("thought long, then answered"), ["think"]) as server:
        done = asyncio.run(ask_all(model_for(server, idle_timeout_s=0.2), [LONG_PROMPT], SETTINGS))[0]
        assert len(server.chat_requests) == 1
    assert done.text == "thought long, then answered" and done.finish_reason == "stop"


def test_stalls_until_the_tries_are_spent_fail_with_one_line() -> None:
    with MidStreamFaults(lambda _: Reply("never finished " * 20), ["stall"] * 2) as server:
        model = model_for(server, idle_timeout_s=0.2, bad_body_attempts=2)
        with pytest.raises(ModelError) as caught:
            asyncio.run(ask_all(model, [LONG_PROMPT], SETTINGS))
        assert len(server.chat_requests) == 2
    message = str(caught.value)
    assert "test/step" in message and "stalled" in message and "2 tries" in message and "\n" not in message


def test_server_that_rejects_streaming_is_asked_plainly_from_then_on() -> None:
    def responder(request: RecordedRequest) -> ErrorReply | Reply:
        if request.body.get("stream"):
            return ErrorReply(400, "Streaming is not supported by this server.", param="stream")
        return Reply("plain answer")

    with FakeOpenAIServer(responder) as server:
        answers = asyncio.run(ask_all(model_for(server), [LONG_PROMPT, LONG_PROMPT], SETTINGS))
        streamed = [bool(r.body.get("stream")) for r in server.chat_requests]
    assert [a.text for a in answers] == ["plain answer"] * 2
    assert streamed == [True, False, False]


def test_server_without_stream_usage_is_asked_plainly_after_one_answer() -> None:
    def responder(request: RecordedRequest) -> ErrorReply | Reply:
        if "stream_options" in request.body:
            return ErrorReply(400, "Unrecognized request argument supplied: stream_options")
        return Reply("an answer")

    with FakeOpenAIServer(responder) as server:
        answers = asyncio.run(ask_all(model_for(server), [LONG_PROMPT, LONG_PROMPT], SETTINGS))
        bodies = [r.body for r in server.chat_requests]
    assert [a.text for a in answers] == ["an answer"] * 2
    assert [("stream" in b, "stream_options" in b) for b in bodies] == [(True, True), (True, False), (False, False)]
    assert answers[1].usage.prompt_tokens > 0  # the plain answers carry usage again


def test_server_that_ignores_stream_answers_json() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "json anyway"}, "finish_reason": "stop"}],
        "usage": usage_body(10, 3, 0, 0),
    }
    raw = RawReply(200, json.dumps(body).encode(), "application/json")
    with FakeOpenAIServer(ScriptedResponder([raw, Reply("second")])) as server:
        answers = asyncio.run(ask_all(model_for(server), [LONG_PROMPT, LONG_PROMPT], SETTINGS))
        streamed = [bool(r.body.get("stream")) for r in server.chat_requests]
    assert answers[0].text == "json anyway" and answers[0].usage.prompt_tokens == 10
    assert answers[1].text == "second" and streamed == [True, False]


def test_html_page_under_stream_is_retried() -> None:
    page = RawReply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
    with FakeOpenAIServer(ScriptedResponder([page, Reply("fine")])) as server:
        done = asyncio.run(ask_all(model_for(server), [LONG_PROMPT], SETTINGS))[0]
        assert len(server.chat_requests) == 2
    assert done.text == "fine"


def test_call_cache_serves_a_streamed_answer(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda _: Reply("cached code")) as server:
        cached = CachedModel(model_for(server), CallCache(tmp_path))

        async def twice() -> list[Completion]:
            try:
                return [await cached.complete(LONG_PROMPT, SETTINGS) for _ in range(2)]
            finally:
                await cached.aclose()

        first, second = asyncio.run(twice())
        assert len(server.chat_requests) == 1
    assert second.from_cache and second.model_copy(update={"from_cache": False}) == first


def long_paper(tmp_path: Path) -> Path:
    """The example paper with many more sections: a prompt far past the 1024-token prefix-cache minimum."""
    extra = "".join(
        f"\n\n## {n + 3} Ablation {n}\n\n" + f"Setting {n} changes the width to {16 * n} and keeps the rest. " * 40
        for n in range(12)
    )
    path = tmp_path / "long_paper.md"
    path.write_text(EXAMPLE_PAPER.read_text() + extra)
    return path


def run_scenario(paper: Path, out: Path, stream: bool) -> dict[str, Any]:
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        model = model_for(server, stream=stream)

        async def go() -> None:
            try:
                await papercoder.run_async(paper, out, model=model, concurrency=1)
            finally:
                await model.aclose()

        asyncio.run(go())
        server.raise_errors()
        assert all(bool(r.body.get("stream")) is stream for r in server.chat_requests)
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return manifest


def test_manifest_records_usage_and_cached_tokens_per_stage(tmp_path: Path) -> None:
    paper = long_paper(tmp_path)
    streamed = run_scenario(paper, tmp_path / "streamed", stream=True)
    plain = run_scenario(paper, tmp_path / "plain", stream=False)
    for stage in ("planning", "analysis", "coding"):
        usage = streamed["stages"][stage]["usage"]
        assert usage == plain["stages"][stage]["usage"], stage
        assert usage["prompt_tokens"] > 3000 and usage["completion_tokens"] > 0, stage
        # Every call after the first repeats the paper at the start of its prompt: the prefix cache serves it.
        assert 0 < usage["cached_tokens"] < usage["prompt_tokens"], stage
