"""Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, llama.cpp, OpenRouter, ...).

Transport faults (429 with Retry-After, 5xx, timeouts, dropped connections) are retried by the SDK's own
backoff. A 200 whose body is not a chat completion (a proxy's HTML page, no choices, an empty answer) is retried
here with tenacity, since the SDK hands such bodies back as plain text.

Answers are streamed (``stream=True``, the default; ``n > 1`` requests are not): a connection that stalls
mid-answer is noticed after ``idle_timeout_s`` without data instead of the whole ``timeout_s``, and ``on_token``
sees the text arrive. The joined answer, its finish reason and usage (``stream_options.include_usage``) are the
same ``Completion`` a plain request gives. A stream that breaks off (stall, dropped connection, no finish) is
retried as a whole, like a bad body; a server that rejects streaming is asked without it from then on.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import openai
from openai import AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from papercoder.errors import ModelError
from papercoder.llm.base import CallSettings, Completion, Message
from papercoder.llm.families import takes_system_role
from papercoder.llm.ratelimit import RateLimiter
from papercoder.llm.responses import (
    MAX_ANSWER_CHARS,
    AnswerTooLongError,
    BadResponseError,
    StreamBrokenError,
    completion_from_response,
    error_message,
    reasoning_field,
    usage_of,
)
from papercoder.llm.urls import UrlCredentials, client_settings, redact, split_base_url
from papercoder.paper.tokens import count_tokens

__all__ = [
    "MAX_ANSWER_CHARS",
    "AnswerTooLongError",
    "BadResponseError",
    "OpenAICompatModel",
    "StreamBrokenError",
    "completion_from_response",
    "redact",
]


def _fold_system(messages: list[Message]) -> list[Message]:
    """Merge system messages into the first user turn, for models that reject the system role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [m for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0] = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


# Printable ASCII but '%' stays as it is in the step header; the rest is percent-encoded (UTF-8).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def step_header(step: str) -> str:
    """The step name as an HTTP header value: headers must be ASCII, and a step names a planned file, which may not
    be (``coding/modèle.py`` → ``coding/mod%C3%A8le.py``); ``urllib.parse.unquote`` gives the name back."""
    return quote(step, safe=_HEADER_SAFE)


TokenCallback = Callable[[str, str], None]
"""Called as ``on_token(step, text)`` with each piece of a streamed answer as it arrives."""


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
        stream: bool = True,
        idle_timeout_s: float | None = 60.0,
        on_token: TokenCallback | None = None,
        credentials: UrlCredentials | None = None,
        max_answer_chars: int = MAX_ANSWER_CHARS,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        """``timeout_s`` bounds each request (a streamed answer included); ``idle_timeout_s`` bounds the silence
        between two pieces of a streamed answer once its text has started (reasoning models think in silence
        before their first token, which only ``timeout_s`` bounds); ``None`` leaves only ``timeout_s``.
        ``credentials`` are those taken out of the base URL (basic auth, query keys): sent, never shown. A streamed
        answer is read no further than ``max_answer_chars`` characters (``AnswerTooLongError``, a ``ModelError``).
        ``rate_limiter`` (``llm/ratelimit.py``) spaces the calls and reads every response's rate-limit headers."""
        self._model = model
        self._name = name or model
        if base_url is not None:  # a URL with credentials in it is split here too, for callers of the library
            base_url, found = split_base_url(base_url)
            credentials = credentials or found
        self._base_url = base_url
        self._api_key = api_key
        self._context_window = context_window
        self._structured = structured_output
        # Known up front from the family table for models that reject the system role or are advised against it
        # (DeepSeek-R1); learnt from a 400 for any other.
        self._fold_system = not (takes_system_role(model) and takes_system_role(self._name))
        self._bad_body_attempts = bad_body_attempts
        self._stream = stream
        self._stream_usage = True
        self._timeout_s = timeout_s
        self._idle_timeout_s = idle_timeout_s
        self.on_token = on_token
        self.max_answer_chars = max_answer_chars
        self.streamed_pieces = 0  # pieces of streamed text received, over the model's life
        credentials = credentials or UrlCredentials()
        # Every text that leaves this class (errors end up on screen and in manifest.json) is redacted of these.
        self._secrets = [*([api_key] if api_key != "not-needed" else []), *credentials.secrets()]
        url, headers, query = client_settings(base_url, credentials) if base_url else (None, {}, {})
        self.rate_limiter = rate_limiter
        # The SDK's own client with a hook, so the limiter sees the headers of every response, retried 429s too.
        hooks = {"response": [self._observe]} if rate_limiter is not None else None
        self._client = openai.AsyncOpenAI(
            http_client=openai.DefaultAsyncHttpxClient(event_hooks=hooks) if hooks else None,
            api_key=api_key,
            base_url=url,
            timeout=timeout_s,
            max_retries=max_retries,
            default_headers=headers or None,
            default_query=query or None,
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

    async def _observe(self, response: Any) -> None:
        if self.rate_limiter is not None:
            self.rate_limiter.observe({k.lower(): v for k, v in response.headers.items()}, response.status_code)

    def _request(self, messages: list[Message], settings: CallSettings, stream: bool = False) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self._model,
            "messages": _fold_system(messages) if self._fold_system else list(messages),
        }
        if stream:
            kwargs["stream"] = True
            if self._stream_usage:
                kwargs["stream_options"] = {"include_usage": True}
        if settings.max_tokens is not None:
            # max_completion_tokens is the current name; reasoning models reject max_tokens.
            kwargs["max_completion_tokens"] = settings.max_tokens
        if settings.temperature is not None:
            kwargs["temperature"] = settings.temperature
        if settings.n != 1:
            kwargs["n"] = settings.n
        if settings.reasoning_effort:
            kwargs["reasoning_effort"] = settings.reasoning_effort
        if settings.seed is not None:
            kwargs["seed"] = settings.seed
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
            kwargs["extra_headers"] = {"X-Papercoder-Step": step_header(settings.step)}
        return kwargs

    async def _once(self, messages: list[Message], settings: CallSettings) -> Completion:
        streaming = self._stream and settings.n == 1
        try:
            if streaming:
                return await self._streamed(messages, settings)
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
            # A server that does not stream, or does not report usage in streams: ask the plain way from now on.
            if streaming and "stream_options" in text and self._stream_usage:
                self._stream_usage = False
                return await self._once(messages, settings)
            if streaming and "stream" in text:
                self._stream = False
                return await self._once(messages, settings)
            raise
        except ValueError as exc:
            # The SDK raises a bare JSONDecodeError for a truncated or empty JSON body, and does not retry it.
            raise BadResponseError(f"the server answered a body that is not valid JSON ({exc})") from None
        return completion_from_response(resp)

    async def _streamed(self, messages: list[Message], settings: CallSettings) -> Completion:
        stream = await self._client.chat.completions.create(**self._request(messages, settings, stream=True))
        try:
            if "text/event-stream" not in stream.response.headers.get("content-type", ""):
                return await self._plain_body(stream)
            async with asyncio.timeout(self._timeout_s):
                return await self._collect(stream, settings)
        except TimeoutError:
            raise StreamBrokenError(f"the streamed answer was not finished after {self._timeout_s:g} s") from None
        except openai.APIStatusError:
            raise
        except openai.APIError as exc:  # the connection failed or timed out mid-stream, or an error event came
            if exc.body is not None and not isinstance(exc, openai.APIConnectionError):
                raise StreamBrokenError(f"the answer stream sent an error event: {exc.message}") from None
            raise StreamBrokenError(f"the answer stream broke off ({type(exc).__name__}: {exc})") from None
        except ValueError as exc:  # an event whose data is not JSON
            raise StreamBrokenError(f"the answer stream sent an event that is not JSON ({exc})") from None
        finally:
            await stream.close()

    async def _collect(self, stream: AsyncStream[ChatCompletionChunk], settings: CallSettings) -> Completion:
        """Join a streamed answer's pieces; the silence between pieces is bounded once the text has started."""
        parts: list[str] = []
        thinking: list[str] = []
        size = 0
        reason = ""
        usage: Any = None
        model = ""
        while True:
            try:
                if (parts or thinking) and self._idle_timeout_s is not None:
                    async with asyncio.timeout(self._idle_timeout_s):
                        chunk = await stream.__anext__()
                else:
                    chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise StreamBrokenError(
                    f"the answer stream stalled: no data for {self._idle_timeout_s:g} s mid-answer"
                ) from None
            model = chunk.model or model
            usage = chunk.usage or usage
            for choice in chunk.choices or []:
                if choice.index != 0:
                    continue
                if thought := reasoning_field(choice.delta):
                    thinking.append(thought)
                if piece := (choice.delta.content if choice.delta else None):
                    size += len(piece)
                    if size > self.max_answer_chars:  # stop reading: the stream is closed by the caller
                        raise AnswerTooLongError(f"the answer passed {self.max_answer_chars:,} characters")
                    parts.append(piece)
                    self.streamed_pieces += 1
                    if self.on_token is not None:
                        self.on_token(settings.step, piece)
                reason = str(choice.finish_reason or reason)
        if not reason:
            raise StreamBrokenError("the answer stream ended before the answer finished")
        text = "".join(parts)
        if not text.strip() and reason != "length":
            raise BadResponseError("the server answered an empty message")
        if usage is None:
            # The server ignored include_usage: count the rest of the run's calls the plain way.
            self._stream = False
        reasoning = ["".join(thinking)] if thinking else []
        return Completion(
            texts=[text], finish_reasons=[reason], usage=usage_of(usage), model=model, reasoning=reasoning
        )

    async def _plain_body(self, stream: AsyncStream[ChatCompletionChunk]) -> Completion:
        """A 200 that is not an event stream: a whole chat completion (the server ignores ``stream``) or junk."""
        raw = await stream.response.aread()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            if "json" in stream.response.headers.get("content-type", ""):
                raise BadResponseError(f"the server answered a body that is not valid JSON ({exc})") from None
            return completion_from_response(raw.decode("utf-8", errors="replace"))
        if (message := error_message(data)) is not None:
            raise BadResponseError(f"the server answered 200 with an error: {message}")
        try:
            done = completion_from_response(ChatCompletion.model_validate(data))
        except ValidationError:
            return completion_from_response(str(data))
        self._stream = False
        return done

    async def _admit(self, messages: list[Message], settings: CallSettings) -> int:
        """Wait for the rate limiter, if any; the tokens the call was admitted with (prompt and answer limit, as
        providers count them against a tokens-per-minute limit)."""
        if self.rate_limiter is None:
            return 0
        estimate = 0
        if self.rate_limiter.wants_tokens():
            estimate = sum(count_tokens(m["content"]) for m in messages) + (settings.max_tokens or 0) * settings.n
        await self.rate_limiter.acquire(estimate)
        return estimate

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

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
                    estimate = await self._admit(messages, settings)
                    done = await self._once(messages, settings)
                    if self.rate_limiter is not None:
                        self.rate_limiter.settle(estimate, done.usage.prompt_tokens + done.usage.completion_tokens)
                    # A plain (not streamed) body is read whole by the SDK; the bound still keeps it out of the run.
                    if any(len(text) > self.max_answer_chars for text in done.texts):
                        raise AnswerTooLongError(f"the answer passed {self.max_answer_chars:,} characters")
                    return done
        except BadResponseError as exc:
            raise ModelError(self._redact(f"{where} failed: {exc} (after {self._bad_body_attempts} tries)")) from None
        except AnswerTooLongError as exc:
            raise ModelError(
                f"{where} failed: {exc}, so it was refused; the model rambles without end: give the server a token "
                "limit, or try a stronger --model"
            ) from None
        except openai.APIStatusError as exc:
            msg = _status_message(exc)
            raise ModelError(
                self._redact(f"{where} failed: HTTP {exc.status_code}: {msg}{_hint(exc.status_code)}")
            ) from None
        except openai.APITimeoutError:
            raise ModelError(f"{where} failed: the server did not answer in time (after retries)") from None
        except openai.APIConnectionError as exc:
            raise ModelError(
                self._redact(f"{where} failed: cannot reach {self._base_url or 'the API'} ({exc})")
            ) from None
        except openai.APIError as exc:  # any other SDK error (a body that fails validation, ...)
            raise ModelError(self._redact(f"{where} failed: {type(exc).__name__}: {exc}")) from None
        raise ModelError(f"{where} failed: no answer")  # pragma: no cover - AsyncRetrying always returns or raises


def _status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"]).splitlines()[0][:300]
    if isinstance(body, str) and body.strip():
        # A proxy's page or plain text: its words, without the markup (redacted by the caller like the rest).
        return " ".join(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", body).split())[:300]
    return str(exc.message).splitlines()[0][:300]


def _hint(status: int) -> str:
    if status == 401:
        return " — check the API key (OPENAI_API_KEY or the variable named by --api-key-env)"
    if status == 404:
        return " — check --model and --base-url"
    if status == 429:
        return " — rate limit or quota: wait, lower --concurrency, or check your plan"
    return ""
