"""The whole run: ingest → planning → analysis → coding → checks and repair → reproduce.sh, into one run directory,
resumable. Nothing generated is executed here (that is ``pipeline/debugging.py``, on request only)."""

from __future__ import annotations

import hashlib
import shutil
from contextlib import suppress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from papercoder import __version__
from papercoder.errors import InputError, PapercoderError, StorageError
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.pricing import price_for
from papercoder.llm.registry import ModelChoice
from papercoder.paper import load_paper
from papercoder.paper.budget import fit_paper
from papercoder.pipeline import analysis, coding, planning, repairing, reproduce
from papercoder.pipeline.context import AnswerLimits, PipelineOptions, ProgressFn, RunContext, _silent
from papercoder.run import Manifest, ModelInfo, RunDir, now_iso

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


def _prepare_dir(root: Path, fresh: bool) -> RunDir:
    run = RunDir(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"--out {root} is a file; give a directory for the run")
    if fresh and root.exists() and any(root.iterdir()):
        if not run.manifest_path.is_file():
            raise InputError(f"--fresh would empty {root}, which is not a papercoder run directory; pick another --out")
        shutil.rmtree(root)
    run.create()
    return run


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class IngestOptions(BaseModel):
    """How the paper is read; part of what makes two runs the same run."""

    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf"
    keep_references: bool = False
    grobid_url: str | None = None


def _manifest(
    run: RunDir,
    paper_path: Path,
    choice: ModelChoice,
    model: ChatModel,
    options: PipelineOptions,
    ingest: IngestOptions,
) -> Manifest:
    """Load the run's manifest, or start one; stages of a run with other inputs or settings are redone."""
    settings = {**options.model_dump(mode="json"), "ingest": ingest.model_dump(mode="json")}
    info = ModelInfo(
        name=choice.name,
        provider=choice.provider,
        base_url=choice.base_url,
        api_key_env=choice.api_key_env,
        context_window=model.context_window,
    )
    paper: dict[str, object] = {"path": str(paper_path), "sha256": _sha256(paper_path)}
    old = run.load_manifest()
    if old is not None:
        same = old.model.name == info.name and old.settings == settings and old.paper.get("sha256") == paper["sha256"]
        if same:
            old.status = "running"
            old.error = None
            return old
    return Manifest(papercoder_version=__version__, created_at=now_iso(), model=info, settings=settings, paper=paper)


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
    served from ``calls/``. Raises ``PapercoderError`` subclasses with one-line messages.
    """
    if choice.provider == "local":
        options = local_options(options)
    if not paper_path.exists():
        raise InputError(f"paper not found: {paper_path}; check the path")
    run = _prepare_dir(out, fresh)
    ingest = ingest or IngestOptions()
    manifest = _manifest(run, paper_path, choice, model, options, ingest)
    ctx = RunContext(run, CachedModel(model, CallCache(run.calls), budget), options, manifest, progress)
    if choice.demo_warning:
        ctx.warn(choice.demo_warning)
    if budget is not None and budget.max_cost_usd is not None and price_for(choice.name) is None:
        ctx.warn(f"no price known for {choice.name}: --max-cost cannot be enforced; use --max-tokens")
    ctx.save()
    try:
        _ingest(ctx, paper_path, ingest)
        plan = planning.load(ctx) or await planning.run(ctx)
        analyses = _load_analyses(ctx, plan) or await analysis.run(ctx, plan)
        await coding.run(ctx, plan, analyses)
        await repairing.run(ctx, plan.files)
        await reproduce.run(ctx, plan.files)
    except PapercoderError as exc:
        manifest.status = "failed"
        manifest.error = str(exc)
        with suppress(StorageError):  # the manifest says failed if the disk lets it
            ctx.save()
        raise
    manifest.status = "done"
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
    ctx.progress("report", f"written to {path}")


def _ingest(ctx: RunContext, paper_path: Path, ingest: IngestOptions) -> None:
    with ctx.stage("ingest"):
        ctx.progress("ingest", f"reading {paper_path.name}")
        paper = load_paper(
            paper_path,
            pdf_engine=ingest.pdf_engine,
            keep_references=ingest.keep_references,
            grobid_url=ingest.grobid_url,
        )
        budget = ctx.options.max_paper_tokens
        full = paper.markdown()
        steps: list[str] = []
        if budget is not None:
            paper, steps = fit_paper(paper, budget, ctx.model.count_tokens)
        ctx.manifest.paper_fit = steps
        for step in steps:
            ctx.warn(f"paper condensed to fit {budget} tokens: {step}")
        text = paper.markdown()
        ctx.run.write("paper/paper.md", text)
        ctx.run.write("paper/paper.json", paper.model_dump_json(indent=2) + "\n")
        ctx.manifest.paper.update(
            {
                "title": paper.title,
                "format": paper.source_format,
                "pages": paper.pages,
                "sections": len(paper.sections),
                "dropped": paper.dropped,
                "tokens": ctx.model.count_tokens(text),
                "tokens_before_fit": ctx.model.count_tokens(full) if steps else None,
            }
        )


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
    }


__all__ = ["run_pipeline", "summary"]
