"""Model access: one ``ChatModel`` interface, providers behind it, a content-addressed call cache."""

from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, Usage

__all__ = ["CallSettings", "ChatModel", "Completion", "Message", "Usage"]
