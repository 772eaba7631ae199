"""OpenAI Chat Completions wire format: request validation, usage accounting, response bodies, stream chunks.

Error messages, ``param`` and ``code`` values copy the real API's wording for the same mistakes, so a client's
handling of them (e.g. retrying without ``response_format``) is exercised against realistic text.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from .replies import ErrorReply, Reply

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
RESPONSE_FORMATS = ("json_object", "json_schema", "text")
MAX_N = 128
# OpenAI's prompt cache: hits only from 1024 tokens on, in steps of 128 tokens.
CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128


def _bad(message: str, param: str | None = None, code: str | None = None) -> ErrorReply:
    return ErrorReply(400, message, type="invalid_request_error", code=code, param=param)


def _missing(param: str) -> ErrorReply:
    return _bad(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _invalid_value(value: object, param: str, allowed: tuple[str, ...]) -> ErrorReply:
    quoted = [f"'{a}'" for a in allowed]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    return _bad(f"Invalid value: '{value}'. Supported values are: {listed}.", param, "invalid_value")


def validate_chat_request(body: dict[str, Any]) -> ErrorReply | None:
    """The 400 the real API would give for this body, or ``None`` when it is acceptable.

    Only what papercoder (and the SDK) send is checked; unknown parameters are accepted, like compatible
    servers do.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _bad("you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list):
        return _bad(
            "Invalid type for 'messages': expected an array, but got an object instead.",
            "messages",
            "invalid_type",
        )
    if not messages:
        return _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            return _bad(
                f"Invalid type for 'messages[{i}]': expected an object, but got a string instead.",
                f"messages[{i}]",
                "invalid_type",
            )
        role = msg.get("role")
        if role is None:
            return _missing(f"messages[{i}].role")
        if role not in ROLES:
            return _invalid_value(role, f"messages[{i}].role", ROLES)
        # Assistant turns may carry only tool calls; every other role needs content.
        if role != "assistant" and "content" not in msg:
            return _missing(f"messages[{i}].content")
        if role == "tool" and "tool_call_id" not in msg:
            return _missing(f"messages[{i}].tool_call_id")
    error = _validate_response_format(body.get("response_format"), messages)
    if error is not None:
        return error
    n = body.get("n")
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool):
            return _bad(
                f"Invalid type for 'n': expected an integer, but got {type(n).__name__} instead.",
                "n",
                "invalid_type",
            )
        if n < 1:
            return _bad(
                f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.",
                "n",
                "integer_below_min_value",
            )
        if n > MAX_N:
            return _bad(
                f"Invalid 'n': integer above maximum value. Expected a value <= {MAX_N}, but got {n} instead.",
                "n",
                "integer_above_max_value",
            )
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
        side = "above maximum" if temperature > 2 else "below minimum"
        bound = "<= 2" if temperature > 2 else ">= 0"
        return _bad(
            f"Invalid 'temperature': decimal {side} value. Expected a value {bound}, but got {temperature} instead.",
            "temperature",
            f"decimal_{side.replace(' ', '_')}_value",
        )
    if body.get("stream_options") is not None and not body.get("stream"):
        return _bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    return None


def _validate_response_format(fmt: object, messages: list[Any]) -> ErrorReply | None:
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        return _bad(
            "Invalid type for 'response_format': expected an object, but got a string instead.",
            "response_format",
            "invalid_type",
        )
    kind = fmt.get("type")
    if kind is None:
        return _missing("response_format.type")
    if kind not in RESPONSE_FORMATS:
        return _invalid_value(kind, "response_format.type", RESPONSE_FORMATS)
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            return _missing("response_format.json_schema")
        name = spec.get("name")
        if not isinstance(name, str):
            return _missing("response_format.json_schema.name")
        if not name or len(name) > 64 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in name):
            return _bad(
                "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                "response_format.json_schema.name",
                "invalid_value",
            )
    if kind == "json_object" and "json" not in json.dumps(messages).lower():
        # A real (and surprising) rule of the API.
        return _bad(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
            "messages",
        )
    return None


def prompt_text(body: dict[str, Any]) -> str:
    """The request's prompt as one string: the basis of the token estimate and of the prefix cache."""
    return json.dumps(body.get("messages", []))


def estimate_tokens(text: str) -> int:
    """About four characters a token, like English text in OpenAI's tokenizers."""
    return len(text) // 4


def completion_tokens_of(reply: Reply) -> int:
    """The reply's completion tokens: given, or estimated from its content and tool-call arguments."""
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    text = reply.content or ""
    for call in reply.tool_calls or []:
        text += str(call.get("function", {}).get("arguments", ""))
    return len(text) // 4 + 1


class PrefixCache:
    """A provider-side prompt cache: a prompt reuses the longest prefix it shares with any earlier prompt.

    Like OpenAI's automatic caching, hits count only from 1024 tokens on, in whole steps of 128 tokens, and
    only prompts for the same model share a cache; a prompt is stored once it has been answered. With the
    four-characters-a-token estimate a step is 512 characters, so the cache keeps a hash chain over 512-char
    blocks (the way vLLM's prefix cache keys its KV blocks): a hit of k blocks means some earlier prompt had
    the same first k blocks, i.e. ``cached = 128 * (longest common prefix in chars // 512)``. That costs
    O(prompt length) per request whatever the history, where comparing against every earlier prompt would not.
    """

    BLOCK_CHARS = CACHE_STEP_TOKENS * 4

    def __init__(self) -> None:
        self._blocks: dict[str, set[bytes]] = {}
        self._lock = threading.Lock()

    @classmethod
    def _chain(cls, prompt: str) -> list[bytes]:
        """Digest of each whole block together with everything before it."""
        digests: list[bytes] = []
        previous = b""
        for start in range(0, len(prompt) - cls.BLOCK_CHARS + 1, cls.BLOCK_CHARS):
            block = prompt[start : start + cls.BLOCK_CHARS].encode()
            previous = hashlib.blake2b(previous + block, digest_size=16).digest()
            digests.append(previous)
        return digests

    def cached_tokens(self, model: str, prompt: str) -> int:
        """Tokens of ``prompt`` the cache would serve."""
        with self._lock:
            known = self._blocks.get(model, set())
            hits = 0
            for digest in self._chain(prompt):
                if digest not in known:
                    break
                hits += 1
        tokens = hits * CACHE_STEP_TOKENS
        return tokens if tokens >= CACHE_MIN_TOKENS else 0

    def add(self, model: str, prompt: str) -> None:
        """Remember an answered prompt."""
        chain = self._chain(prompt)
        with self._lock:
            self._blocks.setdefault(model, set()).update(chain)


def usage_body(prompt_tokens: int, completion_tokens: int, cached_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    """The ``usage`` object, with the detail fields OpenAI sends."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def message_body(reply: Reply) -> dict[str, Any]:
    """The ``message`` of one choice."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    if reply.reasoning_content is not None:
        message["reasoning_content"] = reply.reasoning_content
    return message


def completion_body(head: dict[str, Any], replies: list[Reply], usage: dict[str, Any]) -> dict[str, Any]:
    """A whole ``chat.completion``; ``head`` holds id, created, model and system_fingerprint."""
    choices = [
        {"index": i, "message": message_body(r), "logprobs": None, "finish_reason": r.finish_reason}
        for i, r in enumerate(replies)
    ]
    return {
        "object": "chat.completion",
        **head,
        "choices": choices,
        "usage": usage,
        "service_tier": "default",
    }


def split_text(text: str, pieces: int) -> list[str]:
    """``text`` cut into at most ``pieces`` parts that join back to it exactly (none empty)."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_deltas(reply: Reply, pieces: int) -> list[dict[str, Any]]:
    """The deltas of one choice: a role delta, content pieces, then tool-call pieces (no finish chunk)."""
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": "" if reply.content is not None else None, "refusal": None}
    ]
    deltas += [{"reasoning_content": part} for part in split_text(reply.reasoning_content or "", pieces)]
    deltas += [{"content": part} for part in split_text(reply.content or "", pieces)]
    for i, call in enumerate(reply.tool_calls or []):
        function = call.get("function", {})
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": call.get("id"),
                        "type": call.get("type", "function"),
                        "function": {"name": function.get("name"), "arguments": ""},
                    }
                ]
            }
        )
        for part in split_text(str(function.get("arguments", "")), pieces):
            deltas.append({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
    return deltas


def chunk_body(
    head: dict[str, Any], choices: list[dict[str, Any]], usage: dict[str, Any] | None, include_usage: bool
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``usage`` is present (``null`` until the last chunk) when asked for."""
    chunk: dict[str, Any] = {
        "object": "chat.completion.chunk",
        **head,
        "choices": choices,
        "service_tier": "default",
    }
    if include_usage:
        chunk["usage"] = usage
    return chunk


def stream_rounds(
    head: dict[str, Any], replies: list[Reply], usage: dict[str, Any], include_usage: bool, pieces: int
) -> list[list[dict[str, Any]]]:
    """The chunks of a streamed answer, in rounds sent together: round k carries delta k of every choice
    (choices interleave like OpenAI's), then the finish chunks, then the usage chunk when asked for."""
    deltas = [stream_deltas(r, pieces) for r in replies]

    def choice(i: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}

    rounds = [
        [chunk_body(head, [choice(i, d[k], None)], None, include_usage) for i, d in enumerate(deltas) if k < len(d)]
        for k in range(max(len(d) for d in deltas))
    ]
    rounds.append(
        [chunk_body(head, [choice(i, {}, r.finish_reason)], None, include_usage) for i, r in enumerate(replies)]
    )
    if include_usage:
        rounds.append([chunk_body(head, [], usage, include_usage)])
    return rounds


def unparsable_body() -> ErrorReply:
    """The real API's 400 for a body that is not a JSON object."""
    return _bad(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
        "JSON. If you have trouble figuring out how to fix this, please contact us through our help center "
        "at help.openai.com.)"
    )


def wrong_key(authorization: str) -> ErrorReply:
    """The real API's 401, showing only the ends of the key it got (like OpenAI does)."""
    sent = authorization.removeprefix("Bearer ").strip()
    shown = f"{sent[:3]}***{sent[-4:]}" if len(sent) > 8 else "***"
    return ErrorReply(
        401,
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def model_object(name: str) -> dict[str, Any]:
    """One entry of ``GET /v1/models``."""
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "papercoder-fake"}
