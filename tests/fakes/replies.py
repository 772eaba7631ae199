"""What the fake server can answer, what it records, and how it paces answers.

Everything here is plain data: the server (``openai_server.py``) turns it into OpenAI wire format.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass
class RecordedRequest:
    """One HTTP request the fake server received, as the responder and the test see it.

    ``headers`` are lower-cased (HTTP header names are case-insensitive, tests look them up as
    ``headers["x-papercoder-step"]``). ``body`` is the parsed JSON object (``{}`` when there was no body or it
    was not a JSON object; ``raw`` keeps the bytes). Times are ``time.monotonic()`` values; ``finished_at``,
    ``status`` and ``error`` are filled in once the answer has been sent. ``choice_index`` is the choice being
    asked for while the responder runs for an ``n > 1`` request (0 otherwise). ``query`` is the URL's query
    string (``path`` has none).
    """

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    started_at: float
    finished_at: float | None = None
    status: int | None = None
    error: str | None = None
    choice_index: int = 0
    query: str = ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's ``messages`` (empty when absent or malformed)."""
        msgs = self.body.get("messages")
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []

    @property
    def last_user_content(self) -> str:
        """Text of the last user message: what most scripted responders key on."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return _text_of(msg.get("content"))
        return ""


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass
class Reply:
    """A normal chat completion choice.

    Token counts left as ``None`` are simulated by the server: ``prompt_tokens`` from the request size
    (``len(json.dumps(messages)) // 4``), ``completion_tokens`` as ``len(content) // 4 + 1`` and
    ``cached_tokens`` by the server's prefix-cache model (see ``FakeOpenAIServer``). For ``n > 1`` requests
    the prompt-side numbers of the first choice are used. ``tool_calls`` are OpenAI-shaped dicts
    (``{"id", "type": "function", "function": {"name", "arguments"}}``); a ``content`` of ``None`` is sent as
    JSON ``null`` (what real servers send next to tool calls).
    """

    content: str | None
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int = 0
    tool_calls: list[dict[str, Any]] | None = None
    cost: float | None = None  # sent as ``usage.cost`` (USD), as OpenRouter reports what it billed
    # Thinking sent beside the answer, as DeepSeek's API and vLLM's reasoning parser do (``reasoning_content``).
    reasoning_content: str | None = None


@dataclass
class ErrorReply:
    """An OpenAI error body ``{"error": {"message", "type", "param": null, "code"}}`` with an HTTP status.

    The SDK maps statuses to exceptions: 400 ``BadRequestError``, 401 ``AuthenticationError``, 403
    ``PermissionDeniedError``, 404 ``NotFoundError``, 429 ``RateLimitError``, >=500 ``InternalServerError``;
    it retries 408/409/429/5xx (waiting ``retry-after-ms`` / ``retry-after`` when given, up to 60 s).
    """

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    param: str | None = None

    @classmethod
    def rate_limit(cls, retry_after_s: float = 1.0, message: str = "Rate limit reached for requests") -> ErrorReply:
        """A 429 like OpenAI's: ``Retry-After`` in whole seconds plus the more precise ``retry-after-ms``.

        The SDK prefers ``retry-after-ms``, so a small ``retry_after_s`` keeps retry tests fast.
        """
        return cls(
            429,
            message,
            type="requests",
            code="rate_limit_exceeded",
            headers={
                "retry-after": str(max(1, math.ceil(retry_after_s))),
                "retry-after-ms": str(int(retry_after_s * 1000)),
            },
        )


@dataclass
class RawReply:
    """Exactly these bytes with this status and content type: a proxy's HTML page, truncated JSON, ..."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class DropConnection:
    """Close the connection without answering; the SDK raises ``APIConnectionError`` (and retries it)."""


@dataclass
class Stall:
    """Wait ``seconds`` before answering ``then`` (to run past a client timeout: ``APITimeoutError``).

    The wait ends early when the server stops, so a stalled test never holds up the suite.
    """

    seconds: float
    then: Answer = field(default_factory=lambda: Reply(content="(answer after a stall)"))


@dataclass
class StreamError:
    """An error that arrives with status 200: in a stream, ``content`` in deltas and then an event carrying
    ``{"error": {"message", "type", "code"}}`` (the SDK raises ``APIError`` with ``message``); to a request
    that did not stream, a 200 JSON body that is that error object and no completion."""

    message: str
    content: str = ""
    type: str = "server_error"
    code: str | None = None

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": None, "code": self.code}}


Answer: TypeAlias = Reply | ErrorReply | RawReply | DropConnection | Stall | StreamError
"""Anything a responder may return for one request (or one choice)."""

Responder: TypeAlias = Callable[[RecordedRequest], Answer | list[Reply]]
"""Decides the answer to each request. Called from the server's handler threads: must be thread-safe."""


class ScriptExhaustedError(RuntimeError):
    """A ``ScriptedResponder`` was asked for more answers than it was given."""


class ScriptedResponder:
    """Answers requests in order from a fixed script.

    Each item is an answer, a list of ``Reply`` (the choices of one ``n > 1`` request) or a callable taking
    the ``RecordedRequest`` (for answers that depend on the request). Once the script is used up it raises
    ``ScriptExhaustedError``; the server turns that into an HTTP 500 whose message names the problem and
    records it in ``FakeOpenAIServer.errors``, so a test asking more than it scripted fails loudly.
    """

    def __init__(self, replies: Sequence[Answer | list[Reply] | Responder]) -> None:
        self._replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()  # handler threads call concurrently

    @property
    def used(self) -> int:
        """How many scripted items have been consumed."""
        with self._lock:
            return self._next

    @property
    def remaining(self) -> int:
        """How many scripted items are left."""
        with self._lock:
            return len(self._replies) - self._next

    def __call__(self, request: RecordedRequest) -> Answer | list[Reply]:
        with self._lock:
            if self._next >= len(self._replies):
                raise ScriptExhaustedError(
                    f"ScriptedResponder has no answer left for request #{request.index} "
                    f"({request.method} {request.path}): all {len(self._replies)} scripted answers were used"
                )
            item = self._replies[self._next]
            self._next += 1
        return item(request) if callable(item) else item


@dataclass(frozen=True)
class LatencyModel:
    """Simulated serving time, for benchmarks and concurrency tests.

    Time to first token is ``ttft_s + prefill / prefill_tokens_per_s`` where
    ``prefill = prompt_tokens - cached_discount * cached_tokens`` (no prefill term when the rate is ``None``);
    decoding then takes ``completion_tokens / output_tokens_per_s`` (for ``n > 1`` the longest choice, as the
    choices decode in parallel). Streams spread the decoding time over their chunks; plain answers wait the
    total before sending. Every duration is multiplied by ``time_scale`` so a benchmark can run a realistic
    profile faster than real time.
    """

    ttft_s: float
    output_tokens_per_s: float
    prefill_tokens_per_s: float | None = None
    cached_discount: float = 1.0
    time_scale: float = 1.0

    def time_to_first_token(self, prompt_tokens: int, cached_tokens: int = 0) -> float:
        """Seconds (scaled) before the first token."""
        seconds = self.ttft_s
        if self.prefill_tokens_per_s:
            prefill = max(0.0, prompt_tokens - self.cached_discount * cached_tokens)
            seconds += prefill / self.prefill_tokens_per_s
        return seconds * self.time_scale

    def decode_time(self, completion_tokens: int) -> float:
        """Seconds (scaled) to produce ``completion_tokens`` after the first token."""
        if self.output_tokens_per_s <= 0:
            return 0.0
        return completion_tokens / self.output_tokens_per_s * self.time_scale

    def total(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """Seconds (scaled) for a whole non-streaming answer."""
        return self.time_to_first_token(prompt_tokens, cached_tokens) + self.decode_time(completion_tokens)
