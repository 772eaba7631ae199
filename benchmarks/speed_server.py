"""The fake model server of ``benchmarks/speed.py``, in a process of its own so the benchmark's CPU time is ours.

The parent drives it over a ``multiprocessing`` pipe: ``"reset"`` empties the simulated prefix cache (each run
starts cold, like a first run of a paper) and starts a new request log; ``"stats"`` returns the log of the run;
``"stop"`` ends it.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any

from benchmarks.speed_shape import ShapeResponder
from tests.fakes.openai_server import FakeOpenAIServer, LatencyModel
from tests.fakes.wire import PrefixCache, estimate_tokens, prompt_text


def serve(conn: Connection, latency: dict[str, float]) -> None:
    """Serve the run's shape with ``LatencyModel(**latency)`` until told to stop."""
    server = FakeOpenAIServer(ShapeResponder(), latency=LatencyModel(**latency)).start()
    conn.send(server.base_url)
    first = 0
    while True:
        command = conn.recv()
        if command == "reset":
            server.cache = PrefixCache()
            first = len(server.requests)
            conn.send(None)
        elif command == "stats":
            conn.send([_row(r) for r in server.requests[first:] if r.path.endswith("/chat/completions")])
        else:
            server.stop()
            conn.send(server.errors)
            return


def _row(request: Any) -> dict[str, Any]:
    return {
        "step": request.headers.get("x-papercoder-step", ""),
        "started": request.started_at,
        "finished": request.finished_at,
        "status": request.status,
        "prompt_tokens": estimate_tokens(prompt_text(request.body)),
        "stream": bool(request.body.get("stream")),
    }
