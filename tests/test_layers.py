"""The import graph of ``src/papercoder`` (read with ``ast``, imports inside functions included): no cycle, and
dependencies point down (CLI → public API → engine → stages → model/paper/parsing/workspace)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

SRC = REPO_ROOT / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Imports under `if TYPE_CHECKING:` are for the type checker only: never executed, no cycle.
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                names = {f"{base}.{alias.name}" for alias in node.names}
                found.update(names & modules.keys() or {base})  # `from pkg import module` needs the module only
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_dependencies_point_down() -> None:
    graph = import_graph()
    layers = {  # a module under the key may not import any module under the listed prefixes
        "papercoder.pipeline": ("papercoder._cli", "papercoder._api", "papercoder._engine", "papercoder._methods"),
        "papercoder.repo": ("papercoder._cli", "papercoder.pipeline", "papercoder.evaluation", "papercoder._engine"),
        "papercoder.llm": ("papercoder._cli", "papercoder.pipeline", "papercoder.evaluation", "papercoder.repo"),
        "papercoder.paper": ("papercoder._cli", "papercoder.pipeline", "papercoder.evaluation", "papercoder.repo"),
        "papercoder.parsing": ("papercoder._cli", "papercoder.pipeline", "papercoder.evaluation", "papercoder.llm"),
        "papercoder._engine": ("papercoder._cli", "papercoder._api"),
        "papercoder.report": ("papercoder._cli", "papercoder._api", "papercoder._engine", "papercoder.pipeline"),
    }
    wrong = [
        f"{module} imports {dep}"
        for module, deps in graph.items()
        for prefix, banned in layers.items()
        if module == prefix or module.startswith(prefix + ".")
        for dep in deps
        if dep.startswith(banned)
    ]
    # Only the CLI's entry modules import the CLI; no CLI module imports main.py.
    wrong += [
        f"{m} imports {d}"
        for m, deps in graph.items()
        for d in deps
        if d.startswith("papercoder._cli") and not m.startswith(("papercoder._cli", "papercoder.__main__"))
    ]
    wrong += [
        f"{m} imports papercoder._cli.main"
        for m, deps in graph.items()
        if "papercoder._cli.main" in deps and m != "papercoder.__main__"
    ]
    assert wrong == []


def test_the_checks_see_imports() -> None:
    graph = import_graph()
    assert {"papercoder._methods", "papercoder.pipeline.ingest"} <= graph["papercoder._engine"]
    assert "papercoder._cli._common" in graph["papercoder._cli.run"]  # a lazy import counts as well
    assert "papercoder._api" in graph["papercoder._cli.estimate"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
