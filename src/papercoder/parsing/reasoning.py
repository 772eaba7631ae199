"""Split a reasoning model's visible thinking (``<think>…</think>``) from its answer.

DeepSeek-R1 and its distills, QwQ, Qwen3 and others served without a reasoning parser put their chain of thought in
the answer text, wrapped in ``<think>`` (sometimes ``<thinking>`` or ``<reasoning>``) tags; some templates open the
tag in the prompt, so the answer holds only the closing one. That text must stay out of every parsed artifact (a
plan, a config, a file), yet it is worth keeping for a reader.
"""

from __future__ import annotations

import re

_TAGS = "think|thinking|reasoning|thought"
_LEADING = re.compile(rf"\A\s*<(?P<tag>{_TAGS})>(?P<body>.*?)</(?P=tag)>\s*", re.DOTALL | re.IGNORECASE)
_CLOSE_ONLY = re.compile(rf"\A(?P<body>(?:(?!<(?:{_TAGS})>).)*?)</(?:{_TAGS})>\s*", re.DOTALL | re.IGNORECASE)
_UNCLOSED = re.compile(rf"\A\s*<(?:{_TAGS})>", re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str]:
    """The answer without its leading thinking, and the thinking.

    Only thinking at the start of the answer is taken: tags later in the text may be the answer's own content (a
    file that parses such tags, say). Several leading blocks are all taken. A lone closing tag counts when nothing
    before it opens one (the template opened it). An opening tag that never closes means the answer was cut off
    while thinking: all of it is thinking, and the answer is empty.

    Args:
        text: One answer as the model gave it.

    Returns:
        ``(answer, reasoning)``; ``reasoning`` is ``""`` when there was none, and ``answer`` is then ``text``
        unchanged.
    """
    thoughts: list[str] = []
    rest = text
    while match := _LEADING.match(rest):
        thoughts.append(match.group("body").strip())
        rest = rest[match.end() :]
    if not thoughts and (match := _CLOSE_ONLY.match(rest)):
        thoughts.append(match.group("body").strip())
        rest = rest[match.end() :]
    if _UNCLOSED.match(rest):
        thoughts.append(rest.strip()[rest.strip().index(">") + 1 :].strip())
        rest = ""
    if not thoughts:
        return text, ""
    return rest, "\n\n".join(t for t in thoughts if t)
