"""Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, llama.cpp, OpenRouter, ...).

Transport faults (429 with Retry-After, 5xx, timeouts, dropped connections) are retried by the SDK's own
backoff. A 200 whose body is not a chat completion (a proxy's HTML page, no choices, an empty answer) is retried
here with tenacity, since the SDK hands such bodies back as plain text.
"""

from __future__ import annotations

import re
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from papercoder.errors import ModelError
from papercoder.llm.base import CallSettings, Completion, Message, Usage
from papercoder.paper.tokens import count_tokens

# Keys and bearer tokens must never reach an error message, a log or the run directory.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+")
_KEYLIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove API keys and Authorization values from ``text``."""
    for secret in secrets or []:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    return _KEYLIKE.sub("***", text)


class BadResponseError(Exception):
    """A 200 answer that is not a usable chat completion; retried, then reported."""


def _fold_system(messages: list[Message]) -> list[Message]:
    """Merge system messages into the first user turn, for models that reject the system role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [m for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0] = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


def completion_from_response(resp: object) -> Completion:
    """Turn the SDK's answer into a ``Completion``, rejecting bodies that are not chat completions."""
    if not isinstance(resp, ChatCompletion):
        snippet = str(resp).strip().replace("\n", " ")[:80]
        raise BadResponseError(f"the server answered 200 with a body that is not a chat completion: {snippet!r}")
    if not resp.choices:
        raise BadResponseError("the server answered a chat completion with no choices")
    texts = [c.message.content or "" for c in resp.choices]
    reasons: list[str] = [str(c.finish_reason or "") for c in resp.choices]
    if len(texts) == 1 and not texts[0].strip() and reasons[0] != "length":
        raise BadResponseError("the server answered an empty message")
    usage = Usage()
    if resp.usage is not None:
        details = resp.usage.prompt_tokens_details
        cdetails = resp.usage.completion_tokens_details
        usage = Usage(
            prompt_tokens=resp.usage.prompt_tokens,
            completion_tokens=resp.usage.completion_tokens,
            cached_tokens=(details.cached_tokens or 0) if details else 0,
            reasoning_tokens=(cdetails.reasoning_tokens or 0) if cdetails else 0,
        )
    return Completion(texts=texts, finish_reasons=reasons, usage=usage, model=resp.model)


class OpenAICompatModel:
    """A model served over the OpenAI Chat Completions API."""

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        base_url: str | None = None,
        api_key: str = "not-needed",
        timeout_s: float = 600.0,
        max_retries: int = 5,
        context_window: int | None = None,
        structured_output: bool = True,
        bad_body_attempts: int = 4,
    ) -> None:
        self._model = model
        self._name = name or model
        self._base_url = base_url
        self._api_key = api_key
        self._context_window = context_window
        self._structured = structured_output
        self._fold_system = False
        self._bad_body_attempts = bad_body_attempts
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int | None:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)

    async def aclose(self) -> None:
        await self._client.close()

    def _request(self, messages: list[Message], settings: CallSettings) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self._model,
            "messages": _fold_system(messages) if self._fold_system else list(messages),
        }
        if settings.max_tokens is not None:
            # max_completion_tokens is the current name; reasoning models reject max_tokens.
            kwargs["max_completion_tokens"] = settings.max_tokens
        if settings.temperature is not None:
            kwargs["temperature"] = settings.temperature
        if settings.n != 1:
            kwargs["n"] = settings.n
        if settings.reasoning_effort:
            kwargs["reasoning_effort"] = settings.reasoning_effort
        if settings.json_schema is not None and self._structured:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": settings.schema_name,
                    "schema": settings.json_schema,
                    "strict": False,
                },
            }
        if settings.step:
            kwargs["extra_headers"] = {"X-Papercoder-Step": settings.step}
        return kwargs

    async def _once(self, messages: list[Message], settings: CallSettings) -> Completion:
        try:
            resp = await self._client.chat.completions.create(**self._request(messages, settings))
        except openai.BadRequestError as exc:
            text = str(exc).lower()
            # Some servers reject JSON-schema output or the system role: adapt once, then ask again.
            if "response_format" in text and self._structured and settings.json_schema is not None:
                self._structured = False
                return await self._once(messages, settings)
            if "system" in text and "role" in text and not self._fold_system:
                self._fold_system = True
                return await self._once(messages, settings)
            raise
        except ValueError as exc:
            # The SDK raises a bare JSONDecodeError for a truncated or empty JSON body, and does not retry it.
            raise BadResponseError(f"the server answered a body that is not valid JSON ({exc})") from None
        return completion_from_response(resp)

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        where = f"step '{settings.step}'" if settings.step else "a model call"
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(BadResponseError),
                stop=stop_after_attempt(self._bad_body_attempts),
                wait=wait_exponential_jitter(multiplier=0.5, max=20),
                reraise=True,
            ):
                with attempt:
                    return await self._once(messages, settings)
        except BadResponseError as exc:
            raise ModelError(f"{where} failed: {exc} (after {self._bad_body_attempts} tries)") from None
        except openai.APIStatusError as exc:
            msg = redact(_status_message(exc), [self._api_key])
            raise ModelError(f"{where} failed: HTTP {exc.status_code}: {msg}{_hint(exc.status_code)}") from None
        except openai.APITimeoutError:
            raise ModelError(f"{where} failed: the server did not answer in time (after retries)") from None
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"{where} failed: cannot reach {self._base_url or 'the API'} ({redact(str(exc))})"
            ) from None
        raise ModelError(f"{where} failed: no answer")  # pragma: no cover - AsyncRetrying always returns or raises


def _status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"]).splitlines()[0][:300]
    return str(exc.message).splitlines()[0][:300]


def _hint(status: int) -> str:
    if status == 401:
        return " — check the API key (OPENAI_API_KEY or the variable named by --api-key-env)"
    if status == 404:
        return " — check --model and --base-url"
    if status == 429:
        return " — rate limit or quota: wait, lower --concurrency, or check your plan"
    return ""
