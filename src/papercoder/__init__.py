"""papercoder: turn a machine-learning paper into a runnable code repository.

The public API (everything else is internal and may change)::

    import papercoder

    result = papercoder.run("paper.pdf", "runs/paper", model="openai/o3-mini", reasoning_effort="high")
    print(result.status, result.repo, result.cost)

``run``/``run_async`` take every option of ``papercoder run`` (snake_case); ``model`` is a name (see
``get_model``) or any object satisfying the ``ChatModel`` protocol. ``papercoder.testing.ScriptedModel`` is a
scripted in-process model for tests.
"""

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
from papercoder._version import __version__
from papercoder.errors import PapercoderError
from papercoder.evaluation.judge import JudgeResult, judge_repository
from papercoder.evaluation.rubric import GradeResult, grade_repository, load_rubric
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, Usage
from papercoder.paper import Paper, load_paper

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
