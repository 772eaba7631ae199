"""Test doubles that speak real protocols: a loopback OpenAI-compatible server (``openai_server``)."""

from .openai_server import (
    Answer,
    DropConnection,
    ErrorReply,
    FakeOpenAIServer,
    LatencyModel,
    RawReply,
    RecordedRequest,
    Reply,
    Responder,
    ScriptedResponder,
    ScriptExhaustedError,
    Stall,
    StreamError,
)

__all__ = [
    "Answer",
    "DropConnection",
    "ErrorReply",
    "FakeOpenAIServer",
    "LatencyModel",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptExhaustedError",
    "ScriptedResponder",
    "Stall",
    "StreamError",
]
