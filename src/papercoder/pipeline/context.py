"""What every stage gets: the run directory, the model, the options, the manifest and an event handler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TypeVar

from papercoder._events import Event, EventHandler, Note, RunWarning, StageFinished, StageProgress, StageStarted, ignore
from papercoder.errors import StorageError
from papercoder.llm.cache import CachedModel
from papercoder.llm.families import family_of, sampling_for
from papercoder.run_dir import Manifest, RunDir, StageClock, StageRecord
from papercoder.settings import AnswerLimits, PipelineOptions

Opts = TypeVar("Opts", bound=PipelineOptions)

# Output limits and bounded JSON that let a 135M model with an 8k window finish every step.
LOCAL_LIMITS = AnswerLimits(
    plan=320, json_step=600, config=200, analysis=256, code=640, script=200, repair=320, max_files=3, max_string=300
)
LOCAL_PAPER_TOKENS = 2000


def local_options(options: Opts) -> Opts:
    """The options adjusted for the embedded model: compact prompts, bounded answers, a short paper."""
    return options.model_copy(
        update={
            "compact": True,
            "limits": LOCAL_LIMITS,
            "max_paper_tokens": options.max_paper_tokens or LOCAL_PAPER_TOKENS,
            "concurrency": 1,
        }
    )


def with_family(options: Opts, model: str) -> tuple[Opts, tuple[str, ...]]:
    """``options`` with the sampling settings ``model``'s family takes (``papercoder.llm.families``), and notes on
    what was changed. Applied once when a run starts (and when ``debug`` reopens one), before any call."""
    sampling = sampling_for(
        model, options.reasoning_effort, options.temperature, marked_reasoning=options.reasoning_model
    )
    family = family_of(model, marked_reasoning=options.reasoning_model).name
    update = {
        "reasoning_effort": sampling.reasoning_effort,
        "temperature": sampling.temperature,
        "model_family": family,
    }
    return options.model_copy(update=update), sampling.notes


@dataclass
class RunContext:
    """The state shared by the stages of one run."""

    run: RunDir
    model: CachedModel
    options: PipelineOptions
    manifest: Manifest
    on_event: EventHandler = field(default=ignore)

    def emit(self, event: Event) -> None:
        self.on_event(event)

    def warn(self, message: str) -> None:
        """Record a warning in the manifest (saved with the next stage transition) and show it."""
        if message not in self.manifest.warnings:
            self.manifest.warnings.append(message)
        self.on_event(RunWarning(message))

    def note(self, stage: str, message: str, *, lasting: bool = False) -> None:
        """Say what ``stage`` is doing, when it is not a count; ``lasting`` keeps the line in the terminal."""
        self.on_event(Note(stage, message, lasting))

    def advance(self, stage: str, completed: int, total: int, item: str = "") -> None:
        """``completed`` of the ``total`` items of ``stage`` are done; ``item`` is the one at hand."""
        self.on_event(StageProgress(stage, completed, total, item))

    def save(self, *, durable: bool = True) -> None:
        """Save the manifest (``RunDir.save_manifest``; ``durable=False`` for a progress save within a stage)."""
        self.run.save_manifest(self.manifest, durable=durable)

    @contextmanager
    def stage(self, name: str, total: int = 1) -> Iterator[StageClock]:
        """Time the stage ``name`` (of ``total`` items) and save the manifest at each transition: ``running``
        inside the block, ``failed`` with the error when it raises, else ``done`` unless the block finished the
        clock itself (a ``skipped`` stage, or a ``failed`` one that returns an outcome). Emits ``StageStarted`` and
        ``StageFinished``."""
        clock = StageClock(self.manifest.stages.setdefault(name, StageRecord()), self.model.name, name)
        clock.start()
        self.save()
        self.on_event(StageStarted(name, max(1, total)))
        try:
            yield clock
        except Exception as exc:  # an interrupt leaves the stage ``running``: the run reads back as interrupted
            clock.finish("failed", str(exc))
            with suppress(StorageError):  # the disk is full: the stage's own error is the one to report
                self.save()
            self.on_event(StageFinished(name, "failed", clock.record.error))
            raise
        if clock.record.status == "running":
            clock.finish("done")
        self.save()
        status = clock.record.status
        self.on_event(StageFinished(name, status if status in ("done", "skipped") else "failed", clock.record.error))
