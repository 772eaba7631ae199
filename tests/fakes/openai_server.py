"""A loopback OpenAI-compatible HTTP server: the fake model of the test suite.

Tests talk real HTTP to it with the real ``openai`` SDK, so retries, timeouts, streaming and error mapping are
the SDK's own. Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread.

    with FakeOpenAIServer(ScriptedResponder([Reply("hi")])) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
        assert srv.requests[0].headers["authorization"] == "Bearer sk-test"

How the SDK (openai 3.x, sync and async alike) reacts to broken 200 answers, which the product must catch:

* a non-JSON content type (a proxy's HTML page, ``RawReply(200, b"<html>...", "text/html")``): the SDK tries
  ``json()`` on the body and, when that fails, ``create()`` returns the body text **as a ``str``** instead of
  a ``ChatCompletion`` (``APIResponseValidationError`` only with ``_strict_response_validation=True``). Check
  ``isinstance(resp, ChatCompletion)``. (JSON under a non-JSON content type is parsed as usual.)
* truncated or empty JSON under ``application/json``: ``create()`` raises ``json.JSONDecodeError`` (a
  ``ValueError``, *not* an ``openai.APIError``) and the SDK does not retry it.
* a JSON object that is not a completion (``{}``): a ``ChatCompletion`` built without validation, every
  field ``None`` (``resp.choices is None``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from types import TracebackType

from .replies import (
    Answer,
    DropConnection,
    ErrorReply,
    LatencyModel,
    RawReply,
    RecordedRequest,
    Reply,
    Responder,
    ScriptedResponder,
    ScriptExhaustedError,
    Stall,
    StreamError,
)
from .transport import Handler, LoopbackHTTPServer
from .wire import (
    PrefixCache,
    completion_body,
    completion_tokens_of,
    estimate_tokens,
    model_object,
    prompt_text,
    stream_rounds,
    unparsable_body,
    usage_body,
    validate_chat_request,
    wrong_key,
)

__all__ = [
    "Answer",
    "DropConnection",
    "ErrorReply",
    "FakeOpenAIServer",
    "LatencyModel",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptExhaustedError",
    "ScriptedResponder",
    "Stall",
    "StreamError",
]

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODELS_PATHS = ("/v1/models", "/models")


class _Problem(Exception):
    """A responder misbehaved (raised, or answered something unusable): answered as a 500."""


class FakeOpenAIServer:
    """An OpenAI Chat Completions server on 127.0.0.1 whose answers a ``responder`` scripts.

    ``responder(request)`` returns an ``Answer`` (``Reply``, ``ErrorReply``, ``RawReply``, ``DropConnection``,
    ``Stall``, ``StreamError``) or, for a request with ``n > 1``, optionally a list of ``n`` replies; when it
    returns a single ``Reply`` for such a request it is called again for each further choice
    (``request.choice_index`` tells which). It runs on the server's handler threads, so it must be thread-safe. If
    it raises (e.g. ``ScriptExhaustedError``) the client gets a 500 naming the problem and the text lands in
    ``errors``.

    Requests are validated first like the real API (``model`` and ``messages`` required, known roles, a valid
    ``response_format``...): invalid ones get OpenAI's 400 without reaching the responder; ``validate=False``
    skips that. With ``api_key`` set, a wrong ``Authorization`` gets a 401. ``cached_tokens`` not fixed by a
    reply come from a simulated prefix cache (``wire.PrefixCache``; ``prefix_cache=False`` turns it off).
    ``latency`` paces the answers; streams send content in ``stream_pieces`` deltas per choice.

    Serves ``POST /v1/chat/completions`` (also without ``/v1``), ``GET /v1/models`` and
    ``GET /v1/models/{id}``; every request, whatever its path, is recorded in ``requests``.
    """

    def __init__(
        self,
        responder: Responder,
        *,
        latency: LatencyModel | None = None,
        models: Sequence[str] = ("fake-model",),
        api_key: str | None = None,
        validate: bool = True,
        prefix_cache: bool = True,
        stream_pieces: int = 4,
    ) -> None:
        self.responder = responder
        self.latency = latency
        self.models = list(models)
        self.api_key = api_key
        self.validate = validate
        self.stream_pieces = stream_pieces
        self.cache: PrefixCache | None = PrefixCache() if prefix_cache else None
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = LoopbackHTTPServer(("127.0.0.1", 0), self)
        # A short poll interval makes shutdown() return quickly.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, cut open connections (idle keep-alives, stalls) and join every thread."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a Stall or a LatencyModel
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections, threads = list(self._connections), list(self._handler_threads)
        for conn in connections:
            # Unblocks handler threads waiting for the next request on a keep-alive connection.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in [*threads, *([self._thread] if self._thread else [])]:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound port."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running (use it as a context manager or call start())")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to give the SDK as ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def live_threads(self) -> list[threading.Thread]:
        """Server threads still alive (none after a clean ``stop()``)."""
        with self._lock:
            threads = [*self._handler_threads, *([self._thread] if self._thread else [])]
        return [t for t in threads if t.is_alive()]

    # -- what happened ---------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a snapshot list)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests only."""
        return [r for r in self.requests if r.path in CHAT_PATHS]

    @property
    def errors(self) -> list[str]:
        """Responder failures (answered as HTTP 500), e.g. a ``ScriptedResponder`` that ran out."""
        with self._lock:
            return list(self._errors)

    def raise_errors(self) -> None:
        """Raise ``AssertionError`` listing the responder failures, if any."""
        if errors := self.errors:
            raise AssertionError("fake OpenAI server errors:\n" + "\n".join(errors))

    # -- called by the transport -----------------------------------------------------------------------------

    def _track(self, handler: Handler, active: bool) -> None:
        with self._lock:
            if active:
                self._connections.add(handler.connection)
                # A thread stays listed after its connection closes (it is still alive for a moment then), so
                # stop() joins it; finished ones are pruned here.
                self._handler_threads = {t for t in self._handler_threads if t.is_alive()}
                self._handler_threads.add(threading.current_thread())
            else:
                self._connections.discard(handler.connection)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when the full time passed."""
        return seconds <= 0 or not self._stopping.wait(seconds)

    def _dispatch(self, handler: Handler) -> None:
        record = self._record(handler, handler.read_body() if handler.command == "POST" else b"")
        try:
            authorization = record.headers.get("authorization", "")
            if self.api_key is not None and authorization != f"Bearer {self.api_key}":
                handler.send_error_reply(wrong_key(authorization), record)
            elif handler.command == "POST" and record.path in CHAT_PATHS:
                self._answer_chat(handler, record)
            elif handler.command == "GET" and record.path in MODELS_PATHS:
                handler.send_json({"object": "list", "data": [model_object(m) for m in self.models]}, record)
            elif (
                handler.command == "GET"
                and record.path.rsplit("/", 1)[0] in MODELS_PATHS
                and (name := record.path.rsplit("/", 1)[1]) in self.models
            ):
                handler.send_json(model_object(name), record)
            else:
                # The real API's wording for an unknown route.
                handler.send_error_reply(ErrorReply(404, f"Invalid URL ({record.method} {record.path})"), record)
        except OSError:
            raise  # the client went away: nothing to answer
        except Exception as exc:
            # A bug in the fake itself becomes a recorded 500, not a silent hang-up.
            self._note_error(record, f"fake server bug: {type(exc).__name__}: {exc}")
            if record.status is None:
                error = ErrorReply(500, f"fake OpenAI server bug: {exc}", type="fake_server_error")
                handler.send_error_reply(error, record)

    # -- answering -------------------------------------------------------------------------------------------

    def _record(self, handler: Handler, raw: bytes) -> RecordedRequest:
        headers: dict[str, str] = {}
        for key, value in handler.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = None
        with self._lock:
            record = RecordedRequest(
                index=len(self._requests),
                method=handler.command,
                path=handler.path.split("?", 1)[0].rstrip("/") or "/",
                query=handler.path.partition("?")[2],
                headers=headers,
                body=parsed if isinstance(parsed, dict) else {},
                raw=raw,
                started_at=time.monotonic(),
            )
            self._requests.append(record)
        return record

    def _note_error(self, record: RecordedRequest, text: str) -> None:
        record.error = text
        with self._lock:
            self._errors.append(f"request #{record.index} ({record.method} {record.path}): {text}")

    def _ask(self, record: RecordedRequest) -> Answer | list[Reply]:
        try:
            return self.responder(record)
        except Exception as exc:
            raise _Problem(f"the responder raised {type(exc).__name__}: {exc}") from exc

    def _choices(self, record: RecordedRequest, first: Reply | list[Reply], n: int) -> list[Reply]:
        if isinstance(first, list):
            if len(first) != n or not all(isinstance(r, Reply) for r in first):
                raise _Problem(
                    f"the responder answered a list of {len(first)} items for a request with n={n}; "
                    f"expected {n} Reply objects"
                )
            return first
        replies = [first]
        for i in range(1, n):
            record.choice_index = i
            more = self._ask(record)
            if not isinstance(more, Reply):
                raise _Problem(
                    f"the responder answered {type(more).__name__} for choice {i} of n={n}; "
                    "choices after the first must be Reply"
                )
            replies.append(more)
        return replies

    def _answer_chat(self, handler: Handler, record: RecordedRequest) -> None:
        try:
            is_object = isinstance(json.loads(record.raw), dict)
        except ValueError:
            is_object = False
        if not is_object:
            handler.send_error_reply(unparsable_body(), record)
            return
        body = record.body
        if self.validate and (invalid := validate_chat_request(body)) is not None:
            handler.send_error_reply(invalid, record)
            return
        n = max(1, body["n"]) if isinstance(body.get("n"), int) else 1
        try:
            answer = self._ask(record)
            while isinstance(answer, Stall):
                if not self._sleep(answer.seconds):
                    handler.drop(record)
                    return
                answer = answer.then
            if isinstance(answer, Reply | list):
                self._send_completion(handler, record, self._choices(record, answer, n))
            elif isinstance(answer, ErrorReply):
                handler.send_error_reply(answer, record)
            elif isinstance(answer, RawReply):
                handler.send_bytes(answer.status, answer.body, answer.content_type, answer.headers, record)
            elif isinstance(answer, DropConnection):
                handler.drop(record)
            elif isinstance(answer, StreamError):
                self._send_stream_error(handler, record, answer)
            else:
                raise _Problem(f"the responder answered {answer!r}, which is not an Answer")
        except _Problem as problem:
            self._note_error(record, str(problem))
            error = ErrorReply(500, f"fake OpenAI server: {problem}", type="fake_server_error")
            handler.send_error_reply(error, record)

    def _send_stream_error(self, handler: Handler, record: RecordedRequest, error: StreamError) -> None:
        if not record.body.get("stream"):
            handler.send_json(error.body(), record)
            return
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:29]}", "created": int(time.time()), "model": record.body["model"]}
        rounds = (
            stream_rounds(head, [Reply(error.content)], {}, False, self.stream_pieces)[:-1] if error.content else []
        )
        handler.send_stream([*rounds, [error.body()]], 0.0, 0.0, record)

    def _send_completion(self, handler: Handler, record: RecordedRequest, replies: list[Reply]) -> None:
        body = record.body
        model = str(body.get("model", ""))
        prompt = prompt_text(body)
        first = replies[0]
        prompt_tokens = first.prompt_tokens if first.prompt_tokens is not None else estimate_tokens(prompt)
        cached = first.cached_tokens
        if cached is None:
            cached = min(prompt_tokens, self.cache.cached_tokens(model, prompt)) if self.cache else 0
        per_choice = [completion_tokens_of(r) for r in replies]
        usage = usage_body(prompt_tokens, sum(per_choice), cached, sum(r.reasoning_tokens for r in replies))
        if any(r.cost is not None for r in replies):
            usage["cost"] = sum(r.cost or 0.0 for r in replies)
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_papercoder_fake",
        }
        ttft = self.latency.time_to_first_token(prompt_tokens, cached) if self.latency else 0.0
        decode = self.latency.decode_time(max(per_choice)) if self.latency else 0.0
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            rounds = stream_rounds(head, replies, usage, include_usage, self.stream_pieces)
            handler.send_stream(rounds, ttft, decode, record)
        elif self._sleep(ttft + decode):
            handler.send_json(completion_body(head, replies, usage), record)
        else:
            handler.drop(record)  # the server is stopping
        if self.cache is not None and record.status == 200:
            self.cache.add(model, prompt)
