"""The synthetic plans of ``benchmarks/scale.py``: ``n`` files, each module importing its predecessor and
``main.py`` importing them all, with code of realistic size (about 1,000 tokens a module), and the fake server
that answers them in a process of its own (paced like a real model: ``tests/fakes`` ``LatencyModel``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from benchmarks.speed_shape import design_answer, prose
from tests.fakes.openai_server import FakeOpenAIServer, LatencyModel, RecordedRequest, Reply

ANALYSIS_TOKENS = 300
OUTPUT_TOKENS = {"planning/plan": 1500, "planning/architecture": 1200, "planning/logic": 1200, "planning/config": 400}


def files(n: int) -> list[str]:
    return [f"mod{i:02d}.py" for i in range(n - 1)] + ["main.py"]


def fake_code(path: str, n: int) -> str:
    """Valid Python of about 1,000 tokens (a module) that imports what the chain says; main imports every module."""
    modules = [f.removesuffix(".py") for f in files(n)[:-1]]
    if path == "main.py":
        imports = "".join(f"from {m} import Part{m[3:]}\n" for m in modules)
        calls = "".join(f"    print(Part{m[3:]}().run(1.0))\n" for m in modules)
        return (
            f'"""Entry point."""\n{imports}\n\ndef main() -> None:\n{calls}\n\nif __name__ == "__main__":\n    main()\n'
        )
    index = int(path[3:5])
    lines = [f'"""{path}: {prose(15, index)}"""', "import math"]
    if index:
        lines.append(f"from mod{index - 1:02d} import Part{index - 1:02d}")
    lines += ["", "", f"class Part{index:02d}:", f'    """{prose(25, index + 1)}"""', ""]
    lines += ["    def __init__(self, width: int = 64) -> None:", "        self.width = width", ""]
    for k in range(9):
        lines += [
            f"    def step_{k}(self, x: float, scale: float = {k + 1}.0) -> float:",
            f'        """{prose(14, index * 10 + k)}"""',
            f"        hidden = math.sqrt(abs(x) + {k}) * scale / self.width",
            "        for _ in range(3):",
            "            hidden = hidden / (1.0 + math.exp(-hidden))",
            "        return hidden",
            "",
        ]
    before = f"Part{index - 1:02d}().run(x) + " if index else ""
    lines += ["    def run(self, x: float) -> float:", f"        return {before}self.step_0(x)", ""]
    return "\n".join(lines)


def logic_design(n: int) -> dict[str, Any]:
    entries = []
    for i, path in enumerate(files(n)[:-1]):
        needs = f"; imports Part{i - 1:02d} from mod{i - 1:02d}" if i else ""
        entries.append([path, f"Defines Part{i:02d}, one stage of the model: {prose(40, i)}{needs}."])
    entries.append(["main.py", "Entry point; imports from " + ", ".join(f[:-3] for f in files(n)[:-1]) + "."])
    return {
        "Required packages": ["numpy>=1.24", "pyyaml>=6"],
        "Logic Analysis": entries,
        "Task list": files(n),
        "Shared Knowledge": prose(150, 9),
        "Anything UNCLEAR": prose(40, 11),
    }


def architecture(n: int) -> dict[str, Any]:
    return {
        "Implementation approach": prose(400, 3),
        "File list": files(n),
        "Data structures and interfaces": "classDiagram\n" + "".join(f"    class Part{i:02d}\n" for i in range(n - 1)),
        "Program call flow": "sequenceDiagram\n    participant M as Main\n    M->>Part00: run()",
        "Anything UNCLEAR": prose(40, 5),
    }


@dataclass
class ScaleResponder:
    """Answers each step of an ``n``-file run; thread-safe."""

    n: int
    steps: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, step: str) -> str:
        text = design_answer(step, (1200, ANALYSIS_TOKENS), lambda: architecture(self.n), lambda: logic_design(self.n))
        if text is not None:
            return text
        if step.startswith("repair/"):
            return "No edits are needed."
        if step.startswith("coding/"):
            return f"```python\n{fake_code(step.removeprefix('coding/'), self.n)}\n```"
        raise ValueError(f"unexpected step {step!r}")

    def __call__(self, request: RecordedRequest) -> Reply:
        step = request.headers.get("x-papercoder-step", "")
        with self._lock:
            self.steps.append(step)
        text = self.answer(step)
        return Reply(text, completion_tokens=OUTPUT_TOKENS.get(step, len(text) // 4 + 1))


def serve(conn: Connection, n: int, latency: dict[str, float]) -> None:
    """Serve ``n``-file runs until told to stop; ``"stats"`` sends the request log, ``"stop"`` the errors."""
    server = FakeOpenAIServer(ScaleResponder(n), latency=LatencyModel(**latency)).start()
    conn.send(server.base_url)
    first = 0
    while True:
        command = conn.recv()
        if command == "reset":
            first = len(server.requests)
            from tests.fakes.wire import PrefixCache

            server.cache = PrefixCache()
            conn.send(None)
        elif command == "stats":
            rows = [
                {
                    "step": r.headers.get("x-papercoder-step", ""),
                    "started": r.started_at,
                    "finished": r.finished_at,
                    "status": r.status,
                }
                for r in server.requests[first:]
                if r.path.endswith("/chat/completions")
            ]
            conn.send(rows)
        else:
            server.stop()
            conn.send(server.errors)
            return
