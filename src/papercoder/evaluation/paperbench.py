"""``papercoder bench DIR --paperbench``: methods on PaperBench's own papers, graded in Code-Dev mode.

PaperBench's data layout (``DIR`` is the folder holding ``papers/``, or ``papers/`` itself)::

    papers/<id>/paper.md      the paper as Markdown (paper.pdf is read when there is no paper.md)
    papers/<id>/addendum.md   the authors' clarifications PaperBench gives its agents (optional)
    papers/<id>/rubric.json   the rubric tree
    papers/<id>/config.yaml   id and title
    papers/<id>/blacklist.txt resources an agent may not use (recorded, nothing here browses)

Each paper is generated from its paper plus its addendum (written as one Markdown input, ``OUT/<id>/input.md``),
once per method and seed, into ``OUT/<id>/<method>/seed-<k>/``; a ``+refine`` method then refines on a rubric the
run derives from the paper itself (never the official rubric, which is the test). The repository is graded on the
official rubric's Code-Development leaves (``eval/paperbench-code-dev.json``, the judge's calls cached in the run's
``calls/``). Re-running resumes; a paper that fails is recorded with its error and does not stop the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel

from papercoder._engine import run_method
from papercoder.errors import InputError
from papercoder.evaluation.repofiles import read_repo
from papercoder.evaluation.rubric import CODE_DEVELOPMENT, JudgeSettings, RubricNode, grade_repository, load_rubric
from papercoder.fsutil import atomic_write_json, atomic_write_text
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.registry import ModelChoice
from papercoder.paper import load_paper
from papercoder.run_dir import ModelInfo, RunDir
from papercoder.settings import PipelineOptions, RunSettings

BASES = ("papercoder", "paper", "abstract")
REFINE_SUFFIX = "+refine"
RESULT = "eval/paperbench-code-dev.json"
ProgressFn = Callable[[str, str], None]


def _quiet(stage: str, message: str) -> None:
    return None


@dataclass(frozen=True)
class PBPaper:
    """One paper of PaperBench's layout."""

    id: str
    title: str
    paper: Path
    addendum: Path | None
    rubric: Path
    blacklist: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Method:
    """A generation method, optionally followed by refine rounds on a self-derived rubric."""

    name: str
    base: str
    refine: bool


def parse_methods(text: str) -> list[Method]:
    """``papercoder,papercoder+refine,paper`` → checked methods."""
    methods: list[Method] = []
    for raw in dict.fromkeys(m.strip() for m in text.split(",") if m.strip()):
        base = raw.removesuffix(REFINE_SUFFIX)
        if base not in BASES:
            choices = ", ".join([*BASES, *(b + REFINE_SUFFIX for b in BASES)])
            raise InputError(f"--methods {text}: unknown {raw!r}; with --paperbench choose from {choices}")
        methods.append(Method(raw, base, raw.endswith(REFINE_SUFFIX)))
    if not methods:
        raise InputError("--methods: name at least one method")
    return methods


def papers_folder(root: Path) -> Path:
    if (root / "papers").is_dir():
        return root / "papers"
    if root.is_dir():
        return root
    raise InputError(f"PaperBench data folder not found: {root}")


def discover(root: Path, only: list[str] | None = None) -> list[PBPaper]:
    """The papers under ``root`` (see the module docstring), or only those named in ``only``, in that order.

    Raises:
        InputError: no paper folder, a paper without paper.md/paper.pdf or rubric.json, or an unknown id.
    """
    folder = papers_folder(root)
    found: dict[str, PBPaper] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        paper = next((p for p in (sub / "paper.md", sub / "paper.pdf") if p.is_file()), None)
        if paper is None or not (sub / "rubric.json").is_file():
            continue
        config: object = {}
        if (sub / "config.yaml").is_file():
            try:
                config = yaml.safe_load((sub / "config.yaml").read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise InputError(f"{sub / 'config.yaml'} is not valid YAML ({exc}); fix or remove it") from None
        meta = config if isinstance(config, dict) else {}
        addendum = sub / "addendum.md"
        blacklist = sub / "blacklist.txt"
        lines = blacklist.read_text(encoding="utf-8").split("\n") if blacklist.is_file() else []
        found[sub.name] = PBPaper(
            id=str(meta.get("id") or sub.name),
            title=str(meta.get("title") or sub.name),
            paper=paper,
            addendum=addendum if addendum.is_file() else None,
            rubric=sub / "rubric.json",
            blacklist=[x.strip() for x in lines if x.strip() and x.strip().lower() != "none"],
        )
    if not found:
        raise InputError(f"no PaperBench paper in {folder} (each needs papers/<id>/paper.md and rubric.json)")
    if only is None:
        return list(found.values())
    unknown = [p for p in only if p not in found]
    if unknown:
        raise InputError(f"--papers: unknown {', '.join(unknown)}; the folder holds {', '.join(found)}")
    return [found[p] for p in dict.fromkeys(only)]


def paper_text(paper: PBPaper) -> str:
    """What a method reads: the paper, then the addendum under its own heading (as PaperBench gives its agents)."""
    body = (
        paper.paper.read_text(encoding="utf-8") if paper.paper.suffix == ".md" else load_paper(paper.paper).markdown()
    )
    if paper.addendum is not None:
        body = body.rstrip() + "\n\n## Addendum\n\n" + paper.addendum.read_text(encoding="utf-8").strip() + "\n"
    return body


def code_dev_leaves(rubric: RubricNode) -> int:
    """How many Code-Development leaves a rubric has: PaperBench's Code-Dev grades exactly these."""
    return sum(1 for leaf in rubric.leaves() if (leaf.task_category or "").lower() == CODE_DEVELOPMENT.lower())


@dataclass
class PBConfig:
    """What to run and how to grade it."""

    methods: list[Method]
    seeds: int = 1
    refine_rounds: int = 1
    concurrency: int = 2
    judging: JudgeSettings = field(default_factory=JudgeSettings)
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)


class PBRecord(BaseModel):
    """One method on one paper with one seed."""

    paper: str
    method: str
    seed: int
    run_dir: str
    score: float | None = None
    leaves: int = 0
    invalid_leaves: int = 0
    calls: int = 0
    refine_scores: list[float] | None = None  # self-derived: never a PaperBench score
    error: str | None = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


class _Job:
    def __init__(
        self,
        paper: PBPaper,
        method: Method,
        seed: int,
        out: Path,
        config: PBConfig,
        models: tuple[ModelChoice, ChatModel, ChatModel],
        budget: Budget | None,
        progress: ProgressFn,
    ) -> None:
        self.paper, self.method, self.seed, self.config = paper, method, seed, config
        self.choice, self.model, self.judge = models
        self.budget, self.progress = budget, progress
        self.input = out / paper.id / "input.md"
        self.run = RunDir(out / paper.id / method.name / f"seed-{seed}")
        self.record = PBRecord(paper=paper.id, method=method.name, seed=seed, run_dir=str(self.run.root))

    async def generate(self) -> None:
        """A run of the method's base (``papercoder``, ``paper`` or ``abstract``) through the engine, budgeted."""
        settings = RunSettings(**self.config.pipeline.model_dump(), method=self.method.base)
        info = ModelInfo.of(self.choice, self.model)
        await run_method(self.input, self.run.root, self.model, info, settings, budget=self.budget)

    async def refine(self) -> list[float]:
        from papercoder.pipeline.debugging import open_run
        from papercoder.pipeline.refine import RefineOptions
        from papercoder.pipeline.refine import run as refine_run
        from papercoder.rundir_lock import hold

        with hold(self.run.root, "bench --paperbench refine"):
            ctx = open_run(self.run.root, self.model, budget=self.budget)
            options = RefineOptions(rounds=self.config.refine_rounds, judging=self.config.judging)
            return (await refine_run(ctx, options, self.judge)).scores

    async def grade(self) -> None:
        judge = CachedModel(self.judge, CallCache(self.run.calls), self.budget)
        result = await grade_repository(
            judge,
            load_rubric(self.paper.rubric),
            read_repo(self.run.repo).files,
            paper=self.input.read_text(encoding="utf-8"),
            category=CODE_DEVELOPMENT,
            concurrency=self.config.judging.concurrency,
            top_k=self.config.judging.top_k,
            file_tokens=self.config.judging.file_tokens,
            context_tokens=self.config.judging.context_tokens,
            reasoning_effort=self.config.judging.reasoning_effort,
        )
        atomic_write_json(self.run.root / RESULT, result.model_dump(mode="json"))
        self.record.score, self.record.leaves = result.score, result.leaves
        self.record.invalid_leaves, self.record.calls = result.invalid_leaves, result.calls

    async def __call__(self) -> PBRecord:
        where = f"{self.paper.id} [{self.method.name}, seed {self.seed}]"
        try:
            self.progress("bench", f"{where}: generating")
            await self.generate()
            if self.method.refine:
                self.progress("bench", f"{where}: refining on a self-derived rubric")
                self.record.refine_scores = await self.refine()
            self.progress("bench", f"{where}: grading Code-Dev")
            await self.grade()
        except Exception as exc:  # one paper's failure is recorded, never fatal to the benchmark
            self.record.error = _one_line(exc)
            self.progress("warning", f"{where}: {self.record.error}")
        return self.record


async def run_paperbench(
    root: Path,
    out: Path,
    config: PBConfig,
    *,
    choice: ModelChoice,
    model: ChatModel,
    judge: ChatModel,
    papers: list[str] | None = None,
    budget: Budget | None = None,
    progress: ProgressFn = _quiet,
) -> list[PBRecord]:
    """Every method × seed on every paper (see the module docstring); one record each, in paper order."""
    entries = discover(root, papers)
    for entry in entries:
        target = out / entry.id / "input.md"
        text = paper_text(entry)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            atomic_write_text(target, text)  # rewritten only when it changed: it is the runs' identity
    limit = 1 if choice.provider == "local" else max(1, config.concurrency)
    gate = asyncio.Semaphore(limit)

    async def guarded(job: _Job) -> PBRecord:
        async with gate:
            return await job()

    jobs = [
        _Job(e, m, s, out, config, (choice, model, judge), budget, progress)
        for e in entries
        for m in config.methods
        for s in range(1, config.seeds + 1)
    ]
    return list(await asyncio.gather(*(guarded(job) for job in jobs)))
