"""The model calls of a run (``calls/*.json``) for the report: each call's prompt, answer and folded thinking,
found from the file or stage it belongs to by its step name (``coding/model.py``, ``planning/plan``, ...).

A stage's prompts repeat the same long parts (the system message, the paper, the planning conversation): each
distinct message text is shown once, at its first place, and later copies link to it, so the report stays a few
times the size of the run rather than calls × paper.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_MESSAGE_CHARS = 200_000


@dataclass(frozen=True)
class MessageView:
    """One message of a prompt: its role, and its text or a link to the first place that text is shown."""

    role: str
    anchor: str
    text: str | None  # None: shown earlier, at ``anchor``
    note: str | None = None


@dataclass(frozen=True)
class CallView:
    """One cached call: the step, the prompt's messages, the answers, the thinking, usage."""

    key: str
    step: str
    messages: list[MessageView]
    answers: list[str]
    reasoning: list[str]
    tokens: str


@dataclass
class CallIndex:
    """Calls by step, in the order they were made (file times), and the steps' order."""

    by_step: dict[str, list[CallView]] = field(default_factory=dict)

    def for_step(self, step: str) -> list[CallView]:
        return self.by_step.get(step, [])

    def with_prefix(self, prefix: str) -> list[CallView]:
        return [c for step, calls in self.by_step.items() if step.startswith(prefix) for c in calls]


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def load_calls(folder: Path) -> CallIndex:
    """Every readable entry of ``folder`` (a run's ``calls/``); unreadable ones are skipped."""
    index = CallIndex()
    if not folder.is_dir():
        return index
    seen: set[str] = set()
    entries = sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for path in entries:
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("completion"), dict):
            continue
        messages = []
        for message in data.get("messages") or []:
            if not isinstance(message, dict):
                continue
            content = str(message.get("content", ""))
            digest = hashlib.sha256(content.encode("utf-8", errors="replace")).hexdigest()[:12]
            anchor = f"msg-{digest}"
            role = str(message.get("role", "?"))
            if digest in seen:
                messages.append(MessageView(role, anchor, None))
                continue
            seen.add(digest)
            note = None
            if len(content) > MAX_MESSAGE_CHARS:
                note = f"cut at {MAX_MESSAGE_CHARS:,} of {len(content):,} characters; the whole text is in {path.name}"
                content = content[:MAX_MESSAGE_CHARS]
            messages.append(MessageView(role, anchor, content, note))
        completion = data["completion"]
        usage = completion.get("usage") if isinstance(completion.get("usage"), dict) else {}
        tokens = f"{usage.get('prompt_tokens', 0):,} prompt + {usage.get('completion_tokens', 0):,} completion tokens"
        step = str(data.get("step") or "unnamed step")
        view = CallView(
            key=path.stem,
            step=step,
            messages=messages,
            answers=_texts(completion.get("texts")),
            reasoning=[r for r in _texts(completion.get("reasoning")) if r],
            tokens=tokens,
        )
        index.by_step.setdefault(step, []).append(view)
    return index
