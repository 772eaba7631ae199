"""The fake server against the real openai SDK (sync and async clients), over real loopback HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from .openai_server import (
    DropConnection,
    ErrorReply,
    FakeOpenAIServer,
    LatencyModel,
    RawReply,
    RecordedRequest,
    Reply,
    ScriptedResponder,
    ScriptExhaustedError,
    Stall,
    StreamError,
)
from .wire import PrefixCache, split_text

KEY = "sk-test-fakeserver-0123456789"
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


def client(srv: FakeOpenAIServer, *, max_retries: int = 0, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=max_retries, timeout=timeout)


def aclient(srv: FakeOpenAIServer, *, max_retries: int = 0, timeout: float = 5.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.base_url, api_key=KEY, max_retries=max_retries, timeout=timeout)


def scripted(*replies: Any) -> FakeOpenAIServer:
    return FakeOpenAIServer(ScriptedResponder(list(replies)))


def ask(srv: FakeOpenAIServer, **kwargs: Any) -> ChatCompletion:
    with client(srv, max_retries=kwargs.pop("max_retries", 0)) as c:
        # Any kwargs pick no overload statically; without stream=True the answer is a ChatCompletion (or, as
        # the HTML test shows, whatever the SDK makes of a broken body).
        return cast(
            ChatCompletion,
            c.chat.completions.create(model="fake-model", messages=kwargs.pop("messages", MESSAGES), **kwargs),
        )


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Every server a test starts has stopped all its threads by the end of the test."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in set(threading.enumerate()) - before if t.name.startswith(("fake-openai", "Thread-"))]
    assert not [t for t in leaked if t.is_alive()], leaked


# -- plain completions ---------------------------------------------------------------------------------------


def test_plain_completion_parses_with_usage() -> None:
    with scripted(Reply("Hello there.", cached_tokens=128, reasoning_tokens=7)) as srv:
        resp = ask(srv)
    assert isinstance(resp, ChatCompletion)
    assert resp.id.startswith("chatcmpl-") and resp.object == "chat.completion"
    assert resp.model == "fake-model" and resp.system_fingerprint
    choice = resp.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == "Hello there."
    usage = resp.usage
    assert usage is not None and usage.prompt_tokens_details and usage.completion_tokens_details
    assert usage.prompt_tokens == len(json.dumps(MESSAGES)) // 4
    assert usage.completion_tokens == len("Hello there.") // 4 + 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 128
    assert usage.completion_tokens_details.reasoning_tokens == 7


def test_explicit_token_counts_and_finish_reason() -> None:
    with scripted(Reply("cut", finish_reason="length", prompt_tokens=900, completion_tokens=50)) as srv:
        resp = ask(srv)
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (900, 50, 950)


def test_base_url_without_v1_prefix() -> None:
    with scripted(Reply("ok")) as srv:
        url = srv.base_url.removesuffix("/v1")
        with openai.OpenAI(base_url=url, api_key=KEY, max_retries=0) as c:
            resp = c.chat.completions.create(model="fake-model", messages=MESSAGES)
    assert resp.choices[0].message.content == "ok"
    assert srv.requests[0].path == "/chat/completions"


def test_n_choices_from_a_list() -> None:
    with scripted([Reply("a"), Reply("bb" * 10), Reply("c", finish_reason="length")]) as srv:
        resp = ask(srv, n=3)
    assert [c.message.content for c in resp.choices] == ["a", "bb" * 10, "c"]
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert resp.choices[2].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens == 1 + 6 + 1


def test_n_calls_the_responder_once_per_choice() -> None:
    seen: list[int] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request.choice_index)
        return Reply(f"choice {request.choice_index}")

    with FakeOpenAIServer(responder) as srv:
        resp = ask(srv, n=3)
    assert [c.message.content for c in resp.choices] == ["choice 0", "choice 1", "choice 2"]
    assert seen == [0, 1, 2]
    assert len(srv.requests) == 1


def test_tool_calls() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "write_file", "arguments": '{"path": "a.py"}'},
    }
    with scripted(Reply(None, finish_reason="tool_calls", tool_calls=[call])) as srv:
        resp = ask(srv)
    message = resp.choices[0].message
    assert message.content is None and message.tool_calls is not None
    tool_call = message.tool_calls[0]
    assert tool_call.type == "function"
    assert (tool_call.id, tool_call.function.name, tool_call.function.arguments) == (
        "call_1",
        "write_file",
        '{"path": "a.py"}',
    )


def test_models_endpoint() -> None:
    with FakeOpenAIServer(ScriptedResponder([]), models=["fake-model", "other"]) as srv, client(srv) as c:
        assert [m.id for m in c.models.list()] == ["fake-model", "other"]
        assert c.models.retrieve("other").id == "other"
        with pytest.raises(openai.NotFoundError):
            c.models.retrieve("missing")


# -- errors, retries and transport faults --------------------------------------------------------------------


def test_rate_limit_surfaces_as_rate_limit_error() -> None:
    with (
        scripted(ErrorReply(429, "Rate limit reached", type="requests", headers={"Retry-After": "1"})) as srv,
        pytest.raises(openai.RateLimitError) as info,
    ):
        ask(srv)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert isinstance(info.value.body, dict) and info.value.body["message"] == "Rate limit reached"
    assert info.value.body["param"] is None


def test_rate_limit_retried_after_retry_after_then_succeeds() -> None:
    # The plain Retry-After: 1 of the brief: the SDK honours it (one retry, about a second).
    with scripted(ErrorReply(429, "slow down", headers={"Retry-After": "1"}), Reply("finally")) as srv:
        resp = ask(srv, max_retries=2)
    assert resp.choices[0].message.content == "finally"
    first, second = srv.requests
    assert first.finished_at is not None and second.started_at - first.finished_at >= 0.9


def test_rate_limit_retries_count_requests() -> None:
    # retry-after-ms keeps the wait short; two 429s then an answer: three requests in all.
    with scripted(ErrorReply.rate_limit(0.02), ErrorReply.rate_limit(0.02), Reply("ok")) as srv:
        assert ask(srv, max_retries=2).choices[0].message.content == "ok"
    assert [r.status for r in srv.requests] == [429, 429, 200]
    # One retry too few: the last 429 surfaces.
    script = ScriptedResponder([ErrorReply.rate_limit(0.02), ErrorReply.rate_limit(0.02), Reply("ok")])
    with FakeOpenAIServer(script) as srv, pytest.raises(openai.RateLimitError):
        ask(srv, max_retries=1)
    assert len(srv.requests) == 2


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
    ],
)
def test_error_statuses_map_to_sdk_exceptions(status: int, exc_type: type[openai.APIStatusError]) -> None:
    error = ErrorReply(status, f"boom {status}", type="server_error", code="x")
    with scripted(error) as srv, pytest.raises(exc_type) as info:
        ask(srv)
    assert info.value.status_code == status
    assert info.value.body == {
        "message": f"boom {status}",
        "type": "server_error",
        "param": None,
        "code": "x",
    }


def test_html_page_with_status_200_comes_back_as_str() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with scripted(RawReply(200, page, "text/html; charset=utf-8"), RawReply(200, page, "text/html")) as srv:
        resp: object = ask(srv)
        assert resp == page.decode() and not isinstance(resp, ChatCompletion)

        async def go() -> object:
            async with aclient(srv) as c:
                return await c.chat.completions.create(model="fake-model", messages=MESSAGES)

        assert asyncio.run(go()) == page.decode()


def test_truncated_json_raises_json_decode_error() -> None:
    truncated = RawReply(200, b'{"id": "chatcmpl-1", "choi', "application/json")
    with scripted(truncated) as srv, pytest.raises(json.JSONDecodeError):
        ask(srv, max_retries=3)
    assert len(srv.requests) == 1  # not retried: it is no APIError


def test_json_that_is_not_a_completion_has_no_choices() -> None:
    with scripted(RawReply(200, b"{}", "application/json")) as srv:
        resp = ask(srv)
    assert isinstance(resp, ChatCompletion) and resp.choices is None


def test_stream_error_is_an_error_event_mid_stream_or_a_200_error_body() -> None:
    with scripted(StreamError("upstream failed", content="half an answer"), StreamError("no model")) as srv:
        with client(srv) as c:
            stream = c.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
            seen: list[str] = []
            with pytest.raises(openai.APIError, match="upstream failed") as info:
                for chunk in stream:
                    seen.extend(ch.delta.content or "" for ch in chunk.choices)
            assert "".join(seen) == "half an answer" and not isinstance(info.value, openai.APIStatusError)
        resp = ask(srv)
    assert srv.requests[1].status == 200 and resp.choices is None
    assert (resp.model_extra or {})["error"]["message"] == "no model"


def test_dropped_connection_is_a_connection_error_and_retried() -> None:
    with scripted(DropConnection()) as srv, pytest.raises(openai.APIConnectionError) as info:
        ask(srv)
    assert not isinstance(info.value, openai.APITimeoutError)
    assert srv.requests[0].status is None
    with scripted(DropConnection(), Reply("second try")) as srv:
        assert ask(srv, max_retries=1).choices[0].message.content == "second try"
    assert len(srv.requests) == 2


def test_stall_beyond_client_timeout_times_out_and_stop_is_quick() -> None:
    with scripted(Stall(30.0)) as srv:
        with client(srv, timeout=0.2) as c, pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="fake-model", messages=MESSAGES)
        started = time.monotonic()
    assert time.monotonic() - started < 2.0  # stop() wakes the stalled handler
    assert not srv.live_threads


def test_short_stall_then_answer() -> None:
    with scripted(Stall(0.1, then=Reply("late"))) as srv:
        started = time.monotonic()
        assert ask(srv).choices[0].message.content == "late"
    assert time.monotonic() - started >= 0.1


def test_script_running_out_is_a_named_500() -> None:
    with scripted(Reply("only one")) as srv:
        ask(srv)
        with pytest.raises(openai.InternalServerError) as info:
            ask(srv)
    assert isinstance(info.value.body, dict)
    assert "ScriptExhaustedError" in info.value.body["message"] and "request #1" in info.value.body["message"]
    assert len(srv.errors) == 1 and srv.requests[1].error
    with pytest.raises(AssertionError, match="no answer left"):
        srv.raise_errors()


def test_bad_responder_answers_are_named_500s() -> None:
    def broken(request: RecordedRequest) -> Reply:
        raise KeyError("no-such-step")

    with FakeOpenAIServer(broken) as srv, pytest.raises(openai.InternalServerError, match="KeyError"):
        ask(srv)
    with scripted([Reply("a"), Reply("b")]) as srv2, pytest.raises(openai.InternalServerError, match="n=3"):
        ask(srv2, n=3)
    assert len(srv.errors) == 1 and len(srv2.errors) == 1


def test_scripted_responder_used_directly() -> None:
    script = ScriptedResponder([Reply("a"), lambda r: Reply(r.last_user_content.upper())])
    request = RecordedRequest(0, "POST", "/v1/chat/completions", {}, {"messages": MESSAGES}, b"", 0.0)
    assert script(request) == Reply("a")
    assert script(request) == Reply("SAY HELLO.")
    assert (script.used, script.remaining) == (2, 0)
    with pytest.raises(ScriptExhaustedError):
        script(request)


# -- request validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, None, "you must provide a model parameter"),
        ({"model": "m"}, "messages", "Missing required parameter: 'messages'"),
        ({"model": "m", "messages": []}, "messages", "empty array"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'robot'"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content", "Missing required"),
        (
            {"model": "m", "messages": MESSAGES, "response_format": {"type": "xml"}},
            "response_format.type",
            "'json_schema'",
        ),
        (
            {
                "model": "m",
                "messages": MESSAGES,
                "response_format": {"type": "json_schema", "json_schema": {}},
            },
            "response_format.json_schema.name",
            "Missing required",
        ),
        (
            {"model": "m", "messages": MESSAGES, "response_format": {"type": "json_object"}},
            "messages",
            "must contain the word 'json'",
        ),
        ({"model": "m", "messages": MESSAGES, "n": 0}, "n", "below minimum"),
        (
            {"model": "m", "messages": MESSAGES, "stream_options": {"include_usage": True}},
            "stream_options",
            "only",
        ),
    ],
)
def test_invalid_requests_get_the_real_apis_400(body: dict[str, Any], param: str | None, fragment: str) -> None:
    srv = FakeOpenAIServer(ScriptedResponder([]))
    with srv, client(srv) as c, pytest.raises(openai.BadRequestError) as info:
        c.post("/chat/completions", body=body, cast_to=ChatCompletion)
    assert isinstance(info.value.body, dict)
    assert fragment in info.value.body["message"] and info.value.body["param"] == param
    assert not srv.errors  # the responder was never asked


def test_valid_structured_request_with_unknown_params_is_accepted() -> None:
    schema = {"type": "object", "properties": {"files": {"type": "array"}}}
    with scripted(Reply('{"files": []}')) as srv:
        resp = ask(
            srv,
            messages=[{"role": "developer", "content": "Answer in JSON."}, {"role": "user", "content": "go"}],
            response_format={"type": "json_schema", "json_schema": {"name": "plan_v1", "schema": schema}},
            max_completion_tokens=100,
            reasoning_effort="low",
            extra_body={"top_k": 5, "chat_template_kwargs": {"thinking": False}},
        )
    assert json.loads(resp.choices[0].message.content or "") == {"files": []}
    assert srv.requests[0].body["top_k"] == 5


def test_unparsable_body_is_a_400() -> None:
    srv = FakeOpenAIServer(ScriptedResponder([]))
    with srv, socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5\r\nConnection: close\r\n\r\n{nope"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"could not parse the JSON body" in answer


def test_api_key_checked_when_configured() -> None:
    with FakeOpenAIServer(ScriptedResponder([Reply("ok")]), api_key=KEY) as srv:
        assert ask(srv).choices[0].message.content == "ok"
        wrong = openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong-key-000000", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError) as info:
            wrong.chat.completions.create(model="fake-model", messages=MESSAGES)
    assert "sk-wrong-key-000000" not in str(info.value)


# -- recording -----------------------------------------------------------------------------------------------


def test_requests_and_headers_are_recorded() -> None:
    with scripted(Reply("one"), Reply("two")) as srv, client(srv) as c:
        c.chat.completions.create(
            model="fake-model", messages=MESSAGES, extra_headers={"X-Papercoder-Step": "planning/plan"}
        )
        c.chat.completions.create(model="fake-model", messages=MESSAGES, temperature=0.0)
    first, second = srv.requests
    assert [first.index, second.index] == [0, 1]
    assert first.path == "/v1/chat/completions" and first.method == "POST"
    assert first.headers["x-papercoder-step"] == "planning/plan"
    assert "x-papercoder-step" not in second.headers
    assert all(key == key.lower() for key in first.headers)
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.body == {"model": "fake-model", "messages": MESSAGES}
    assert second.body["temperature"] == 0.0
    assert first.messages == MESSAGES and first.last_user_content == "Say hello."
    assert first.finished_at is not None and first.started_at <= first.finished_at <= second.started_at
    assert first.status == 200 and first.error is None
    assert srv.chat_requests == srv.requests


# -- streaming and latency -----------------------------------------------------------------------------------


def test_streaming_with_usage() -> None:
    text = "def main() -> None:\n    print('streamed')\n"
    with scripted(Reply(text, cached_tokens=0)) as srv, client(srv) as c:
        stream = c.chat.completions.create(
            model="fake-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    assert all(ch.object == "chat.completion.chunk" and ch.model == "fake-model" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    content = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert content == text
    assert sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content) > 1  # really split
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == len(text) // 4 + 1
    assert all(ch.usage is None for ch in chunks[:-1])


def test_streaming_async_without_usage_and_with_n() -> None:
    async def go(srv: FakeOpenAIServer) -> tuple[dict[int, str], list[object]]:
        async with aclient(srv) as c:
            stream = await c.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True, n=2)
            texts: dict[int, str] = {0: "", 1: ""}
            usages: list[object] = []
            async for chunk in stream:
                usages.append(chunk.usage)
                for choice in chunk.choices:
                    texts[choice.index] += choice.delta.content or ""
            return texts, usages

    with scripted([Reply("first answer"), Reply("second, longer answer")]) as srv:
        texts, usages = asyncio.run(go(srv))
    assert texts == {0: "first answer", 1: "second, longer answer"}
    assert all(u is None for u in usages)


def test_latency_model_paces_streams() -> None:
    latency = LatencyModel(ttft_s=0.15, output_tokens_per_s=100.0)
    text = "x" * 80  # 21 tokens: 0.21 s of decoding
    with FakeOpenAIServer(ScriptedResponder([Reply(text)]), latency=latency) as srv, client(srv) as c:
        started = time.monotonic()
        stream = c.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
        arrivals = [time.monotonic() - started for _ in stream]
    assert arrivals[0] >= 0.15
    assert arrivals[-1] >= 0.15 + 0.2
    assert arrivals[-1] - arrivals[0] >= 0.2  # spread out, not one burst


def test_latency_model_arithmetic() -> None:
    model = LatencyModel(ttft_s=0.5, output_tokens_per_s=50, prefill_tokens_per_s=1000, time_scale=0.1)
    assert model.time_to_first_token(2000, cached_tokens=1000) == pytest.approx((0.5 + 1.0) * 0.1)
    assert model.decode_time(100) == pytest.approx(0.2)
    assert model.total(2000, 100) == pytest.approx((0.5 + 2.0 + 2.0) * 0.1)
    half = LatencyModel(ttft_s=0, output_tokens_per_s=1, prefill_tokens_per_s=100, cached_discount=0.5)
    assert half.time_to_first_token(300, cached_tokens=200) == pytest.approx(2.0)


def test_async_requests_are_served_concurrently() -> None:
    latency = LatencyModel(ttft_s=0.2, output_tokens_per_s=1e6)

    async def go(srv: FakeOpenAIServer) -> list[str]:
        async with aclient(srv) as c:
            calls = [
                c.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": str(i)}])
                for i in range(8)
            ]
            return [r.choices[0].message.content or "" for r in await asyncio.gather(*calls)]

    with FakeOpenAIServer(lambda r: Reply(f"echo {r.last_user_content}"), latency=latency) as srv:
        started = time.monotonic()
        answers = asyncio.run(go(srv))
        elapsed = time.monotonic() - started
    assert answers == [f"echo {i}" for i in range(8)]
    assert elapsed < 1.0  # 8 x 0.2 s one after another would take 1.6 s


# -- prefix cache --------------------------------------------------------------------------------------------


def test_prefix_cache_reports_cached_tokens_for_a_shared_long_prefix() -> None:
    paper = "The paper text. " * 600  # ~9600 characters, ~2400 tokens
    first: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You plan code."},
        {"role": "user", "content": paper + "Plan it."},
    ]
    second: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You plan code."},
        {"role": "user", "content": paper + "Now the architecture."},
    ]
    with FakeOpenAIServer(lambda r: Reply("ok")) as srv:
        cold, warm = ask(srv, messages=first), ask(srv, messages=second)
        short = ask(srv, messages=[{"role": "user", "content": "short"}])
        with client(srv) as c:
            elsewhere = c.chat.completions.create(model="other-model", messages=second)
    cached = [cached_of(r) for r in (cold, warm, short, elsewhere)]
    assert cached[0] == 0
    assert cached[1] >= 1024 and cached[1] % 128 == 0
    assert warm.usage is not None and cached[1] <= warm.usage.prompt_tokens
    shared = len(json.dumps(first)) - len('Plan it."}]')
    assert cached[1] == shared // 4 // 128 * 128
    assert cached[2] == 0  # below 1024 tokens nothing is cached
    assert cached[3] == 0  # another model has its own cache


def test_prefix_cache_blocks() -> None:
    cache = PrefixCache()
    prompt = "p" * 5000 + "q" * 3000  # 2000 tokens
    assert cache.cached_tokens("m", prompt) == 0
    cache.add("m", prompt)
    assert cache.cached_tokens("m", prompt) == 2000 // 128 * 128  # whole 128-token steps only
    assert cache.cached_tokens("m", prompt[:4700] + "x" * 4000) == 4608 // 4  # 9 blocks of 512 chars
    assert cache.cached_tokens("m", "x" + prompt[1:]) == 0  # differs in the first block
    assert cache.cached_tokens("m", prompt[:4095]) == 0  # a shared prefix under 1024 tokens is no hit


def test_stream_wire_format() -> None:
    # Below the SDK: the exact bytes a streaming client sees.
    with scripted(Reply("abcdefgh")) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        body = {
            "model": "fake-model",
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"content-type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read().decode()
        conn.close()
    assert resp.status == 200 and resp.getheader("content-type", "").startswith("text/event-stream")
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["usage"] is None
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


def cached_of(resp: ChatCompletion) -> int:
    assert resp.usage is not None and resp.usage.prompt_tokens_details is not None
    return resp.usage.prompt_tokens_details.cached_tokens or 0


def test_prefix_cache_can_be_turned_off() -> None:
    long = [{"role": "user", "content": "y" * 8000}]
    with FakeOpenAIServer(lambda r: Reply("ok"), prefix_cache=False) as srv:
        ask(srv, messages=long)
        resp = ask(srv, messages=long)
    assert cached_of(resp) == 0


# -- lifecycle -----------------------------------------------------------------------------------------------


def test_server_stops_cleanly_with_an_idle_keep_alive_connection() -> None:
    srv = FakeOpenAIServer(lambda r: Reply("ok")).start()
    c = client(srv)
    c.chat.completions.create(model="fake-model", messages=MESSAGES)  # leaves a pooled connection open
    assert srv.live_threads
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 1.0
    assert not srv.live_threads and not srv.running
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model="fake-model", messages=MESSAGES)
    c.close()
    srv.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = srv.base_url


def test_split_text_rejoins_exactly() -> None:
    for text in ["", "a", "abc", "x" * 101, "multi\nline\ntext"]:
        parts = split_text(text, 4)
        assert "".join(parts) == text and len(parts) <= 4 and all(parts)
