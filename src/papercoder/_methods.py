"""The stage table: a method is an ordered list of stages, each one module of ``papercoder.pipeline`` behind one
adapter with the same signature. Stage names, estimate rows, the progress display and the report's order all come
from here (``papercoder._engine`` runs a method; the manifest lists its stages in this order).

Methods: ``papercoder`` (the paper's method); ``paper`` and ``abstract`` (its one-shot baselines); and the ablation
ladder of the paper, which adds one planning artifact a rung and shares the tail (coding, checks, reproduce.sh):
``coding-only`` (no plan: the whole repository from the paper in one answer), ``with-plan`` (the overall plan, then
one answer), ``with-architecture`` (file list: one call per file), ``with-logic`` (task order and per-file logic),
``with-config`` (config.yaml), and ``papercoder`` itself (+ analysis).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from papercoder._events import StageFinished
from papercoder.errors import InputError, StageError
from papercoder.pipeline import analysis, baseline, checks, coding, estimate, ingest, planning, readme, reproduce
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.estimate import EstimateInput, StageEstimate
from papercoder.pipeline.ingest import ReadPaper
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.rundir import kept_message, repo_sha256
from papercoder.repo.checks import static_checks
from papercoder.repo.findings import Finding
from papercoder.run_dir import StageRecord


@dataclass
class Work:
    """What the stages of one run hand each other."""

    read: ReadPaper
    edited: list[str] = field(default_factory=list)  # repo files changed after papercoder wrote them: kept
    plan: PlanningResult | None = None
    analyses: dict[str, str] = field(default_factory=dict)
    remaining: list[Finding] = field(default_factory=list)

    def need_plan(self) -> PlanningResult:
        if self.plan is None:  # a method lists planning before the stages that read it
            raise StageError("this method has no planning stage before the one that needs its plan")
        return self.plan


StageRun = Callable[[RunContext, Work], Awaitable[None]]
Estimator = Callable[[EstimateInput], StageEstimate | None]


def _none(inp: EstimateInput) -> StageEstimate | None:
    return None


@dataclass(frozen=True)
class Stage:
    """One stage of a method: its name (the manifest's key), what runs it, and its estimate row."""

    name: str
    run: StageRun
    estimate: Estimator = _none


@dataclass(frozen=True)
class Method:
    name: str
    stages: tuple[Stage, ...]
    summary: str

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]


def record_repo(ctx: RunContext, edited: list[str] | None = None) -> None:
    """Record repo/ as the pipeline left it; not while it keeps later edits, which must stay visible as edits."""
    if not edited:
        ctx.manifest.repo_sha256 = repo_sha256(ctx.run.repo)
        ctx.save()


def _done(ctx: RunContext, name: str, *statuses: str) -> bool:
    return ctx.manifest.stages.get(name, StageRecord()).status in statuses


async def _ingest(ctx: RunContext, work: Work) -> None:
    ingest.run(ctx, work.read)


def _planning(turns: int) -> Stage:
    async def go(ctx: RunContext, work: Work) -> None:
        work.plan = planning.load(ctx, turns)
        if work.plan is not None:
            ctx.emit(StageFinished("planning", "loaded"))
            return
        work.plan = await planning.run(ctx, turns)

    # The tokens of the answers of the turns asked, each turn's prompt the conversation so far.
    return Stage("planning", go, lambda inp: estimate.planning(inp, turns))


async def _analysis(ctx: RunContext, work: Work) -> None:
    plan = work.need_plan()
    if _done(ctx, "analysis", "done"):
        paths = [analysis.artifact(p) for p in plan.files]
        if all(ctx.run.exists(p) for p in paths):
            work.analyses = {f: ctx.run.read(p).strip() for f, p in zip(plan.files, paths, strict=True)}
            ctx.emit(StageFinished("analysis", "loaded"))
            return
    work.analyses = await analysis.run(ctx, plan)


def _kept(ctx: RunContext, work: Work) -> bool:
    """Whether repo/ keeps edits made after papercoder wrote it: then no stage rewrites it."""
    if work.edited:
        ctx.warn(kept_message(work.edited))
        ctx.emit(StageFinished("coding", "kept"))
    return bool(work.edited)


def _coding(turns: int, analysed: bool) -> Stage:
    async def go(ctx: RunContext, work: Work) -> None:
        if not _kept(ctx, work):
            await coding.run(ctx, work.need_plan(), work.analyses)
            record_repo(ctx)

    return Stage("coding", go, lambda inp: estimate.coding(inp, turns, analysed))


def _oneshot(source: str) -> Stage:
    """The whole repository in one answer, from the paper (``paper``), its abstract, or the plan (``plan``)."""

    async def go(ctx: RunContext, work: Work) -> None:
        if _kept(ctx, work):
            return
        if source == "plan":
            messages = baseline.from_plan_messages(work.need_plan())
        else:
            messages = baseline.baseline_messages("abstract" if source == "abstract" else "paper", work.read.paper)
        await baseline.run(ctx, messages, f"baseline/{source}")
        record_repo(ctx)

    return Stage("coding", go, lambda inp: estimate.oneshot(inp, 1 if source == "plan" else 0))


async def _checks(ctx: RunContext, work: Work) -> None:
    if work.edited and _done(ctx, "checks", "done"):
        work.remaining = static_checks(ctx.run.repo)  # the kept repository as it is now; no model call
        ctx.emit(StageFinished("checks", "kept"))
        return
    order = work.plan.files if work.plan is not None and work.plan.files else ctx.manifest.files
    work.remaining = await checks.run(ctx, order)
    record_repo(ctx, work.edited)


async def _reproduce(ctx: RunContext, work: Work) -> None:
    if work.edited and _done(ctx, "reproduce", "done", "skipped"):
        ctx.emit(StageFinished("reproduce", "kept"))
        return
    order = work.plan.files if work.plan is not None and work.plan.files else ctx.manifest.files
    script = await reproduce.run(ctx, order)
    if work.plan is not None:  # the README tells each planned file's role (no model call); a one-shot has no plan
        readme.write(ctx, work.plan, work.analyses, work.remaining, has_script=script is not None)
    record_repo(ctx, work.edited)


INGEST = Stage("ingest", _ingest)
ANALYSIS = Stage("analysis", _analysis, lambda inp: estimate.analysis(inp, planning.FULL))
CHECKS = Stage("checks", _checks)  # no model call unless the checks find something
REPRODUCE = Stage("reproduce", _reproduce, estimate.reproduce)
TAIL = (CHECKS, REPRODUCE)

_TABLE = (
    Method(
        "papercoder",
        (INGEST, _planning(4), ANALYSIS, _coding(4, True), *TAIL),
        "the paper's method: planning (4 turns), analysis, coding file by file, checks, reproduce.sh",
    ),
    Method("paper", (INGEST, _oneshot("paper")), "one-shot baseline: the whole repository from the full paper"),
    Method("abstract", (INGEST, _oneshot("abstract")), "one-shot baseline: the repository from title and abstract"),
    Method("coding-only", (INGEST, _oneshot("paper"), *TAIL), "ablation: no planning; one answer from the paper"),
    Method("with-plan", (INGEST, _planning(1), _oneshot("plan"), *TAIL), "ablation: the overall plan, one answer"),
    Method(
        "with-architecture",
        (INGEST, _planning(2), _coding(2, False), *TAIL),
        "ablation: + architecture (file list), coding file by file",
    ),
    Method("with-logic", (INGEST, _planning(3), _coding(3, False), *TAIL), "ablation: + logic design (task order)"),
    Method("with-config", (INGEST, _planning(4), _coding(4, False), *TAIL), "ablation: + config.yaml"),
)
METHODS: dict[str, Method] = {m.name: m for m in _TABLE}
#: The paper's ablation table, bottom rung first; its top rung is the full method.
LADDER = ("coding-only", "with-plan", "with-architecture", "with-logic", "with-config", "papercoder")


def method_named(name: str) -> Method:
    """The method ``name``; ``InputError`` naming the methods there are."""
    found = METHODS.get(name)
    if found is None:
        raise InputError(f"--method {name}: use one of {', '.join(METHODS)}")
    return found


def estimate_method(name: str, inp: EstimateInput) -> list[StageEstimate]:
    """The estimate rows of a method's stages, in its order."""
    return [row for stage in method_named(name).stages if (row := stage.estimate(inp)) is not None]
