"""What one refine call sees: which file a failed requirement belongs in, the paper text it cites, the file's
neighbours' interfaces. Pure functions of the rubric, the verdicts, the paper and the repository.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from papercoder.evaluation.filerank import FileIndex
from papercoder.evaluation.rubric import LeafVerdict, RubricNode
from papercoder.paper.model import Paper
from papercoder.paper.tokens import count_tokens
from papercoder.pipeline.interfaces import interface

SECTION_CHARS = 8000  # one cited section shown; longer ones are cut with a note
SECTIONS_CHARS = 24000  # all cited sections of one call
MAX_NEIGHBOURS = 8
DEFAULT_FILE = "main.py"


@dataclass(frozen=True)
class FailedLeaf:
    """A requirement the grader judged not met, as the refine prompt shows it."""

    id: str
    requirement: str
    section: str | None
    explanation: str


def target_file(verdict: LeafVerdict, files: Mapping[str, str], order: Sequence[str]) -> str:
    """The file that should hold a failed requirement: a Python file the grader was shown and named in its
    explanation, else the most relevant Python file it was shown, else the entry point or first Python file of the
    plan, else ``main.py`` (to be created)."""
    shown = [p for p in verdict.files if p.endswith(".py") and p in files]
    for path in shown:
        if path in verdict.explanation or PurePosixPath(path).name in verdict.explanation:
            return path
    if shown:
        return shown[0]
    planned = [p for p in order if p.endswith(".py") and p in files]
    for path in planned:
        if PurePosixPath(path).name == DEFAULT_FILE:
            return path
    fallback = planned or sorted(p for p in files if p.endswith(".py"))
    return fallback[0] if fallback else DEFAULT_FILE


def group_by_file(
    failed: Sequence[RubricNode],
    verdicts: Mapping[str, LeafVerdict],
    files: Mapping[str, str],
    order: Sequence[str],
) -> dict[str, list[RubricNode]]:
    """Failed leaves grouped by :func:`target_file`, files in plan order then by name, leaves in rubric order."""
    groups: dict[str, list[RubricNode]] = {}
    for leaf in failed:
        groups.setdefault(target_file(verdicts[leaf.id], files, order), []).append(leaf)
    rank = {p: i for i, p in enumerate(order)}
    return {p: groups[p] for p in sorted(groups, key=lambda p: (rank.get(p, len(rank)), p))}


def _norm(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def cited_sections(paper: Paper, leaves: Sequence[RubricNode]) -> list[tuple[str, str]]:
    """The paper sections the leaves come from: the section a leaf names (its heading, matched ignoring case and
    numbering, or contained in it), else the section whose words overlap the requirement most. In paper order,
    each at most ``SECTION_CHARS``, all together at most ``SECTIONS_CHARS``."""
    texts = {s.title: s.text for s in paper.sections if s.text.strip()}
    if paper.abstract:
        texts.setdefault("Abstract", paper.abstract)
    if not texts:
        return []
    index = FileIndex(texts, count_tokens)
    wanted: set[str] = set()
    for leaf in leaves:
        named = _norm(leaf.section or "")
        match = next((t for t in texts if named and _norm(t) == named), None)
        match = match or next((t for t in texts if named and (named in _norm(t) or _norm(t) in named)), None)
        if match is None:
            ranked = index.rank(leaf.requirements)
            match = ranked[0][0] if ranked and ranked[0][1] > 0 else None
        if match is not None:
            wanted.add(match)
    shown: list[tuple[str, str]] = []
    left = SECTIONS_CHARS
    for title, text in texts.items():
        if title not in wanted or left <= 0:
            continue
        body = text.strip()
        limit = min(SECTION_CHARS, left)
        if len(body) > limit:
            body = body[:limit] + f"\n[… section cut: {len(text):,} characters in all]"
        shown.append((title, body))
        left -= len(body)
    return shown


def _module_paths(module: str) -> list[str]:
    base = module.replace(".", "/")
    return [f"{base}.py", f"{base}/__init__.py"]


def _imports(path: str, code: str) -> set[str]:
    """The repository paths ``code`` may import (top-level and relative names, as files)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    package = str(PurePosixPath(path).parent).replace("/", ".").strip(".")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.update(_module_paths(alias.name))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                module = ".".join([*parts, module] if module else parts)
            found.update(_module_paths(module))
            found.update(
                p for alias in node.names for p in _module_paths(f"{module}.{alias.name}" if module else alias.name)
            )
    return found


def neighbours(path: str, files: Mapping[str, str]) -> list[tuple[str, str]]:
    """The interfaces of the Python files ``path`` imports and of those that import it (at most
    ``MAX_NEIGHBOURS``, imported first); every other Python file when it has no such neighbour."""
    python = {p: t for p, t in files.items() if p.endswith(".py") and p != path}
    imported = sorted(_imports(path, files.get(path, "")) & set(python))
    importers = sorted(p for p, t in python.items() if path in _imports(p, t) and p not in imported)
    chosen = [*imported, *importers] or sorted(python)
    return [(p, interface(p, python[p]).rstrip()) for p in chosen[:MAX_NEIGHBOURS]]


def failed_items(leaves: Sequence[RubricNode], verdicts: Mapping[str, LeafVerdict]) -> list[FailedLeaf]:
    """The leaves as the prompt lists them, with the grader's reasons."""
    return [FailedLeaf(leaf.id, leaf.requirements, leaf.section, verdicts[leaf.id].explanation) for leaf in leaves]
