"""Typed events of a run: what the terminal view, ``--json`` and ``RUN_DIR/events.jsonl`` consume.

A stage says what it does through these, never through strings to be parsed back: the view starts a stage's bar
when the stage's first call is sent (``CallStarted``), moves it on ``StageProgress`` and fills it only on a
``StageFinished`` that did not fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from papercoder.llm.base import Usage

FinishedStatus = Literal["done", "failed", "skipped", "kept", "loaded"]


@dataclass(frozen=True)
class StageStarted:
    """A stage begins; ``total`` is how many items (planning turns, files) its bar counts."""

    stage: str
    total: int = 1
    kind: Literal["stage_started"] = "stage_started"


@dataclass(frozen=True)
class StageProgress:
    """``completed`` of ``total`` items of a stage are done; ``item`` is the one being worked on or just done."""

    stage: str
    completed: int
    total: int
    item: str = ""
    kind: Literal["stage_progress"] = "stage_progress"


@dataclass(frozen=True)
class StageFinished:
    """A stage ended: ``done``, ``failed`` (with the error), ``skipped``, ``kept`` (repo edits kept, nothing
    redone) or ``loaded`` (finished in an earlier run, read from the run directory)."""

    stage: str
    status: FinishedStatus
    error: str | None = None
    kind: Literal["stage_finished"] = "stage_finished"


@dataclass(frozen=True)
class CallStarted:
    """A model call is about to be made (or served from the call cache)."""

    stage: str
    step: str
    kind: Literal["call_started"] = "call_started"


@dataclass(frozen=True)
class CallFinished:
    """A model call answered: its usage, whether the cache served it, its cost (None when the price is unknown)."""

    stage: str
    step: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    cost_usd: float | None = None
    kind: Literal["call_finished"] = "call_finished"


@dataclass(frozen=True)
class FileWritten:
    """A file of the run directory was written (``path`` relative to it, e.g. ``repo/main.py``)."""

    path: str
    kind: Literal["file_written"] = "file_written"


@dataclass(frozen=True)
class RunWarning:
    """Something the user should know (also recorded in the manifest's ``warnings``)."""

    message: str
    kind: Literal["warning"] = "warning"


@dataclass(frozen=True)
class Note:
    """A line of what a stage is doing that is not a count (``checks: no findings``, ``report written``).

    A ``lasting`` note is history a reader wants to keep (a debug iteration's error, the edits a fix applied):
    the terminal prints it as a line instead of only showing it on the stage's bar until the next one.
    """

    stage: str
    message: str
    lasting: bool = False
    kind: Literal["note"] = "note"


Event = StageStarted | StageProgress | StageFinished | CallStarted | CallFinished | FileWritten | RunWarning | Note
EventHandler = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The handler of a run nobody watches."""
    return None


def to_dict(event: Event) -> dict[str, object]:
    """The event as JSON-ready data (``kind`` says which)."""
    data = asdict(event)
    if isinstance(event, CallFinished):
        data["usage"] = event.usage.model_dump()
    return data


class EventLog:
    """Appends every event of a run, one JSON object a line, to ``events.jsonl`` (``RUN_DIR/events.jsonl``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: Event) -> None:
        if isinstance(event, FileWritten) and event.path == self.path.name:
            return
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(to_dict(event), ensure_ascii=False) + "\n")
        except OSError:
            return  # a log that cannot be written must not fail the run; the manifest holds the record


def as_lines(show: Callable[[str, str], None]) -> EventHandler:
    """A handler showing a run's notes and warnings as ``show(stage, text)`` lines (``stage`` is ``warning`` for a
    warning): for a caller that prints lines of several runs at once, as bench does."""

    def handle(event: Event) -> None:
        if isinstance(event, RunWarning):
            show("warning", event.message)
        elif isinstance(event, Note):
            show(event.stage, event.message)

    return handle


def fan_out(*handlers: EventHandler) -> EventHandler:
    """One handler calling each of ``handlers`` in turn."""

    def handle(event: Event) -> None:
        for handler in handlers:
            handler(event)

    return handle
