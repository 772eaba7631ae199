"""The provider-neutral model interface every stage talks to."""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel, Field, field_validator

from papercoder.parsing.reasoning import split_reasoning

Role = Literal["system", "user", "assistant"]
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (``"\\ud800"`` in a JSON body decodes to one) replaced by U+FFFD: a
    surrogate cannot be encoded as UTF-8, so it would crash every cache, artifact or prompt write downstream."""
    return _LONE_SURROGATE.sub("\ufffd", text)


class Message(TypedDict):
    """One chat message, in the OpenAI wire shape."""

    role: Role
    content: str


class CallSettings(BaseModel):
    """Settings of one call.

    Everything except ``step`` and ``stream`` changes the answer, so it is part of the cache key.
    """

    model_config = {"frozen": True}

    step: str = Field(default="", description="Name of the pipeline step, for logs, headers and errors.")
    max_tokens: int | None = None
    temperature: float | None = None
    n: int = 1
    reasoning_effort: str | None = None
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    seed: int | None = None  # ``bench --seeds``: one sampling seed per repetition

    def cache_fields(self) -> dict[str, Any]:
        """The fields that change the model's output, for the cache key."""
        # An unset seed is left out so that the keys of calls cached before seeds existed stay valid.
        return self.model_dump(exclude={"step"} if self.seed is not None else {"step", "seed"})


class Usage(BaseModel):
    """Token usage of one call, as the provider reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    # What the provider itself billed for the call, when its usage says so (OpenRouter's ``usage.cost``).
    reported_cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        costs = [c for c in (self.reported_cost_usd, other.reported_cost_usd) if c is not None]
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            reported_cost_usd=sum(costs) if costs else None,
        )


class Completion(BaseModel):
    """The answer of one call: ``n`` texts (usually one), their finish reasons, and usage.

    ``reasoning`` holds, per text, the model's visible thinking: a provider's separate reasoning field
    (``reasoning_content``, ``reasoning``) or the ``<think>`` block that ``without_thinking`` took off the text.
    """

    texts: list[str]
    finish_reasons: list[str]
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    from_cache: bool = False
    reasoning: list[str] = Field(default_factory=list)

    @field_validator("texts", "reasoning")
    @classmethod
    def _no_surrogates(cls, texts: list[str]) -> list[str]:
        """Every answer passes here (a provider's, the embedded model's, a cached one): the model boundary."""
        return [replace_surrogates(t) for t in texts]

    def without_thinking(self) -> Completion:
        """This completion with leading ``<think>…</think>`` blocks moved from each text into ``reasoning``.

        Idempotent (a text already split has no leading block), so it can run on fresh and cached answers alike.
        """
        splits = [split_reasoning(text) for text in self.texts]
        if not any(thinking for _, thinking in splits):
            return self
        given = self.reasoning + [""] * (len(splits) - len(self.reasoning))
        thoughts = ["\n\n".join(t for t in (g, thinking) if t) for g, (_, thinking) in zip(given, splits, strict=False)]
        return self.model_copy(update={"texts": [answer for answer, _ in splits], "reasoning": thoughts})

    @property
    def text(self) -> str:
        """The first (usually only) answer."""
        return self.texts[0] if self.texts else ""

    @property
    def finish_reason(self) -> str:
        """The finish reason of the first answer."""
        return self.finish_reasons[0] if self.finish_reasons else ""


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers chat messages: a provider client, the embedded model, a cache around one, or your own
    object with these five members (``papercoder.run(..., model=obj)``)."""

    @property
    def name(self) -> str:
        """Stable model name, e.g. ``openai/gpt-4.1`` or ``local/smollm2``; part of the cache key."""
        ...

    @property
    def context_window(self) -> int | None:
        """Context length in tokens, when known."""
        ...

    def count_tokens(self, text: str) -> int:
        """Count tokens the way this model does (or a close estimate)."""
        ...

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        """Answer ``messages``; raise ``papercoder.errors.ModelError`` after retries are spent."""
        ...

    async def aclose(self) -> None:
        """Release connections or model memory."""
        ...


class ModelWrapper:
    """A ``ChatModel`` around another one: everything but ``complete`` is the inner model's."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_window(self) -> int | None:
        return self.inner.context_window

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        return await self.inner.complete(messages, settings)

    async def aclose(self) -> None:
        await self.inner.aclose()


class SeededModel(ModelWrapper):
    """Sends every call with ``seed`` (``bench --seeds``): each repetition samples, and is cached, on its own."""

    def __init__(self, inner: ChatModel, seed: int) -> None:
        super().__init__(inner)
        self.seed = seed

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        return await self.inner.complete(messages, settings.model_copy(update={"seed": self.seed}))
