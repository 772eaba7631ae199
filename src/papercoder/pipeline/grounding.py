"""What a repair or debug call needs besides the files: the plan's parts and the paper's sections they implement.

A fix that must "use the value the paper implies" can only do so when the paper is in the prompt; the whole paper
(and the planning conversation) is too long to repeat in every fix call, so each call gets, for the files it shows,
the logic design's entry and the design's signatures for them, and the paper sections that those entries and the
files' analyses are most about (word overlap, ``papercoder.evaluation.filerank``), within a token budget.

Nothing here calls a model; a run directory without planning artifacts (a run from before planning finished, or a
foreign one) gets no grounding, and the prompt says so by leaving the block out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from papercoder.evaluation.filerank import FileIndex
from papercoder.paper.model import Paper
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign
from papercoder.pipeline.templates import render

SECTION_BUDGET = 3000  # tokens of paper sections one fix call carries
MAX_SECTIONS = 3
MAX_SECTION_CHARS = 8000  # one long section is cut: the start of a section states what it defines
MAX_PLAN_FILES = 4  # the plan parts of the first files shown (the ones the problem is in come first)


@dataclass
class PlanPart:
    """What the plan says of one file: its logic design entry and the design's signatures."""

    file: str
    logic: str
    signatures: list[str] = field(default_factory=list)


@dataclass
class Grounding:
    """The paper sections and plan parts a fix call carries; empty when the run has no planning artifacts."""

    sections: list[tuple[str, str]] = field(default_factory=list)
    plan: list[PlanPart] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sections or self.plan)


def grounded(ctx: RunContext, paths: Sequence[str], problem: str) -> tuple[Grounding, int]:
    """The grounding of a fix call (none for a compact run: a small model's 8k context has no room for it) and
    the tokens it adds to the prompt, for the budget of the files shown beside it."""
    if ctx.options.compact:
        return Grounding(), 0
    found = grounding_for(ctx, paths, problem)
    return found, ctx.model.count_tokens(render("repo/grounding.j2", grounding=found)) if found else 0


def _load(ctx: RunContext) -> tuple[Paper, ArchitectureDesign, LogicDesign] | None:
    run = ctx.run
    needed = ("paper/paper.json", "planning/2_architecture.json", "planning/3_logic.json")
    if not all(run.exists(p) for p in needed):
        return None
    try:
        paper = Paper.model_validate_json(run.read("paper/paper.json"))
        architecture = ArchitectureDesign.model_validate_json(run.read("planning/2_architecture.json"))
        logic = LogicDesign.model_validate_json(run.read("planning/3_logic.json"))
    except (ValueError, RecursionError):
        return None
    return paper, architecture, logic


def grounding_for(ctx: RunContext, paths: Sequence[str], problem: str = "") -> Grounding:
    """The grounding of a fix call showing ``paths`` (most relevant first) for ``problem`` (the findings or the
    error's tail): plan parts of the first ``MAX_PLAN_FILES`` source files, and the paper sections that the plan
    parts, their analyses and the problem are most about."""
    loaded = _load(ctx)
    if loaded is None:
        return Grounding()
    paper, architecture, logic = loaded
    logic_of = {e.file.strip().lstrip("./"): e.logic for e in logic.logic_analysis}
    parts: list[PlanPart] = []
    for path in paths:
        if len(parts) >= MAX_PLAN_FILES:
            break
        if path in logic_of or architecture.signatures_for(path):
            parts.append(PlanPart(path, logic_of.get(path, ""), architecture.signatures_for(path)))
    query = [problem, *(p.logic for p in parts), *(" ".join(p.signatures) for p in parts)]
    for part in parts:
        analysis = f"analysis/{part.file}.md"
        if ctx.run.exists(analysis):
            query.append(ctx.run.read(analysis))
    sections = _sections(ctx, paper, "\n".join(query))
    return Grounding(sections=sections, plan=parts)


def _sections(ctx: RunContext, paper: Paper, query: str) -> list[tuple[str, str]]:
    texts: dict[str, str] = {}
    for section in paper.sections:
        title, n = section.title.strip() or "Untitled", 2
        while title in texts:  # the index is by title: keep repeated headings apart
            title, n = f"{section.title.strip()} ({n})", n + 1
        body = section.text.strip()
        if body:
            texts[title] = body[:MAX_SECTION_CHARS]
    if not texts or not query.strip():
        return []
    index = FileIndex(texts, ctx.model.count_tokens)
    relevant = {title for title, score in index.rank(query) if score > 0}
    chosen = [t for t in index.select(query, MAX_SECTIONS, SECTION_BUDGET) if t in relevant]
    order = list(texts)
    return [(t, texts[t]) for t in sorted(chosen, key=order.index)]  # in the paper's order
