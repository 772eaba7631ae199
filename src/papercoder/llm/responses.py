"""What a Chat Completions server answers, read into a ``Completion``: pure functions over the SDK's objects, and the
errors for answers that are not usable (``openai_compat.py`` retries or reports them)."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletion

from papercoder.llm.base import Completion, Usage


class BadResponseError(Exception):
    """A 200 answer that is not a usable chat completion; retried, then reported."""


#: An answer longer than this is refused: no step needs it (a long source file is ~100k characters), and a server
#: that rambles without a token limit would otherwise fill memory and the next prompts.
MAX_ANSWER_CHARS = 4_000_000


class AnswerTooLongError(Exception):
    """An answer past ``max_answer_chars``; not retried, since a retry would cost as much again."""


class StreamBrokenError(BadResponseError):
    """A streamed answer that stopped before it finished (stall, dropped connection); the call is made again."""


def error_message(data: object) -> str | None:
    """The message of an error object a server sent with status 200 (``{"error": {"message": ...}}``)."""
    inner = data.get("error") if isinstance(data, dict) else None
    if isinstance(inner, dict):
        return str(inner.get("message") or inner.get("code") or "no message").splitlines()[0][:300]
    return str(inner).splitlines()[0][:300] if inner else None


def completion_from_response(resp: object) -> Completion:
    """Turn the SDK's answer into a ``Completion``, rejecting bodies that are not chat completions."""
    extra = resp.model_extra if isinstance(resp, ChatCompletion) else None
    if (message := error_message(resp if isinstance(resp, dict) else extra)) is not None:
        raise BadResponseError(f"the server answered 200 with an error: {message}")
    if not isinstance(resp, ChatCompletion):
        snippet = str(resp).strip().replace("\n", " ")[:80]
        raise BadResponseError(f"the server answered 200 with a body that is not a chat completion: {snippet!r}")
    if not resp.choices:
        raise BadResponseError("the server answered a chat completion with no choices")
    texts = [c.message.content or "" for c in resp.choices]
    reasons: list[str] = [str(c.finish_reason or "") for c in resp.choices]
    if len(texts) == 1 and not texts[0].strip() and reasons[0] != "length":
        raise BadResponseError("the server answered an empty message")
    thinking = [reasoning_field(c.message) for c in resp.choices]
    return Completion(
        texts=texts,
        finish_reasons=reasons,
        usage=usage_of(resp.usage),
        model=resp.model,
        reasoning=thinking if any(thinking) else [],
    )


def reasoning_field(message: object) -> str:
    """The thinking a server sends beside the answer (DeepSeek and vLLM: ``reasoning_content``; OpenRouter:
    ``reasoning``), an extra field the SDK keeps as an attribute; ``""`` when there is none."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def usage_of(raw: Any) -> Usage:
    """The SDK's ``CompletionUsage`` (or ``None``) as a ``Usage``."""
    if raw is None:
        return Usage()
    details = raw.prompt_tokens_details
    cdetails = raw.completion_tokens_details
    return Usage(
        prompt_tokens=raw.prompt_tokens or 0,
        completion_tokens=raw.completion_tokens or 0,
        cached_tokens=(details.cached_tokens or 0) if details else 0,
        reasoning_tokens=(cdetails.reasoning_tokens or 0) if cdetails else 0,
        reported_cost_usd=reported_cost(raw),
    )


def reported_cost(raw: Any) -> float | None:
    """The provider's own charge for the call, where its usage carries one (OpenRouter: ``usage.cost``, USD)."""
    extra = getattr(raw, "model_extra", None) or {}
    value = extra.get("cost", getattr(raw, "cost", None))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None
