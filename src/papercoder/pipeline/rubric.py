"""The rubric stage: a PaperBench-schema checklist of what the paper asks of the code (``RUN_DIR/rubric/``).

Two steps, both validated with pydantic and each given one repair turn that quotes the error: ``rubric/components``
lists the paper's weighted components; ``rubric/leaves/cNN`` breaks each into atomic requirements, each one thing a
reader can check in code, with the paper section it comes from. The number of leaves is bounded by the paper's
length (:func:`leaf_cap`), shared out by component weight; requirements that say the same thing (ignoring case,
punctuation and spacing) are merged into the first, their weights added. Every derived leaf is a "Code Development"
leaf. The tree is written to ``rubric/rubric.json`` (PaperBench's fields, plus ``section``) and
``rubric/source.json`` says whether it was derived here or given (``--rubric FILE``, an official PaperBench tree).
A score on a derived tree is a self-derived score and is always labelled so, never as a PaperBench score.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from papercoder.evaluation.rubric import CODE_DEVELOPMENT, RubricNode, load_rubric
from papercoder.llm.base import Message
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.schemas import json_schema
from papercoder.pipeline.steps import ask_with_repair, settings_for
from papercoder.pipeline.templates import render
from papercoder.run_dir import StageClock

STAGE = "rubric"
FOLDER = "rubric"
TREE = "rubric/rubric.json"
SOURCE = "rubric/source.json"
MAX_COMPONENTS = 8
TOKENS_PER_LEAF = 250  # one checkable requirement per ~250 paper tokens (a page holds ~3)
MIN_LEAVES, MAX_LEAVES = 6, 150
CATEGORIES = (
    "Method Implementation",
    "Experimental Setup",
    "Dataset and Model Acquisition",
    "Evaluation, Metrics & Benchmarking",
    "Logging, Analysis & Presentation",
)
SELF_DERIVED = "self-derived rubric (not a PaperBench score)"
M = TypeVar("M", bound=BaseModel)


class Component(BaseModel):
    name: str = Field(min_length=1)
    summary: str = ""
    weight: float = Field(gt=0)
    sections: list[str] = Field(default_factory=list)


class Components(BaseModel):
    components: list[Component] = Field(min_length=1)


class LeafItem(BaseModel):
    requirement: str = Field(min_length=1)
    section: str = ""
    weight: float = Field(default=1.0, gt=0)
    category: str = CATEGORIES[0]


class Leaves(BaseModel):
    leaves: list[LeafItem] = Field(min_length=1)


@dataclass(frozen=True)
class ChosenRubric:
    """The rubric a run is graded on, and whether this run derived it (its score is then self-derived)."""

    tree: RubricNode
    derived: bool
    path: Path

    @property
    def label(self) -> str:
        return SELF_DERIVED if self.derived else "given rubric"


def leaf_cap(paper_tokens: int) -> int:
    """At most this many leaves for a paper of ``paper_tokens``: longer papers state more to check."""
    return max(MIN_LEAVES, min(MAX_LEAVES, paper_tokens // TOKENS_PER_LEAF))


def shares(weights: list[float], cap: int) -> list[int]:
    """Leaves per component: ``cap`` shared out by weight (largest remainders first), at least one each."""
    total = sum(weights)
    raw = [cap * w / total for w in weights]
    counts = [max(1, int(r)) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    for i in order:
        if sum(counts) >= cap:
            break
        counts[i] += 1
    return counts


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split())


def build_tree(title: str, components: list[Component], leaves: list[list[LeafItem]]) -> tuple[RubricNode, list[str]]:
    """The rubric tree from the steps' answers, duplicates merged; and a line per merge."""
    seen: dict[str, RubricNode] = {}
    merged: list[str] = []
    nodes: list[RubricNode] = []
    for i, (component, items) in enumerate(zip(components, leaves, strict=True), start=1):
        kept: list[RubricNode] = []
        for item in items:
            key = _norm(item.requirement)
            if key in seen:
                first = seen[key]
                first.weight += item.weight
                merged.append(f"{component.name}: {item.requirement!r} merged into leaf {first.id}")
                continue
            category = next((c for c in CATEGORIES if _norm(c) == _norm(item.category)), CATEGORIES[0])
            leaf = RubricNode(
                id=f"c{i:02d}.{len(kept) + 1:02d}",
                requirements=item.requirement.strip(),
                weight=item.weight,
                task_category=CODE_DEVELOPMENT,
                finegrained_task_category=category,
                section=item.section.strip() or (component.sections[0] if component.sections else None),
            )
            seen[key] = leaf
            kept.append(leaf)
        if kept:
            text = f"{component.name}: {component.summary}".strip().rstrip(":")
            nodes.append(RubricNode(id=f"c{i:02d}", requirements=text, weight=component.weight, sub_tasks=kept))
    root = RubricNode(id="root", requirements=f"The repository reproduces {title or 'the paper'}", sub_tasks=nodes)
    return root, merged


def dump(node: RubricNode) -> dict[str, Any]:
    """The node as PaperBench writes it: its six fields, and ``section`` only where there is one."""
    data = node.model_dump(exclude={"sub_tasks", "section"})
    if node.section:
        data["section"] = node.section
    data["sub_tasks"] = [dump(child) for child in node.sub_tasks]
    return data


async def _ask_valid(
    ctx: RunContext, clock: StageClock, messages: list[Message], model: type[M], step: str
) -> tuple[M, str]:
    """A validated answer, with one repair turn quoting the error; a second bad answer is a one-line error naming
    the step (both answers evicted from the cache, so a re-run asks again)."""
    settings = settings_for(ctx, step, ctx.options.limits.json_step, json_schema=json_schema(model))
    settings = settings.model_copy(update={"schema_name": step.replace("/", "_").replace(".", "_")})
    return await ask_with_repair(
        ctx,
        clock,
        messages,
        model,
        settings,
        repair="rubric/repair.j2",
        keys=list(model.model_fields),
        give_up=lambda exc: (
            f"rubric step '{step}' gave an invalid rubric twice ({exc}); re-run to ask again, pass --rubric FILE, "
            "or use a stronger --model"
        ),
    )


async def run(ctx: RunContext) -> ChosenRubric:
    """Derive the rubric from ``paper/paper.md`` and write it to ``rubric/``.

    Raises:
        StageError: a step's answer is invalid after its repair turn.
    """
    paper = ctx.run.read("paper/paper.md")
    title = ctx.manifest.paper.title
    cap = leaf_cap(ctx.model.count_tokens(paper))
    with ctx.stage(STAGE) as clock:
        ctx.note(STAGE, f"deriving a rubric of at most {cap} leaves from the paper")
        messages: list[Message] = [
            {"role": "system", "content": render("rubric/system.j2")},
            {"role": "user", "content": render("rubric/components.j2", paper=paper, max_components=MAX_COMPONENTS)},
        ]
        found, text = await _ask_valid(ctx, clock, messages, Components, "rubric/components")
        components = found.components[:MAX_COMPONENTS]
        counts = shares([c.weight for c in components], cap)
        context: list[Message] = [*messages, {"role": "assistant", "content": text}]

        async def leaves_of(i: int, component: Component) -> list[LeafItem]:
            prompt = render(
                "rubric/leaves.j2",
                component=component.name,
                summary=component.summary or "no summary",
                cap=counts[i],
                categories="; ".join(CATEGORIES),
            )
            step = f"rubric/leaves/c{i + 1:02d}"
            answer, _ = await _ask_valid(ctx, clock, [*context, {"role": "user", "content": prompt}], Leaves, step)
            return answer.leaves[: counts[i]]

        gate = asyncio.Semaphore(max(1, ctx.options.concurrency))

        async def gated(i: int, component: Component) -> list[LeafItem]:
            async with gate:
                return await leaves_of(i, component)

        leaves = list(await asyncio.gather(*(gated(i, c) for i, c in enumerate(components))))
        tree, merged = build_tree(title, components, leaves)
        ctx.run.write(TREE, json.dumps(dump(tree), indent=2, ensure_ascii=False) + "\n")
        source = {"source": "derived", "label": SELF_DERIVED, "leaf_cap": cap, "leaves": len(tree.leaves())}
        ctx.run.write(SOURCE, json.dumps({**source, "merged": merged}, indent=2) + "\n")
        ctx.note(STAGE, f"{len(tree.leaves())} leaves in {len(tree.sub_tasks)} components ({len(merged)} merged)")
    return ChosenRubric(tree, True, ctx.run.root / TREE)


def load(ctx: RunContext) -> ChosenRubric | None:
    """The rubric already in ``rubric/`` (derived by a finished stage, or given earlier), or None."""
    path, source = ctx.run.root / TREE, ctx.run.root / SOURCE
    if not (path.is_file() and source.is_file()):
        return None
    try:
        origin = json.loads(source.read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    if origin == "derived" and ctx.manifest.stages.get(STAGE) is None:
        return None
    if origin == "derived" and ctx.manifest.stages[STAGE].status != "done":
        return None
    return ChosenRubric(load_rubric(path), origin == "derived", path)


def use_given(ctx: RunContext, given: Path) -> ChosenRubric:
    """Grade on ``given`` (an official PaperBench tree): checked, then copied to ``rubric/rubric.json``.

    Raises:
        InputError: the file is not a rubric tree.
    """
    tree = load_rubric(given)
    target = ctx.run.root / TREE
    target.parent.mkdir(parents=True, exist_ok=True)
    if given.resolve() != target.resolve():
        shutil.copyfile(given, target)
    ctx.run.write(SOURCE, json.dumps({"source": "given", "path": str(given), "leaves": len(tree.leaves())}) + "\n")
    return ChosenRubric(tree, False, target)


async def choose(ctx: RunContext, given: Path | None) -> ChosenRubric:
    """The rubric to grade on: ``given`` when named, else the one derived earlier, else a new derivation."""
    if given is not None:
        return use_given(ctx, given)
    return load(ctx) or await run(ctx)
