"""The engine: run one method (``papercoder._methods.METHODS``) on a paper into one run directory, resumable, then
the debug loop when asked. Every option applies to every method: the budgets, ``fresh``, ``max_paper_tokens``,
``debug``. Nothing generated is executed except by the debug loop (``pipeline/debugging.py``), on request only.

What a run directory may hold and what a run may rewrite there is in ``pipeline/rundir.py``.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from papercoder._events import EventHandler, EventLog, FileWritten, fan_out, ignore
from papercoder._methods import Method, Work, method_named
from papercoder._version import __version__
from papercoder.errors import InputError, PapercoderError, StorageError
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.pricing import price_for
from papercoder.pipeline import debugging, outcome
from papercoder.pipeline.context import RunContext, local_options, with_family
from papercoder.pipeline.debugging import DebugOptions, DebugResult
from papercoder.pipeline.ingest import ReadPaper, read_paper
from papercoder.pipeline.refine import RefineOptions, RefineResult
from papercoder.pipeline.refine import run as refine_run
from papercoder.pipeline.rundir import check_out, edited_files, prepare, refusal
from papercoder.repo.sandbox import choose_backend
from papercoder.run_dir import Manifest, ModelInfo, RunDir, StageRecord, now_iso
from papercoder.rundir_lock import hold
from papercoder.settings import PaperInfo, RunSettings

EVENTS = "events.jsonl"


@dataclass(frozen=True)
class Finished:
    """A finished run: its context (run directory, manifest) and the debug loop's outcome when one ran."""

    ctx: RunContext
    debugged: DebugResult | None = None
    refined: RefineResult | None = None


def _manifest(
    old: Manifest | None, read: ReadPaper, info: ModelInfo, settings: RunSettings, method: Method
) -> tuple[Manifest, bool]:
    """The old manifest when the run is the same (same text, model and settings: a resume), else a new one whose
    stages are all redone; and whether it is a resume."""
    paper = PaperInfo(path=str(read.given), source=str(read.source), text_sha256=read.sha256)
    if old is not None:
        same = (
            old.model.name == info.name
            and old.settings.identity() == settings.identity()
            and old.paper.text_sha256 == paper.text_sha256
        )
        if same:
            old.status = "running"
            old.error = None
            old.problems = []
            # The same text may come from a moved file.
            old.paper = old.paper.model_copy(update={"path": paper.path, "source": paper.source})
            old.settings = settings
            old.stages = {name: old.stages.get(name, StageRecord()) for name in method.stage_names}
            return old, True
    manifest = Manifest(
        papercoder_version=__version__,
        created_at=now_iso(),
        model=info,
        settings=settings,
        paper=paper,
        stages={name: StageRecord() for name in method.stage_names},
    )
    return manifest, False


async def run_method(
    paper_path: Path,
    out: Path,
    model: ChatModel,
    info: ModelInfo,
    settings: RunSettings,
    *,
    fresh: bool = False,
    budget: Budget | None = None,
    on_event: EventHandler = ignore,
    notes: tuple[str, ...] = (),
    debug: DebugOptions | None = None,
    refine: tuple[RefineOptions, ChatModel] | None = None,
) -> Finished:
    """Run ``settings.method`` for ``paper_path`` into ``out``; then, under the same lock, with ``refine`` (its
    options and the grader) the refine loop, and with ``debug`` the debug loop. ``notes`` are warnings to record
    (e.g. that the demo model was chosen).

    Re-running on the same directory resumes: finished stages are loaded from disk and every call already made is
    served from ``calls/``; an edited paper (its ingested text changed) redoes every stage, unchanged calls still
    cached. The run holds ``out``'s lock throughout (``rundir_lock``). Raises ``PapercoderError`` subclasses with
    one-line messages.
    """
    method = method_named(settings.method)
    if info.provider == "local":
        settings = local_options(settings)
    # The sampling settings the model's family takes (``papercoder.llm.families``), applied before any call.
    settings, family_notes = with_family(settings, info.name.removeprefix("openai/"))
    notes = (*notes, *family_notes)
    if not paper_path.exists():
        raise InputError(f"paper not found: {paper_path}; check the path")
    check_out(out)
    if debug is not None:
        choose_backend(debug.sandbox)  # no sandbox: say so before any model call, not after the pipeline
    # In memory, in a thread (a PDF takes seconds; bench runs papers side by side): a bad paper touches nothing.
    read = await asyncio.to_thread(read_paper, paper_path, settings.ingest, model, settings.max_paper_tokens)
    command = "run" if method.name == "papercoder" else f"run --method {method.name}"
    with hold(out, command + (" --debug" if debug else "") + (" --refine" if refine else "")):
        run = RunDir(out)
        ctx = await _run_locked(run, method, model, info, settings, fresh, budget, on_event, notes, read)
        refined = await refine_run(ctx, *refine) if refine is not None else None
        debugged = await debugging.run(ctx, debug) if debug is not None else None
    return Finished(ctx, debugged, refined)


async def _run_locked(
    run: RunDir,
    method: Method,
    model: ChatModel,
    info: ModelInfo,
    settings: RunSettings,
    fresh: bool,
    budget: Budget | None,
    on_event: EventHandler,
    notes: tuple[str, ...],
    read: ReadPaper,
) -> RunContext:
    old = prepare(run, fresh, read.source, read.sha256)
    manifest, resumed = _manifest(old, read, info, settings, method)
    edited = edited_files(run, old)
    if edited and not resumed:
        raise refusal(run, edited, "the paper's text, the model or the settings changed, so every stage is redone")
    if edited and manifest.stages.get("coding", StageRecord()).status != "done":
        raise refusal(run, edited, "coding did not finish, so it goes on")
    (run.root / EVENTS).unlink(missing_ok=True)  # the log is of this run
    handler = fan_out(EventLog(run.root / EVENTS), on_event)
    run.on_write = lambda relative: handler(FileWritten(relative))
    ctx = RunContext(run, CachedModel(model, CallCache(run.calls, run.flusher), budget), settings, manifest, handler)
    if old is not None and not resumed and old.paper.text_sha256 not in (None, read.sha256):
        ctx.warn("the paper's text changed since the last run: every stage is redone (unchanged calls from calls/)")
    for note in notes:
        ctx.warn(note)
    if budget is not None and budget.max_cost_usd is not None and price_for(info.name) is None:
        ctx.warn(
            f"no price known for {info.name}: --max-cost counts only the costs the provider reports; pass "
            "--price-input/--price-output (USD per 1M tokens) or use --max-tokens"
        )
    ctx.save()
    work = Work(read=read, edited=edited)
    try:
        for stage in method.stages:
            await stage.run(ctx, work)
    except PapercoderError as exc:
        manifest.status = "failed"
        manifest.error = str(exc)
        with suppress(StorageError):  # the manifest says failed if the disk lets it
            ctx.save()
        raise
    outcome.settle(manifest, work.remaining)
    ctx.save()
    _write_report(ctx)
    return ctx


def _write_report(ctx: RunContext) -> None:
    """The HTML report of the finished run; a report that cannot be written is a warning, not a failed run."""
    from papercoder.report import write_report

    try:
        path = write_report(ctx.run.root)
    except Exception as exc:  # the run itself succeeded: keep it
        ctx.warn(f"report: could not write report.html ({type(exc).__name__}: {exc})")
        ctx.save()
        return
    ctx.note("report", f"written to {path}")
