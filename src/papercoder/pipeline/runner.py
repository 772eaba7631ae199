"""The whole run: ingest → planning → analysis → coding → checks and repair → reproduce.sh, into one run directory,
resumable. Nothing generated is executed here (that is ``pipeline/debugging.py``, on request only)."""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from papercoder import __version__
from papercoder.errors import InputError, PapercoderError, StorageError
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.pricing import price_for
from papercoder.llm.registry import ModelChoice
from papercoder.llm.urls import safe_url
from papercoder.paper import Paper, load_paper
from papercoder.paper.budget import fit_paper
from papercoder.pipeline import analysis, coding, outcome, planning, repairing, reproduce
from papercoder.pipeline.context import AnswerLimits, PipelineOptions, ProgressFn, RunContext, _silent
from papercoder.pipeline.rundir import (
    check_out,
    edited_files,
    kept_message,
    prepare,
    refusal,
    repo_sha256,
    text_sha256,
)
from papercoder.repo.checks import static_checks
from papercoder.run import Manifest, ModelInfo, RunDir, StageRecord, now_iso
from papercoder.rundir_lock import hold

# Output limits and bounded JSON that let a 135M model with an 8k window finish every step.
LOCAL_LIMITS = AnswerLimits(
    plan=320, json_step=600, config=200, analysis=256, code=640, script=200, repair=320, max_files=3, max_string=300
)
LOCAL_PAPER_TOKENS = 2000


def local_options(options: PipelineOptions) -> PipelineOptions:
    """The options adjusted for the embedded model: compact prompts, bounded answers, a short paper."""
    return options.model_copy(
        update={
            "compact": True,
            "limits": LOCAL_LIMITS,
            "max_paper_tokens": options.max_paper_tokens or LOCAL_PAPER_TOKENS,
            "concurrency": 1,
        }
    )


class IngestOptions(BaseModel):
    """How the paper is read; part of what makes two runs the same run."""

    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf"
    keep_references: bool = False
    grobid_url: str | None = None
    # Processes for PDF layout analysis (None: the cores); the same text for any number, so not recorded.
    jobs: int | None = Field(default=None, exclude=True)


def _identity(settings: dict[str, object]) -> dict[str, object]:
    """The settings that shape what the model is asked; ``concurrency`` only schedules the same calls (the context
    of a dag-ordered file does not depend on the order calls finish in), so a resume may change it."""
    return {k: v for k, v in settings.items() if k != "concurrency"}


def _manifest(
    old: Manifest | None,
    read: ReadPaper,
    choice: ModelChoice,
    model: ChatModel,
    options: PipelineOptions,
    ingest: IngestOptions,
) -> tuple[Manifest, bool]:
    """The old manifest when the run is the same (same text, model and settings: a resume), else a new one whose
    stages are all redone; and whether it is a resume."""
    recorded = ingest.model_copy(update={"grobid_url": safe_url(ingest.grobid_url) if ingest.grobid_url else None})
    settings = {**options.model_dump(mode="json"), "ingest": recorded.model_dump(mode="json")}
    info = ModelInfo(
        name=choice.name,
        provider=choice.provider,
        base_url=choice.base_url,
        api_key_env=choice.api_key_env,
        context_window=model.context_window,
    )
    paper: dict[str, object] = {"path": str(read.given), "source": str(read.source), "text_sha256": read.sha256}
    if old is not None:
        same = (
            old.model.name == info.name
            and _identity(old.settings) == _identity(settings)
            and old.paper.get("text_sha256") == paper["text_sha256"]
        )
        if same:
            old.status = "running"
            old.error = None
            old.problems = []
            old.paper.update(paper)  # the same text may come from a moved file
            old.settings = settings
            return old, True
    manifest = Manifest(
        papercoder_version=__version__, created_at=now_iso(), model=info, settings=settings, paper=paper
    )
    return manifest, False


async def run_pipeline(
    paper_path: Path,
    out: Path,
    choice: ModelChoice,
    model: ChatModel,
    options: PipelineOptions,
    *,
    fresh: bool = False,
    progress: ProgressFn = _silent,
    ingest: IngestOptions | None = None,
    budget: Budget | None = None,
) -> RunContext:
    """Run every stage for ``paper_path`` into ``out`` and return the finished context.

    Re-running on the same directory resumes: finished stages are loaded from disk and every call already made is
    served from ``calls/``; an edited paper (its ingested text changed) redoes every stage, unchanged calls still
    cached. The run holds ``out``'s lock throughout (``rundir_lock``). Raises ``PapercoderError`` subclasses with
    one-line messages; what ``out`` may hold and what a run may rewrite there is in ``pipeline/rundir.py``.
    """
    if choice.provider == "local":
        options = local_options(options)
    if not paper_path.exists():
        raise InputError(f"paper not found: {paper_path}; check the path")
    check_out(out)
    ingest = ingest or IngestOptions()
    read = read_paper(paper_path, ingest, model, options.max_paper_tokens)  # in memory: a bad paper touches nothing
    with hold(out, "run"):
        return await _run_locked(paper_path, RunDir(out), choice, model, options, fresh, progress, ingest, budget, read)


async def _run_locked(
    paper_path: Path,
    run: RunDir,
    choice: ModelChoice,
    model: ChatModel,
    options: PipelineOptions,
    fresh: bool,
    progress: ProgressFn,
    ingest: IngestOptions,
    budget: Budget | None,
    read: ReadPaper,
) -> RunContext:
    old = prepare(run, fresh, read.source, read.sha256)
    manifest, resumed = _manifest(old, read, choice, model, options, ingest)
    edited = edited_files(run, old)
    if edited and not resumed:
        raise refusal(run, edited, "the paper's text, the model or the settings changed, so every stage is redone")
    if edited and manifest.stages["coding"].status != "done":
        raise refusal(run, edited, "coding did not finish, so it goes on")
    ctx = RunContext(run, CachedModel(model, CallCache(run.calls), budget), options, manifest, progress)
    if old is not None and not resumed and old.paper.get("text_sha256") not in (None, read.sha256):
        ctx.warn("the paper's text changed since the last run: every stage is redone (unchanged calls from calls/)")
    if choice.demo_warning:
        ctx.warn(choice.demo_warning)
    if budget is not None and budget.max_cost_usd is not None and price_for(choice.name) is None:
        ctx.warn(f"no price known for {choice.name}: --max-cost cannot be enforced; use --max-tokens")
    ctx.save()
    try:
        _ingest(ctx, paper_path, read)
        plan = planning.load(ctx) or await planning.run(ctx)
        analyses = _load_analyses(ctx, plan) or await analysis.run(ctx, plan)
        if edited:
            ctx.warn(kept_message(edited))
        else:
            await coding.run(ctx, plan, analyses)
            _record_repo(ctx)
        if not (edited and manifest.stages.get("checks", StageRecord()).status == "done"):
            remaining = await repairing.run(ctx, plan.files)
            _record_repo(ctx, edited)
        else:
            remaining = static_checks(ctx.run.repo)  # the kept repository as it is now; no model call
        if not (edited and manifest.stages.get("reproduce", StageRecord()).status in ("done", "skipped")):
            await reproduce.run(ctx, plan.files)
            _record_repo(ctx, edited)
    except PapercoderError as exc:
        manifest.status = "failed"
        manifest.error = str(exc)
        with suppress(StorageError):  # the manifest says failed if the disk lets it
            ctx.save()
        raise
    outcome.settle(manifest, remaining)
    ctx.save()
    _write_report(ctx)
    return ctx


def _record_repo(ctx: RunContext, edited: list[str] | None = None) -> None:
    """Record repo/ as the pipeline left it; not while it keeps later edits, which must stay visible as edits."""
    if not edited:
        ctx.manifest.repo_sha256 = repo_sha256(ctx.run.repo)
        ctx.save()


def _write_report(ctx: RunContext) -> None:
    """The HTML report of the finished run; a report that cannot be written is a warning, not a failed run."""
    from papercoder.report import write_report

    try:
        path = write_report(ctx.run.root)
    except Exception as exc:  # the run itself succeeded: keep it
        ctx.warn(f"report: could not write report.html ({type(exc).__name__}: {exc})")
        ctx.save()
        return
    ctx.progress("report", f"written to {path}")


@dataclass(frozen=True)
class ReadPaper:
    """The paper as the model will see it, read before the run directory is touched."""

    given: Path
    source: Path
    paper: Paper
    text: str
    sha256: str
    fit_steps: list[str]
    tokens_before_fit: int | None
    seconds: float


def read_paper(paper_path: Path, ingest: IngestOptions, model: ChatModel, max_paper_tokens: int | None) -> ReadPaper:
    """Read and fit the paper (``InputError`` for one that cannot be read); its text's hash is the run's identity,
    so any file the text came from (a ``\\input`` file, a file of a folder) counts."""
    t0 = time.monotonic()
    paper = load_paper(
        paper_path,
        pdf_engine=ingest.pdf_engine,
        keep_references=ingest.keep_references,
        grobid_url=ingest.grobid_url,
        jobs=ingest.jobs,
    )
    full = paper.markdown()
    steps: list[str] = []
    if max_paper_tokens is not None:
        paper, steps = fit_paper(paper, max_paper_tokens, model.count_tokens)
    text = paper.markdown()
    return ReadPaper(
        given=paper_path,
        source=paper_path.expanduser().resolve(),
        paper=paper,
        text=text,
        sha256=text_sha256(text),
        fit_steps=steps,
        tokens_before_fit=model.count_tokens(full) if steps else None,
        seconds=time.monotonic() - t0,
    )


def _ingest(ctx: RunContext, paper_path: Path, read: ReadPaper) -> None:
    """Write what ``read_paper`` read into ``paper/`` and the manifest; the stage's time is that of the reading."""
    ctx.progress("ingest", f"read {paper_path.name}")
    record = ctx.manifest.stages["ingest"]
    ctx.manifest.paper_fit = read.fit_steps
    budget = ctx.options.max_paper_tokens
    for step in read.fit_steps:
        ctx.warn(f"paper condensed to fit {budget} tokens: {step}")
    paper = read.paper
    ctx.run.write("paper/paper.md", read.text)
    ctx.run.write("paper/paper.json", paper.model_dump_json(indent=2) + "\n")
    ctx.manifest.paper.update(
        {
            "title": paper.title,
            "format": paper.source_format,
            "pages": paper.pages,
            "sections": len(paper.sections),
            "dropped": paper.dropped,
            "tokens": ctx.model.count_tokens(read.text),
            "tokens_before_fit": read.tokens_before_fit,
        }
    )
    record.status, record.error = "done", None
    record.started_at = record.finished_at = now_iso()
    record.wall_s = round(read.seconds, 3)  # read again in full on each run, so not added to the last time
    ctx.save()


def _load_analyses(ctx: RunContext, plan: planning.PlanningResult) -> dict[str, str] | None:
    if ctx.manifest.stages["analysis"].status != "done":
        return None
    paths = [analysis.artifact(p) for p in plan.files]
    if not all(ctx.run.exists(p) for p in paths):
        return None
    return {f: ctx.run.read(p).strip() for f, p in zip(plan.files, paths, strict=True)}


def summary(ctx: RunContext) -> dict[str, object]:
    """A machine-readable summary of a run."""
    m = ctx.manifest
    usage = m.total_usage()
    return {
        "run_dir": str(ctx.run.root),
        "repo": str(ctx.run.repo),
        "status": m.status,
        "model": m.model.name,
        "files": m.files,
        "calls": sum(s.calls for s in m.stages.values()),
        "cached_calls": sum(s.cached_calls for s in m.stages.values()),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_usd": m.total_cost(),
        "warnings": len(m.warnings),
        "problems": list(m.problems),
    }


__all__ = ["run_pipeline", "summary"]
