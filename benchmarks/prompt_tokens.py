"""Prompt tokens per call of a scripted fake run, the cacheable prefix apart.

Runs the test suite's scripted conversation (``tests/scenario.py``, the buggy variant so a repair call and a debug
iteration happen too) through the CLI against the loopback fake server on the shared "Attention" paper, then counts
the cl100k tokens of every request. The *prefix* of a call is the longest run of leading messages identical to an
earlier call's (what a provider prefix cache can serve); the rest is the part that varies per call.

    PYTHONPATH=src:. python benchmarks/prompt_tokens.py [--model o3-mini] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest
from tests.scenario import FIX_IMPORT, buggy_script
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.paper.tokens import count_tokens

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT.parent / "shared" / "examples" / "attention" / "paper.tex"
KEY = "sk-bench-0123456789abcdef"


def _tokens(message: dict[str, Any]) -> int:
    return count_tokens(str(message.get("content") or "")) + 4  # a few tokens of role framing per message


def measure(requests: list[RecordedRequest]) -> list[dict[str, Any]]:
    """Per call: step, prompt tokens, tokens of its cacheable prefix (leading messages an earlier call shared)."""
    seen: list[list[dict[str, Any]]] = []
    rows = []
    for request in requests:
        messages = request.messages
        shared = 0
        for earlier in seen:
            n = 0
            while n < min(len(earlier), len(messages)) and earlier[n] == messages[n]:
                n += 1
            shared = max(shared, n)
        total = sum(_tokens(m) for m in messages)
        prefix = sum(_tokens(m) for m in messages[:shared])
        step = request.headers.get("x-papercoder-step", "?")
        rows.append({"step": step, "prompt": total, "prefix": prefix, "varying": total - prefix})
        seen.append(messages)
    return rows


def run(model: str) -> list[dict[str, Any]]:
    script = buggy_script({"repair/checks": FIX_IMPORT})
    runner = CliRunner()
    with FakeOpenAIServer(script) as server, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = {"OPENAI_API_KEY": KEY, "PATH": os.environ.get("PATH", "")}
        args = ["run", str(PAPER), "--out", str(out), "--model", model, "--base-url", server.base_url]
        result = runner.invoke(app, args, env=env)
        if result.exit_code not in (0, 4):
            sys.exit(f"the run failed ({result.exit_code}): {result.output[-500:]}")
        debug = ["debug", str(out), "--sandbox", "none", "--max-iters", "1", "--base-url", server.base_url]
        runner.invoke(app, debug, env=env)
        return measure(server.chat_requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args.model)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    print(f"{'step':<28} {'prompt':>8} {'prefix':>8} {'varying':>8}")
    for row in rows:
        print(f"{row['step']:<28} {row['prompt']:>8} {row['prefix']:>8} {row['varying']:>8}")
        kind = by_kind[row["step"].split("/")[0]]
        kind[0] += 1
        kind[1] += row["prompt"]
        kind[2] += row["prefix"]
        kind[3] += row["varying"]
    print(f"\n{'stage':<12} {'calls':>5} {'prompt':>8} {'prefix':>8} {'varying':>8} {'varying/call':>12}")
    for kind, (calls, total, prefix, varying) in by_kind.items():
        print(f"{kind:<12} {calls:>5} {total:>8} {prefix:>8} {varying:>8} {varying // calls:>12}")
    total = sum(r["prompt"] for r in rows)
    varying = sum(r["varying"] for r in rows)
    print(f"{'all':<12} {len(rows):>5} {total:>8} {total - varying:>8} {varying:>8}")


if __name__ == "__main__":
    main()
