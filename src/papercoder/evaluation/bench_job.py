"""One job of ``papercoder bench``: a method on a paper (with one seed), in phases: generate, debug, judge."""

from __future__ import annotations

import asyncio
from pathlib import Path

from papercoder._engine import run_method
from papercoder.evaluation.bench import BenchConfig, JobSpec, ModeScore, PaperEntry, PaperRecord, ProgressFn
from papercoder.evaluation.judge import JudgeResult, Mode, judge_repository
from papercoder.evaluation.repofiles import read_repo
from papercoder.evaluation.stats import repo_stats
from papercoder.fsutil import atomic_write_json
from papercoder.llm.base import ChatModel, SeededModel
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.registry import ModelChoice
from papercoder.paper import load_paper
from papercoder.run_dir import ModelInfo, RunDir
from papercoder.settings import RunSettings


def run_dir_of(out: Path, entry: PaperEntry, method: str, seed: int | None) -> Path:
    """Where one job's run directory is: ``OUT/<group>/<paper>/<method>/`` (``.../seed-<k>/`` with seeds)."""
    folder = out / entry.group / entry.name / method
    return folder if seed is None else folder / f"seed-{seed}"


def label(spec: JobSpec) -> str:
    """How progress lines name a job: ``group/paper [method]`` or ``group/paper [method seed 2]``."""
    seed = "" if spec.seed is None else f" seed {spec.seed}"
    return f"{spec.entry.group}/{spec.entry.name} [{spec.method}{seed}]"


class _Job:
    """One method on one paper: generate (or reuse), count, judge."""

    def __init__(
        self,
        entry: PaperEntry,
        method: str,
        out: Path,
        config: BenchConfig,
        choice: ModelChoice,
        model: ChatModel,
        judge: ChatModel,
        progress: ProgressFn,
        seed: int | None = None,
    ) -> None:
        self.entry, self.method, self.config = entry, method, config
        self.choice, self.judge, self.progress = choice, judge, progress
        self.model = model if seed is None else SeededModel(model, seed)
        self.run = RunDir(run_dir_of(out, entry, method, seed))
        self.where = label(JobSpec(entry, method, seed))
        self.record = PaperRecord(
            group=entry.group,
            paper=entry.name,
            method=method,
            run_dir=str(self.run.root),
            has_gold=entry.gold is not None,
            seed=seed,
        )

    async def generate(self) -> Path:
        """The gold repository for the oracle; else a run of the method through the engine, as ``papercoder run
        --method`` makes it (a finished run with the same settings resumes without a call)."""
        entry, run = self.entry, self.run
        if self.method == "oracle" and entry.gold is not None:
            return entry.gold
        settings = RunSettings(**self.config.pipeline.model_dump(), method=self.method)
        info = ModelInfo.of(self.choice, self.model)
        await run_method(entry.path, run.root, self.model, info, settings)
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

    # The phases are separate so that an executor can run each where it belongs (``executors.py``: the debug
    # phase in a task with the CPUs and GPUs the user asked for); the record carries the state between them.
    async def generate_phase(self) -> Path | None:
        """The repository to judge, or ``None`` when the record is already final (failed, or nothing to do)."""
        if self.method == "oracle" and self.entry.gold is None:
            self.record.scores = {mode: ModeScore(skipped="no gold repository") for mode in self.config.modes}
            return None
        self.progress("bench", f"{self.where}: generating")
        try:
            return await self.generate()
        except Exception as exc:  # one paper's failure is recorded, never fatal to the benchmark
            self.record.error = one_line(exc)
            self.progress("warning", f"{self.where}: {self.record.error}")
            return None

    async def debug_phase(self) -> None:
        """Run and fix the generated repository (``--debug``); a finished loop is not run again on resume."""
        if self.config.debug is None or self.method == "oracle":
            return
        from papercoder.evaluation.bench_debug import debug_run_dir

        self.progress("bench", f"{self.where}: debugging")
        try:
            self.record.debug = await debug_run_dir(self.run.root, self.model, self.config.debug, self.progress)
        except Exception as exc:  # the repository is judged as it is
            self.record.debug = {"error": one_line(exc)}
            self.progress("warning", f"{self.where} debug: {one_line(exc)}")

    async def judge_phase(self, repo: Path) -> PaperRecord:
        """Count the repository's statistics and judge it in every mode."""
        where = self.where
        try:
            stats = repo_stats(repo)
        except Exception as exc:
            self.record.error = one_line(exc)
            self.progress("warning", f"{where}: {self.record.error}")
            return self.record
        self.record.tokens, self.record.files, self.record.functions = stats.tokens, stats.files, stats.functions
        for mode in self.config.modes:
            self.progress("bench", f"{where}: judging {mode}")
            try:
                self.record.scores[mode] = await self.evaluate(repo, mode)
            except Exception as exc:  # recorded in the table like a generation failure
                self.record.scores[mode] = ModeScore(error=one_line(exc))
                self.progress("warning", f"{where} {mode}: {one_line(exc)}")
        return self.record

    async def __call__(self) -> PaperRecord:
        repo = await self.generate_phase()
        if repo is None:
            return self.record
        await self.debug_phase()
        return await self.judge_phase(repo)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


def make_job(
    spec: JobSpec,
    out: Path,
    config: BenchConfig,
    choice: ModelChoice,
    model: ChatModel,
    judge: ChatModel,
    progress: ProgressFn,
) -> _Job:
    """The job ``spec`` names, on these models (for the executors)."""
    return _Job(spec.entry, spec.method, out, config, choice, model, judge, progress, spec.seed)
