"""Stage 0, ingest: the paper as the model will see it, read before the run directory is touched, then written
to ``paper/`` (``paper.md``, what the model reads; ``paper.json``, its structure) and the manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from papercoder.llm.base import ChatModel
from papercoder.paper import Paper, load_paper
from papercoder.paper.budget import fit_paper
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.rundir import text_sha256
from papercoder.run_dir import now_iso
from papercoder.settings import IngestOptions

PAPER_MD = "paper/paper.md"
PAPER_JSON = "paper/paper.json"


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


def run(ctx: RunContext, read: ReadPaper) -> None:
    """Write what ``read_paper`` read into ``paper/`` and the manifest; the stage's time is that of the reading
    (it is read again in full on each run, so the time is not added to the last one's)."""
    ctx.note("ingest", f"read {read.given.name}")
    record = ctx.manifest.stages["ingest"]
    ctx.manifest.paper_fit = read.fit_steps
    budget = ctx.options.max_paper_tokens
    for step in read.fit_steps:
        ctx.warn(f"paper condensed to fit {budget} tokens: {step}")
    paper = read.paper
    ctx.run.write(PAPER_MD, read.text)
    ctx.run.write(PAPER_JSON, paper.model_dump_json(indent=2) + "\n")
    ctx.manifest.paper = ctx.manifest.paper.model_copy(
        update={
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
    record.wall_s = round(read.seconds, 3)
    ctx.save()
