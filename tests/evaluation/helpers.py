"""Shared helpers of the evaluation tests: the fake model client, judge answers, single-choice replies."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from papercoder.llm.base import ChatModel
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.openai_compat import OpenAICompatModel
from tests.fakes.openai_server import FakeOpenAIServer, RawReply, Reply
from tests.fakes.wire import completion_body, usage_body

T = TypeVar("T")


def judge_json(score: object, component: str = "prototype classifier", severity: str = "medium") -> str:
    """A judge answer with one component and one critique."""
    return json.dumps(
        {
            "components": [component],
            "critiques": [{"component": component, "severity": severity, "comment": f"{component}: looks fine"}],
            "score": score,
        }
    )


def single_choice(content: str) -> RawReply:
    """A chat completion with exactly one choice, whatever ``n`` the request asked for (a provider ignoring n)."""
    head = {"id": "chatcmpl-one", "created": int(time.time()), "model": "fake-model", "system_fingerprint": "fp"}
    body = completion_body(head, [Reply(content=content)], usage_body(100, 10, 0, 0))
    return RawReply(200, json.dumps(body).encode(), "application/json")


def with_model(
    srv: FakeOpenAIServer,
    work: Callable[[ChatModel], Awaitable[T]],
    *,
    cache: Path | None = None,
    context_window: int | None = None,
) -> T:
    """Run ``work(model)`` against the fake server with the real SDK, closing the client afterwards."""
    import asyncio

    async def main() -> T:
        model = OpenAICompatModel(
            "fake-model", base_url=srv.base_url, api_key="sk-test", max_retries=0, context_window=context_window
        )
        try:
            return await work(CachedModel(model, CallCache(cache)) if cache is not None else model)
        finally:
            await model.aclose()

    return asyncio.run(main())
