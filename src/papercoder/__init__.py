"""papercoder: turn a machine-learning paper into a runnable code repository.

The public API (everything else is internal and may change)::

    import papercoder

    result = papercoder.run("paper.pdf", "runs/paper", model="openai/o3-mini", reasoning_effort="high")
    print(result.status, result.repo, result.cost)

``run``/``run_async`` take every option of ``papercoder run`` (snake_case); ``model`` is a name (see
``get_model``) or any object satisfying the ``ChatModel`` protocol. ``papercoder.testing.ScriptedModel`` is a
scripted in-process model for tests.

Names are imported when first used (PEP 562), so that importing one submodule, as a PDF worker process does, does
not import the whole engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from papercoder._version import __version__

if TYPE_CHECKING:
    from papercoder._api import Estimate, RunOptions, RunResult, estimate, get_model, run, run_async
    from papercoder._events import (
        CallFinished,
        CallStarted,
        Event,
        FileWritten,
        Note,
        RunWarning,
        StageFinished,
        StageProgress,
        StageStarted,
    )
    from papercoder._methods import LADDER, METHODS
    from papercoder.errors import PapercoderError
    from papercoder.evaluation.judge import JudgeResult, judge_repository
    from papercoder.evaluation.rubric import GradeResult, grade_repository, load_rubric
    from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, Usage
    from papercoder.paper import Paper, load_paper

_WHERE: dict[str, str] = {
    "Estimate": "papercoder._api",
    "RunOptions": "papercoder._api",
    "RunResult": "papercoder._api",
    "estimate": "papercoder._api",
    "get_model": "papercoder._api",
    "run": "papercoder._api",
    "run_async": "papercoder._api",
    "CallFinished": "papercoder._events",
    "CallStarted": "papercoder._events",
    "Event": "papercoder._events",
    "FileWritten": "papercoder._events",
    "Note": "papercoder._events",
    "RunWarning": "papercoder._events",
    "StageFinished": "papercoder._events",
    "StageProgress": "papercoder._events",
    "StageStarted": "papercoder._events",
    "LADDER": "papercoder._methods",
    "METHODS": "papercoder._methods",
    "PapercoderError": "papercoder.errors",
    "JudgeResult": "papercoder.evaluation.judge",
    "judge_repository": "papercoder.evaluation.judge",
    "GradeResult": "papercoder.evaluation.rubric",
    "grade_repository": "papercoder.evaluation.rubric",
    "load_rubric": "papercoder.evaluation.rubric",
    "CallSettings": "papercoder.llm.base",
    "ChatModel": "papercoder.llm.base",
    "Completion": "papercoder.llm.base",
    "Message": "papercoder.llm.base",
    "Usage": "papercoder.llm.base",
    "Paper": "papercoder.paper",
    "load_paper": "papercoder.paper",
}

__all__ = [
    "LADDER",
    "METHODS",
    "CallFinished",
    "CallSettings",
    "CallStarted",
    "ChatModel",
    "Completion",
    "Estimate",
    "Event",
    "FileWritten",
    "GradeResult",
    "JudgeResult",
    "Message",
    "Note",
    "Paper",
    "PapercoderError",
    "RunOptions",
    "RunResult",
    "RunWarning",
    "StageFinished",
    "StageProgress",
    "StageStarted",
    "Usage",
    "__version__",
    "estimate",
    "get_model",
    "grade_repository",
    "judge_repository",
    "load_paper",
    "load_rubric",
    "run",
    "run_async",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'papercoder' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
