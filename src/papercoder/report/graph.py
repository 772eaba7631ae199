"""The file dependency graph of a generated repository: which of its Python files import which, found with ``ast``."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field


@dataclass
class ImportGraph:
    """Python files of a repository (relative POSIX paths), edges importer → imported, and files that did not parse."""

    nodes: list[str]
    edges: list[tuple[str, str]]
    unparsable: list[str] = field(default_factory=list)


def module_names(path: str) -> list[str]:
    """The dotted names a repository file can be imported by: ``pkg/mod.py`` → ``pkg.mod``; ``pkg/__init__.py`` →
    ``pkg``; under a ``src/`` layout both ``src.pkg.mod`` and ``pkg.mod``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return []
    names = [".".join(parts)]
    if parts[0] == "src" and len(parts) > 1:
        names.append(".".join(parts[1:]))
    return names


def _package_of(path: str) -> list[str]:
    """The package a file's relative imports start from (``pkg/sub/mod.py`` → ``[pkg, sub]``)."""
    parts = path.removesuffix(".py").split("/")
    return parts[:-1]


def _candidates(node: ast.Import | ast.ImportFrom, path: str) -> list[list[str]]:
    """For each name the statement imports, the dotted module names it may refer to, most specific first."""
    if isinstance(node, ast.Import):
        out = []
        for alias in node.names:
            pieces = alias.name.split(".")
            out.append([".".join(pieces[:i]) for i in range(len(pieces), 0, -1)])
        return out
    if node.level:
        package = _package_of(path)
        if node.level - 1 > len(package):
            return []
        base = package[: len(package) - (node.level - 1)]
    else:
        base = []
    if node.module:
        base = [*base, *node.module.split(".")]
    prefix = ".".join(base)
    out = []
    for alias in node.names:
        names = [f"{prefix}.{alias.name}" if prefix else alias.name] if alias.name != "*" else []
        if prefix:
            names.append(prefix)
        out.append(names)
    return out


def import_graph(sources: dict[str, str]) -> ImportGraph:
    """The graph of imports between the Python files in ``sources`` (relative path → code).

    Imports of anything outside the repository (numpy, the standard library) are not edges. Imports inside
    functions count. A file that does not parse is still a node, listed in ``unparsable``.
    """
    python = sorted(p for p in sources if p.endswith(".py"))
    by_module: dict[str, str] = {}
    for path in python:
        for name in module_names(path):
            by_module.setdefault(name, path)
    edges: set[tuple[str, str]] = set()
    unparsable = []
    for path in python:
        try:
            tree = ast.parse(sources[path], filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurd nesting
            unparsable.append(path)
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for names in _candidates(node, path):
                target = next((by_module[n] for n in names if n in by_module), None)
                if target is not None and target != path:
                    edges.add((path, target))
    return ImportGraph(python, sorted(edges), unparsable)


_UNSAFE_LABEL = re.compile(r"[^\w./ -]")


def to_mermaid(graph: ImportGraph) -> str | None:
    """A mermaid ``graph LR`` of ``graph`` (node ids ``n0``, ``n1``…; labels keep only safe characters), or None when
    the repository has no Python file."""
    if not graph.nodes:
        return None
    ids = {path: f"n{i}" for i, path in enumerate(graph.nodes)}
    lines = ["graph LR"]
    lines.extend(f'    {ids[path]}["{_UNSAFE_LABEL.sub("_", path)}"]' for path in graph.nodes)
    lines.extend(f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges)
    return "\n".join(lines)
