"""What shapes a run, recorded in its manifest: the pipeline options, how the paper is read, the method.

The lowest layer of the run record: ``run_dir.py`` (the manifest) and every stage import these, they import nothing of
papercoder's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    # After ``with_family``: what every call sends (a reasoning model's default effort filled in, a temperature its
    # family rejects dropped), so the manifest records what was sent.
    reasoning_effort: str | None = None
    temperature: float | None = None
    reasoning_model: bool = False  # --reasoning-model: treat a model the family table does not know as reasoning
    model_family: str | None = None  # the row of ``papercoder.llm.families`` the model matched
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


class IngestOptions(BaseModel):
    """How the paper is read; part of what makes two runs the same run."""

    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf"
    keep_references: bool = False
    grobid_url: str | None = None
    # Processes for PDF layout analysis (None: the cores); the same text for any number, so not recorded.
    jobs: int | None = Field(default=None, exclude=True)


class RunSettings(PipelineOptions):
    """The settings a manifest records: the method (``papercoder._engine.METHODS``), the pipeline options and the
    ingest options. With the model and the ingested text, they are the run's identity (``concurrency`` aside)."""

    model_config = ConfigDict(extra="ignore")  # a manifest of an older version may hold more

    method: str = "papercoder"
    ingest: IngestOptions = Field(default_factory=IngestOptions)

    def identity(self) -> dict[str, object]:
        """What shapes what the model is asked; ``concurrency`` only schedules the same calls (the context of a
        dag-ordered file does not depend on the order calls finish in), so a resume may change it."""
        return self.model_dump(mode="json", exclude={"concurrency"})


class PaperInfo(BaseModel):
    """The paper of a run: where it came from, its text's hash (the run's identity) and what ingest found."""

    model_config = ConfigDict(extra="ignore")

    path: str | None = None
    source: str | None = None
    text_sha256: str | None = None
    title: str = ""
    format: str = ""
    pages: int | None = None
    sections: int | None = None
    dropped: list[str] = Field(default_factory=list)
    tokens: int | None = None
    tokens_before_fit: int | None = None
