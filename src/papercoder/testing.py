"""Test helpers for code that uses papercoder: a scripted in-process model.

``ScriptedModel`` answers each call by its step (``settings.step``: ``planning/plan``, ``analysis/main.py``,
``coding/main.py``, ``repair/checks``, ``repo/reproduce``, ``baseline/paper``, ...) and records every request, so a
test can run a whole method with no server and no key::

    model = ScriptedModel({"planning/plan": "...", "coding/": "```python\\nprint(1)\\n```"})
    papercoder.run("paper.md", "runs/t", model=model)
    assert model.steps[0] == "planning/plan"
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from papercoder.llm.base import CallSettings, Completion, Message, Usage

Answer = str | Callable[[str, list[Message]], str]


@dataclass(frozen=True)
class ScriptedRequest:
    """One call the model received."""

    step: str
    messages: list[Message]
    settings: CallSettings


class UnscriptedStep(AssertionError):
    """A call for a step the script has no answer for (a test failure, not a papercoder error)."""


class ScriptedModel:
    """A ``papercoder.ChatModel`` answering from a script keyed by step.

    A key matches the step exactly, or, when it ends with ``/`` or ``*``, every step it is a prefix of (the longest
    key wins). An answer is a string or a function ``(step, messages) -> str``. A step with no answer raises
    ``UnscriptedStep`` unless ``default`` is given. Usage is counted as whitespace-separated words, and
    ``count_tokens`` counts the same way, so budgets can be tested.
    """

    def __init__(
        self,
        answers: Mapping[str, Answer],
        *,
        name: str = "scripted/model",
        context_window: int | None = None,
        default: Answer | None = None,
    ) -> None:
        self.answers = dict(answers)
        self.default = default
        self._name = name
        self._context_window = context_window
        self.requests: list[ScriptedRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int | None:
        return self._context_window

    @property
    def steps(self) -> list[str]:
        """The steps asked, in order."""
        return [r.step for r in self.requests]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _answer_for(self, step: str) -> Answer:
        if step in self.answers:
            return self.answers[step]
        prefixes = [k for k in self.answers if k.endswith(("/", "*")) and step.startswith(k.rstrip("*"))]
        if prefixes:
            return self.answers[max(prefixes, key=len)]
        if self.default is not None:
            return self.default
        raise UnscriptedStep(f"ScriptedModel has no answer for step {step!r}; add it to the script")

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        with self._lock:
            self.requests.append(ScriptedRequest(settings.step, list(messages), settings))
        answer = self._answer_for(settings.step)
        text = answer(settings.step, messages) if callable(answer) else answer
        prompt = sum(self.count_tokens(m["content"]) for m in messages)
        usage = Usage(prompt_tokens=prompt, completion_tokens=self.count_tokens(text))
        texts = [text] * max(1, settings.n)
        return Completion(texts=texts, finish_reasons=["stop"] * len(texts), usage=usage, model=self._name)

    async def aclose(self) -> None:
        self.closed = True


__all__ = ["ScriptedModel", "ScriptedRequest", "UnscriptedStep"]
