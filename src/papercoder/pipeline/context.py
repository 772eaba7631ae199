"""What every stage gets: the run directory, the model, the options, the manifest and a progress callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from papercoder.errors import StorageError
from papercoder.llm.cache import CachedModel
from papercoder.run import Manifest, RunDir, StageClock, StageRecord


class AnswerLimits(BaseModel):
    """Per-step output limits, for small local models; ``None`` fields let the model decide."""

    plan: int | None = None
    json_step: int | None = None
    config: int | None = None
    analysis: int | None = None
    code: int | None = None
    script: int | None = None  # reproduce.sh
    repair: int | None = None  # the edits of a repair round or a debug iteration
    max_files: int | None = None
    max_string: int | None = None


class PipelineOptions(BaseModel):
    """Options that shape a run (all of them recorded in the manifest)."""

    concurrency: int = 4
    reasoning_effort: str | None = None
    temperature: float | None = None
    # sequential: the paper's method, task order, each file sees every file before it. dag: a file is coded as soon
    # as the files it depends on are written (concurrently), seeing only those (``pipeline/dag.py``). auto:
    # sequential while the earlier files fit in a share of the context window, then dag with interfaces.
    coding_order: Literal["auto", "sequential", "dag"] = "auto"
    # With dag order, how the dependencies are attached: their interface (signatures, docstrings, attributes:
    # ``pipeline/interfaces.py``) or their full code. The sequential order always attaches full code.
    dep_context: Literal["interface", "full"] = "interface"
    limits: AnswerLimits = AnswerLimits()
    compact: bool = False  # shorter instructions and bounded JSON for small local models
    max_paper_tokens: int | None = None
    # Files coded at most (``--max-files``): a plan listing more is cut to its first ones in task order, with a
    # warning. (``limits.max_files`` is something else: the list size the compact JSON schema asks of small models.)
    max_files: int = 100


ProgressFn = Callable[[str, str], None]


def _silent(stage: str, message: str) -> None:
    return None


@dataclass
class RunContext:
    """The state shared by the stages of one run."""

    run: RunDir
    model: CachedModel
    options: PipelineOptions
    manifest: Manifest
    progress: ProgressFn = field(default=_silent)

    def warn(self, message: str) -> None:
        """Record a warning in the manifest (saved with the next stage transition) and show it."""
        if message not in self.manifest.warnings:
            self.manifest.warnings.append(message)
        self.progress("warning", message)

    def save(self) -> None:
        self.run.save_manifest(self.manifest)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageClock]:
        """Time the stage ``name`` and save the manifest at each transition: ``running`` inside the block,
        ``failed`` with the error when it raises, else ``done`` unless the block finished the clock itself (a
        ``skipped`` stage, or a ``failed`` one that returns an outcome)."""
        clock = StageClock(self.manifest.stages.setdefault(name, StageRecord()), self.model.name)
        clock.start()
        self.save()
        try:
            yield clock
        except Exception as exc:
            clock.finish("failed", str(exc))
            with suppress(StorageError):  # the disk is full: the stage's own error is the one to report
                self.save()
            raise
        if clock.record.status == "running":
            clock.finish("done")
        self.save()
