"""``papercoder bench``: every method on every paper of a dataset, judged, summarised as the paper's Table 1.

Dataset layout (``DATASET_DIR``)::

    DATASET_DIR/
      paper-a.pdf            a paper (any supported format) in the group named after DATASET_DIR
      paper-a_gold/          its gold (author) repository; ``paper-a_gold_repo/`` or ``gold/paper-a/`` also work
      iclr2024/              a group (one level of subfolders; e.g. a venue)
        paper-b.md
        gold/paper-b/        gold repository of paper-b
      ...

Files named ``README*``/``LICENSE*``, starting with ``.`` or ``_``, or named ``rubric*`` are not papers; folders
named ``gold`` or ending in ``_gold``/``_gold_repo`` are not groups. Two papers of one group may not share a stem.

Methods: every method of the engine's table (``papercoder._methods.METHODS``: ``papercoder``, the one-shot baselines
``paper`` and ``abstract``, the ablation ladder ``coding-only`` … ``with-config``), ``ablation`` for the whole ladder
(the paper's ablation table), and ``oracle`` (the gold repository itself, judged reference-free, as in the paper's
Oracle row). Each method runs through the same engine as ``papercoder run``, with the same options.

Output (``OUT``): one run directory per paper and method at ``OUT/<group>/<paper>/<method>/`` with the judge's
results in its ``eval/<mode>.json`` and the judge's calls cached in ``eval/calls/``; then ``results.md``,
``results.csv`` (one row per method, group and mode), ``papers.csv`` (one row per paper and method) and
``results.json``. Re-running the same command resumes: finished runs and cached calls are reused. A paper that
fails is recorded with its error and does not stop the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from papercoder._engine import run_method
from papercoder._events import EventHandler, Note, RunWarning, ignore
from papercoder._methods import LADDER
from papercoder._methods import METHODS as ENGINE_METHODS
from papercoder.errors import InputError
from papercoder.evaluation.judge import JudgeResult, Mode, judge_repository
from papercoder.evaluation.repofiles import read_repo
from papercoder.evaluation.stats import repo_stats
from papercoder.fsutil import atomic_write_json
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.paper import load_paper
from papercoder.run import ModelInfo, RunDir
from papercoder.settings import RunSettings

METHODS = (*ENGINE_METHODS, "oracle")
MODES: tuple[Mode, ...] = ("ref-free", "ref-based")
_PAPER_SUFFIXES = (".pdf", ".tex", ".latex", ".md", ".markdown", ".txt", ".json", ".xml", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class PaperEntry:
    """One paper of the dataset."""

    group: str
    name: str
    path: Path
    gold: Path | None


@dataclass
class BenchConfig:
    """What to run and how to judge it."""

    methods: list[str] = field(default_factory=lambda: ["papercoder", "paper", "abstract"])
    modes: list[Mode] = field(default_factory=lambda: ["ref-free"])
    n: int = 8
    concurrency: int = 2
    judge_concurrency: int = 4
    context_tokens: int | None = None
    judge_reasoning_effort: str | None = None
    # The settings of every run (the method aside, which each job sets), and the budgets of each.
    settings: RunSettings = field(default_factory=RunSettings)
    max_cost: float | None = None
    max_tokens: int | None = None
    fresh: bool = False


class ModeScore(BaseModel):
    """One paper's judge outcome in one mode."""

    mean: float | None = None
    std: float | None = None
    valid: int = 0
    n: int = 0
    cost_usd: float | None = None
    error: str | None = None
    skipped: str | None = None  # why this mode does not apply (no gold repository; the oracle in ref-based)


class PaperRecord(BaseModel):
    """What one method did on one paper."""

    group: str
    paper: str
    method: str
    run_dir: str
    has_gold: bool = False
    error: str | None = None
    tokens: int | None = None
    files: int | None = None
    functions: int | None = None
    scores: dict[str, ModeScore] = Field(default_factory=dict)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tei.xml"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _is_paper(path: Path) -> bool:
    low = path.name.lower()
    if low.startswith((".", "_", "readme", "license", "rubric")):
        return False
    return path.is_file() and low.endswith(_PAPER_SUFFIXES)


def _is_gold_dir(path: Path) -> bool:
    low = path.name.lower()
    return low == "gold" or low.endswith(("_gold", "_gold_repo"))


def _gold_for(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}_gold", folder / f"{stem}_gold_repo", folder / "gold" / stem):
        if candidate.is_dir():
            return candidate
    return None


def discover(dataset: Path) -> list[PaperEntry]:
    """The papers of ``dataset`` (see the module docstring for the layout).

    Raises:
        InputError: the folder is missing, holds no paper, or a group has two papers with one stem.
    """
    if not dataset.is_dir():
        raise InputError(f"dataset folder not found: {dataset}")
    folders = [(dataset.resolve().name, dataset)]
    folders += [
        (p.name, p)
        for p in sorted(dataset.iterdir())
        if p.is_dir() and not p.name.startswith((".", "_")) and not _is_gold_dir(p)
    ]
    entries: list[PaperEntry] = []
    for group, folder in folders:
        seen: dict[str, Path] = {}
        for path in sorted(p for p in folder.iterdir() if _is_paper(p)):
            stem = _stem(path)
            if stem in seen:
                raise InputError(
                    f"{seen[stem].name} and {path.name} in {folder} share the name {stem!r}; keep one file per paper"
                )
            seen[stem] = path
            entries.append(PaperEntry(group, stem, path, _gold_for(folder, stem)))
    if not entries:
        raise InputError(f"no paper found in {dataset} or its subfolders (formats: {', '.join(_PAPER_SUFFIXES)})")
    return entries


def parse_methods(text: str) -> list[str]:
    """``papercoder,paper`` → a checked list of methods; ``ablation`` stands for the ladder, bottom rung first."""
    named = [m.strip() for m in text.split(",") if m.strip()]
    methods = [m for name in named for m in (LADDER if name == "ablation" else (name,))]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(
            f"--methods {text}: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)} "
            "or ablation"
        )
    return list(dict.fromkeys(methods))


def parse_modes(text: str) -> list[Mode]:
    """``ref-free,ref-based`` → a checked list of judge modes."""
    modes: list[Mode] = []
    for raw in (m.strip() for m in text.split(",") if m.strip()):
        if raw not in MODES:
            raise InputError(f"--eval {text}: {raw!r} is not ref-free or ref-based")
        modes.append("ref-free" if raw == "ref-free" else "ref-based")
    if not modes:
        raise InputError("--eval: name ref-free, ref-based or both")
    return list(dict.fromkeys(modes))


class _Job:
    """One method on one paper: generate (or reuse), count, judge."""

    def __init__(
        self,
        entry: PaperEntry,
        method: str,
        out: Path,
        config: BenchConfig,
        model: tuple[ChatModel, ModelInfo],
        judge: ChatModel,
        on_event: EventHandler,
    ) -> None:
        self.entry, self.method, self.config = entry, method, config
        (self.model, self.info), self.judge, self.on_event = model, judge, on_event
        self.run = RunDir(out / entry.group / entry.name / method)
        self.record = PaperRecord(
            group=entry.group,
            paper=entry.name,
            method=method,
            run_dir=str(self.run.root),
            has_gold=entry.gold is not None,
        )

    async def generate(self) -> Path:
        """The repository of this job: the gold one for the oracle, else a run of the method (resumed when done)."""
        entry, run, config = self.entry, self.run, self.config
        if self.method == "oracle" and entry.gold is not None:
            return entry.gold
        settings = config.settings.model_copy(update={"method": self.method})
        budget = Budget(self.info.name, max_cost_usd=config.max_cost, max_tokens=config.max_tokens)
        await run_method(entry.path, run.root, self.model, self.info, settings, fresh=config.fresh, budget=budget)
        return run.repo

    async def paper_text(self) -> str:
        if self.run.exists("paper/paper.md"):
            return self.run.read("paper/paper.md")
        return (await asyncio.to_thread(load_paper, self.entry.path)).markdown()

    async def evaluate(self, repo: Path, mode: Mode) -> ModeScore:
        gold = self.entry.gold
        if mode == "ref-based" and (gold is None or self.method == "oracle"):
            return ModeScore(skipped="no gold repository" if gold is None else "not applicable to the oracle")
        judge = CachedModel(self.judge, CallCache(self.run.root / "eval" / "calls"))
        result: JudgeResult = await judge_repository(
            judge,
            await self.paper_text(),
            read_repo(repo).files,
            gold=read_repo(gold).files if mode == "ref-based" and gold is not None else None,
            n=self.config.n,
            reasoning_effort=self.config.judge_reasoning_effort,
            context_tokens=self.config.context_tokens,
            concurrency=self.config.judge_concurrency,
        )
        result.meta.update(
            {
                "paper": self.entry.name,
                "group": self.entry.group,
                "method": self.method,
                "repo": str(repo),
                "gold": str(gold) if mode == "ref-based" else None,
            }
        )
        atomic_write_json(self.run.root / "eval" / f"{mode}.json", result.model_dump(mode="json"))
        return ModeScore(
            mean=result.mean,
            std=result.std,
            valid=result.valid,
            n=result.n,
            cost_usd=result.cost_usd,
            error=None if result.valid else f"no valid judge sample among {result.n}",
        )

    async def __call__(self) -> PaperRecord:
        where = f"{self.entry.group}/{self.entry.name} [{self.method}]"
        if self.method == "oracle" and self.entry.gold is None:
            self.record.scores = {mode: ModeScore(skipped="no gold repository") for mode in self.config.modes}
            return self.record
        self.on_event(Note("bench", f"{where}: generating"))
        try:
            repo = await self.generate()
            stats = repo_stats(repo)
        except Exception as exc:  # one paper's failure is recorded, never fatal to the benchmark
            self.record.error = _one_line(exc)
            self.on_event(RunWarning(f"{where}: {self.record.error}"))
            return self.record
        self.record.tokens, self.record.files, self.record.functions = stats.tokens, stats.files, stats.functions
        for mode in self.config.modes:
            self.on_event(Note("bench", f"{where}: judging {mode}"))
            try:
                self.record.scores[mode] = await self.evaluate(repo, mode)
            except Exception as exc:  # recorded in the table like a generation failure
                self.record.scores[mode] = ModeScore(error=_one_line(exc))
                self.on_event(RunWarning(f"{where} {mode}: {_one_line(exc)}"))
        return self.record


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


async def run_bench(
    dataset: Path,
    out: Path,
    config: BenchConfig,
    *,
    model: ChatModel,
    info: ModelInfo,
    judge: ChatModel,
    on_event: EventHandler = ignore,
) -> list[PaperRecord]:
    """Run every method of ``config`` on every paper of ``dataset`` into ``out`` and judge the repositories.

    Args:
        dataset: the dataset folder (see the module docstring).
        out: where run directories and results go.
        config: methods, judge modes, samples and concurrency.
        model: the generating model.
        info: what the run records of it (``papercoder._api`` resolves it).
        judge: the judge model.
        on_event: called with a ``Note`` as each job proceeds and a ``RunWarning`` for each failure.

    Returns:
        One record per paper and method, in dataset order.
    """
    entries = discover(dataset)
    out.mkdir(parents=True, exist_ok=True)
    limit = 1 if info.provider == "local" else max(1, config.concurrency)  # the embedded model is not shared
    gate = asyncio.Semaphore(limit)

    async def guarded(job: _Job) -> PaperRecord:
        async with gate:
            return await job()

    jobs = [_Job(e, m, out, config, (model, info), judge, on_event) for e in entries for m in config.methods]
    return list(await asyncio.gather(*(guarded(job) for job in jobs)))


__all__ = [
    "METHODS",
    "BenchConfig",
    "ModeScore",
    "PaperEntry",
    "PaperRecord",
    "discover",
    "parse_methods",
    "parse_modes",
    "run_bench",
]
