"""PaperBench-style rubric grading: judge each leaf requirement 0/1, then score the tree by weighted means.

A rubric is a JSON tree of nodes ``{"id", "requirements", "weight", "sub_tasks", "task_category",
"finegrained_task_category"}``. Leaves are judged by the model with the repository files most relevant to the
requirement (ranked by word overlap with file paths and contents, top-k within a token budget). A parent scores
``Σ(weight · score) / Σ weight`` over its children; a parent whose children all weigh 0 scores 0 (and says so).
With a category (PaperBench Code-Dev keeps "Code Development"), only leaves of that category are kept, subtrees
left without leaves are dropped, and the weighted means re-normalise over what remains.

Scoring (``filter_category``, ``score_tree``) is pure; only ``grade_repository`` talks to a model.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from papercoder.errors import InputError
from papercoder.evaluation.filerank import FileIndex
from papercoder.evaluation.judge import ANSWER_RESERVE
from papercoder.evaluation.repofiles import format_files
from papercoder.evaluation.templates import render
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, Usage
from papercoder.llm.pricing import cost_usd
from papercoder.parsing.json_extract import JSONExtractionError, extract_json
from papercoder.run_dir import now_iso

CODE_DEVELOPMENT = "Code Development"
LEAF_OVERHEAD = 1500  # tokens of a leaf prompt besides the paper and the files: instructions, rubric path
LEAF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"explanation": {"type": "string"}, "score": {"type": "integer", "enum": [0, 1]}},
    "required": ["explanation", "score"],
}


class RubricNode(BaseModel):
    """One node of a rubric tree."""

    id: str
    requirements: str
    weight: float = Field(default=1.0, ge=0)
    sub_tasks: list[RubricNode] = Field(default_factory=list)
    task_category: str | None = None
    finegrained_task_category: str | None = None
    # Not in PaperBench's schema: the paper section a derived leaf comes from (``pipeline/rubric.py``).
    section: str | None = None

    @property
    def is_leaf(self) -> bool:
        """A node without sub-tasks."""
        return not self.sub_tasks

    def leaves(self) -> list[RubricNode]:
        """The leaves under this node (itself when it is one), depth first."""
        return [self] if self.is_leaf else [leaf for child in self.sub_tasks for leaf in child.leaves()]


class LeafVerdict(BaseModel):
    """The judge's verdict on one leaf: 0 or 1, why, and on which files."""

    score: int = Field(ge=0, le=1)
    explanation: str = ""
    valid: bool = True
    files: list[str] = Field(default_factory=list)


class ScoredNode(BaseModel):
    """A rubric node with its score in [0, 1]."""

    id: str
    requirements: str
    weight: float
    score: float
    task_category: str | None = None
    finegrained_task_category: str | None = None
    explanation: str = ""
    valid: bool | None = None  # leaves only: whether the judge's answer could be read
    files: list[str] = Field(default_factory=list)
    sub_tasks: list[ScoredNode] = Field(default_factory=list)


class GradeResult(BaseModel):
    """The graded rubric: the scored tree, its root score, and what the grading cost."""

    model: str
    created_at: str = ""
    category: str | None
    score: float
    leaves: int
    invalid_leaves: int
    tree: ScoredNode
    calls: int = 0
    cached_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None


def load_rubric(path: Path) -> RubricNode:
    """Read and check a rubric JSON file.

    Raises:
        InputError: the file is missing, not JSON, not a rubric tree, or repeats an id.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"rubric not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"rubric {path} is not readable JSON ({exc})") from None
    try:
        root = RubricNode.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(f"rubric {path} is not a rubric tree: {where}: {first['msg']}") from None
    seen: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id in seen:
            raise InputError(f"rubric {path} uses the id {node.id!r} twice; ids must be unique")
        seen.add(node.id)
        stack.extend(node.sub_tasks)
    return root


def _slug(text: str) -> str:
    return "-".join(text.lower().replace("_", " ").split())


def filter_category(node: RubricNode, category: str) -> RubricNode | None:
    """The tree keeping only leaves of ``category`` (matched ignoring case, spaces/hyphens/underscores);
    subtrees without such leaves are dropped. None when no leaf matches."""
    if node.is_leaf:
        return node if _slug(node.task_category or "") == _slug(category) else None
    kept = [k for k in (filter_category(c, category) for c in node.sub_tasks) if k is not None]
    return node.model_copy(update={"sub_tasks": kept}) if kept else None


def score_tree(node: RubricNode, verdicts: Mapping[str, LeafVerdict]) -> ScoredNode:
    """Score ``node`` from the leaves' verdicts: a leaf scores its verdict, a parent the weighted mean of its
    children (0, with a note, when every child weighs 0).

    Raises:
        ValueError: a leaf has no verdict.
    """
    if node.is_leaf:
        verdict = verdicts.get(node.id)
        if verdict is None:
            raise ValueError(f"no verdict for leaf {node.id!r}")
        return _scored(node, float(verdict.score), [], verdict.explanation, verdict.valid, verdict.files)
    children = [score_tree(child, verdicts) for child in node.sub_tasks]
    total = sum(c.weight for c in children)
    if total == 0:
        return _scored(node, 0.0, children, "every sub-task has weight 0, so this node scores 0")
    return _scored(node, sum(c.weight * c.score for c in children) / total, children)


def _scored(
    node: RubricNode,
    score: float,
    children: list[ScoredNode],
    explanation: str = "",
    valid: bool | None = None,
    files: list[str] | None = None,
) -> ScoredNode:
    return ScoredNode(
        id=node.id,
        requirements=node.requirements,
        weight=node.weight,
        score=score,
        task_category=node.task_category,
        finegrained_task_category=node.finegrained_task_category,
        explanation=explanation,
        valid=valid,
        files=files or [],
        sub_tasks=children,
    )


class _LeafAnswer(BaseModel):
    explanation: str = ""
    score: int

    @field_validator("score", mode="before")
    @classmethod
    def _binary(cls, value: object) -> object:
        if isinstance(value, bool):
            return int(value)
        if value not in (0, 1):
            raise ValueError("the score must be 0 or 1")
        return value


def parse_leaf_answer(text: str) -> LeafVerdict:
    """Read a leaf verdict; an unreadable answer scores 0 and is marked invalid."""
    try:
        answer = _LeafAnswer.model_validate(extract_json(text))
    except (JSONExtractionError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        return LeafVerdict(score=0, valid=False, explanation=f"unreadable verdict, scored 0 ({reason})")
    return LeafVerdict(score=answer.score, explanation=answer.explanation)


def _ancestry(node: RubricNode, target: str, trail: list[str]) -> list[str] | None:
    trail = [*trail, node.requirements]
    if node.id == target:
        return trail
    for child in node.sub_tasks:
        found = _ancestry(child, target, trail)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class JudgeSettings:
    """How leaves are judged: files per leaf and their token budget, the judge's window, sampling, concurrency."""

    concurrency: int = 4
    top_k: int = 5
    file_tokens: int = 12000
    context_tokens: int | None = None
    temperature: float | None = None
    reasoning_effort: str | None = None
    max_tokens: int | None = None


def file_budget(model: ChatModel, paper: str | None, judging: JudgeSettings) -> int:
    """The tokens left for a leaf's files once the paper, the instructions and the answer are counted.

    Raises:
        InputError: the paper leaves no room for files in the context window.
    """
    window = judging.context_tokens or model.context_window
    budget = judging.file_tokens
    if window is not None:
        fixed = model.count_tokens(paper or "") + LEAF_OVERHEAD + (judging.max_tokens or ANSWER_RESERVE)
        budget = min(budget, window - fixed)
        if budget <= 0:
            raise InputError(
                f"the paper alone needs about {fixed - LEAF_OVERHEAD} tokens with the answer, which leaves no room "
                f"for code in the judge's context window of {window}; grade without --paper or set a larger "
                "--context-tokens"
            )
    return budget


async def judge_leaves(
    model: ChatModel,
    tree: RubricNode,
    leaves: Sequence[RubricNode],
    repo: Mapping[str, str],
    *,
    paper: str | None = None,
    judging: JudgeSettings = JudgeSettings(),
) -> tuple[dict[str, LeafVerdict], list[Completion]]:
    """Judge ``leaves`` (of ``tree``, whose path to each leaf the prompt shows) against ``repo``: each verdict
    with the files it was shown, and every completion (for accounting). A leaf whose prompt is unchanged since an
    earlier grading is answered by the call cache when ``model`` has one.

    Raises:
        InputError: the paper leaves no room for files in the context window.
        ModelError: a call failed after its retries.
    """
    budget = file_budget(model, paper, judging)
    index = FileIndex(repo, model.count_tokens)
    gate = asyncio.Semaphore(max(1, judging.concurrency))
    completions: list[Completion] = []

    async def judge(leaf: RubricNode) -> tuple[str, LeafVerdict]:
        chosen = index.select(leaf.requirements, judging.top_k, budget)
        messages: list[Message] = [
            {"role": "system", "content": render("judge_system.j2")},
            {
                "role": "user",
                "content": render(
                    "rubric_leaf.j2",
                    paper=(paper or "").strip(),
                    ancestors=_ancestry(tree, leaf.id, []) or [],
                    requirement=leaf.requirements,
                    category=leaf.task_category or "unspecified",
                    finegrained=leaf.finegrained_task_category or "",
                    files=format_files({p: repo[p] for p in chosen}),
                ),
            },
        ]
        settings = CallSettings(
            step=f"grade/{leaf.id}",
            max_tokens=judging.max_tokens,
            temperature=judging.temperature,
            reasoning_effort=judging.reasoning_effort,
            json_schema=LEAF_SCHEMA,
            schema_name="rubric_leaf",
        )
        async with gate:
            done = await model.complete(messages, settings)
        completions.append(done)
        verdict = parse_leaf_answer(done.text).model_copy(update={"files": chosen})
        return leaf.id, verdict

    return dict(await asyncio.gather(*(judge(leaf) for leaf in leaves))), completions


async def grade_repository(
    model: ChatModel,
    rubric: RubricNode,
    repo: Mapping[str, str],
    *,
    paper: str | None = None,
    category: str | None = None,
    concurrency: int = 4,
    top_k: int = 5,
    file_tokens: int = 12000,
    context_tokens: int | None = None,
    temperature: float | None = None,
    reasoning_effort: str | None = None,
    max_tokens: int | None = None,
) -> GradeResult:
    """Judge every (kept) leaf of ``rubric`` against ``repo`` and score the tree.

    Args:
        model: the judge (wrap it in ``CachedModel`` to make re-runs free).
        rubric: the rubric tree.
        repo: the repository, path → text.
        paper: the paper as Markdown, shown with each leaf when given.
        category: keep only leaves of this task category (e.g. "Code Development").
        concurrency: leaves judged at once.
        top_k: at most this many files per leaf.
        file_tokens: token budget for a leaf's files (lowered to fit the context window).
        context_tokens: the judge's context window; defaults to ``model.context_window``.
        temperature: sampling temperature.
        reasoning_effort: passed to reasoning models.
        max_tokens: cap on each answer.

    Raises:
        InputError: no leaf of ``category``, or the paper leaves no room for files in the context window.
        ModelError: a call failed after its retries.
    """
    tree = filter_category(rubric, category) if category else rubric
    if tree is None:
        raise InputError(f"the rubric has no leaf of category {category!r}")
    judging = JudgeSettings(concurrency, top_k, file_tokens, context_tokens, temperature, reasoning_effort, max_tokens)
    leaves = tree.leaves()
    verdicts, completions = await judge_leaves(model, tree, leaves, repo, paper=paper, judging=judging)
    return graded(model.name, category, tree, verdicts, completions)


def graded(
    model: str, category: str | None, tree: RubricNode, verdicts: Mapping[str, LeafVerdict], done: list[Completion]
) -> GradeResult:
    """The scored tree and what its calls cost, from every leaf's verdict."""
    scored = score_tree(tree, verdicts)
    usage = Usage()
    for c in done:
        usage = usage + c.usage
    return GradeResult(
        model=model,
        created_at=now_iso(),
        category=category,
        score=scored.score,
        leaves=len(tree.leaves()),
        invalid_leaves=sum(1 for v in verdicts.values() if not v.valid),
        tree=scored,
        calls=len(done),
        cached_calls=sum(1 for c in done if c.from_cache),
        usage=usage,
        cost_usd=cost_usd(model, usage),
    )


__all__ = [
    "CODE_DEVELOPMENT",
    "GradeResult",
    "JudgeSettings",
    "LeafVerdict",
    "RubricNode",
    "ScoredNode",
    "file_budget",
    "filter_category",
    "grade_repository",
    "graded",
    "judge_leaves",
    "load_rubric",
    "parse_leaf_answer",
    "score_tree",
]
