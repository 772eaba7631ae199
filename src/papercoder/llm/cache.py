"""Content-addressed call cache: a re-run pays for no call it already made.

An entry lives at ``calls/<sha256>.json``; the key hashes the model name, the messages and the settings that change
the answer. Entries are written atomically and only after a successful call; an unreadable entry is ignored and
the call made again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from papercoder.fsutil import Flusher, atomic_write_json
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, ModelWrapper
from papercoder.llm.budget import Budget
from papercoder.llm.pricing import cost_usd


def cache_key(model: str, messages: list[Message], settings: CallSettings) -> str:
    """The sha256 of everything that determines the answer."""
    payload = {"model": model, "messages": messages, "settings": settings.cache_fields()}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CallCache:
    """A folder of cached answers."""

    def __init__(self, folder: Path, flusher: Flusher | None = None) -> None:
        self.folder = folder
        self.flusher = flusher  # the run's (``RunDir.flusher``): flushed with its files, not one by one
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        path = self.path(key)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            return Completion.model_validate(data["completion"]).model_copy(update={"from_cache": True})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None  # corrupt or partial: the call is made again and the entry rewritten

    def put(self, key: str, model: str, messages: list[Message], settings: CallSettings, done: Completion) -> None:
        entry = {
            "key": key,
            "model": model,
            "step": settings.step,
            "settings": settings.cache_fields(),
            "messages": messages,
            "completion": done.model_dump(exclude={"from_cache"}),
        }
        atomic_write_json(self.path(key), entry, self.flusher)

    def evict(self, key: str) -> None:
        """Forget an answer (e.g. one that failed validation), so the next run asks again."""
        self.path(key).unlink(missing_ok=True)


class CachedModel(ModelWrapper):
    """Wrap a ``ChatModel`` so every call goes through a ``CallCache`` (and, when given, a ``Budget``)."""

    def __init__(self, inner: ChatModel, cache: CallCache, budget: Budget | None = None) -> None:
        super().__init__(inner)
        self.cache = cache
        self.budget = budget

    def key(self, messages: list[Message], settings: CallSettings) -> str:
        return cache_key(self.inner.name, messages, settings)

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        key = self.key(messages, settings)
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.hits += 1
            self._spend(hit)
            return hit.without_thinking()  # an entry written before the split was made at this boundary
        if self.budget is not None and self.budget.has_limits:
            prompt = sum(self.inner.count_tokens(m["content"]) for m in messages)
            answer = settings.max_tokens * settings.n if settings.max_tokens else None
            self.budget.check(prompt, answer, settings.step, model=self.inner.name)
        self.cache.misses += 1
        # Every model goes through here: no stage ever sees a reasoning model's <think> block, and the cache
        # entry keeps it apart (``reasoning``) for the report.
        done = (await self.inner.complete(messages, settings)).without_thinking()
        self.cache.put(key, self.inner.name, messages, settings, done)
        self._spend(done)
        return done

    def _spend(self, done: Completion) -> None:
        if self.budget is not None:
            self.budget.spend(done.usage, cost_usd(self.inner.name, done.usage))
