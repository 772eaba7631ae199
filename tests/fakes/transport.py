"""The HTTP side of the fake server: a threading HTTP/1.1 server and a handler that can answer in every way a
real (or broken) OpenAI endpoint does: JSON bodies, raw bytes, server-sent events, or a dropped connection.

What to answer is decided by the ``App`` (``FakeOpenAIServer``); this module only moves bytes.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import sys
import time
import uuid
from typing import Any, Protocol, cast

from .replies import ErrorReply, RecordedRequest

# What a client hanging up mid-answer looks like from the server side.
DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class App(Protocol):
    """What the transport needs from the server logic."""

    def _dispatch(self, handler: Handler) -> None: ...

    def _track(self, handler: Handler, active: bool) -> None: ...

    def _sleep(self, seconds: float) -> bool: ...


class LoopbackHTTPServer(http.server.ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that knows its ``App`` and keeps hang-ups out of the test output."""

    # Handler threads are daemons so a responder stuck forever cannot block interpreter exit; the app still
    # joins them (with a timeout) after cutting their sockets.
    daemon_threads = True
    allow_reuse_address = True
    # The stdlib's backlog of 5 drops connection attempts when a client opens many at once (concurrent async
    # calls), and the kernel only retries them a second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, dropped connections) are part of the tests, not errors to print.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection; every request on it is handed to the app's ``_dispatch``."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; the SDK pools connections
    # Headers and body go out in separate writes; with Nagle's algorithm the second waits for the client's
    # delayed ACK, adding ~40 ms to every answer.
    disable_nagle_algorithm = True

    @property
    def app(self) -> App:
        return cast(LoopbackHTTPServer, self.server).app

    def setup(self) -> None:
        super().setup()
        self.app._track(self, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.app._track(self, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not access logs

    def read_body(self) -> bytes:
        """The request body (the SDK always sends a Content-Length)."""
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_POST(self) -> None:
        self.app._dispatch(self)

    def do_GET(self) -> None:
        self.app._dispatch(self)

    def send_error_reply(self, error: ErrorReply, record: RecordedRequest) -> None:
        """OpenAI's error envelope with the error's status and headers."""
        inner = {"message": error.message, "type": error.type, "param": error.param, "code": error.code}
        payload = json.dumps({"error": inner}).encode()
        self.send_bytes(error.status, payload, "application/json", error.headers, record)

    def send_json(self, body: dict[str, Any], record: RecordedRequest) -> None:
        """A 200 JSON answer."""
        self.send_bytes(200, json.dumps(body).encode(), "application/json", {}, record)

    def _head(self, status: int, content_type: str, headers: dict[str, str], record: RecordedRequest) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.send_header("openai-processing-ms", str(int((time.monotonic() - record.started_at) * 1000)))
        for key, value in headers.items():
            self.send_header(key, value)

    def send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str], record: RecordedRequest
    ) -> None:
        """Exactly ``body`` with a Content-Length."""
        try:
            self._head(status, content_type, headers, record)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except DISCONNECTS:
            self._client_gone(record)
        self._done(record, status)

    def send_stream(
        self, rounds: list[list[dict[str, Any]]], ttft: float, decode: float, record: RecordedRequest
    ) -> None:
        """Server-sent events, chunked: ``ttft`` before the first round, ``decode`` spread over the rest."""
        if not self.app._sleep(ttft):
            self.drop(record)
            return
        pause = decode / max(1, len(rounds) - 1)
        try:
            self._head(200, "text/event-stream; charset=utf-8", {"cache-control": "no-cache"}, record)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for k, chunks in enumerate(rounds):
                if k and not self.app._sleep(pause):
                    self.drop(record)
                    return
                self._write_chunk("".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except DISCONNECTS:
            self._client_gone(record)
        self._done(record, 200)

    def _write_chunk(self, data: bytes) -> None:
        # One flushed HTTP chunk per round, so the client sees the pacing.
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def drop(self, record: RecordedRequest) -> None:
        """Close the connection with no answer at all."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self._done(record, None)

    def _client_gone(self, record: RecordedRequest) -> None:
        self.close_connection = True
        record.error = record.error or "the client closed the connection before the answer was sent"

    def _done(self, record: RecordedRequest, status: int | None) -> None:
        record.status = status
        record.finished_at = time.monotonic()
