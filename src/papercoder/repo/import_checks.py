"""The import checks of ``papercoder.repo.checks``: an import of a repository module must resolve to a file, and a
name imported from one (or used as an attribute of one) must be defined there; third-party imports are collected
for the requirements check. Nothing is executed: the files are read with ``ast``.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from pathlib import PurePosixPath

from papercoder.repo.astnodes import nodes
from papercoder.repo.findings import Finding
from papercoder.repo.module_attrs import attribute_findings

# Always present in an environment that can install anything, or part of the interpreter.
ALWAYS_THERE = frozenset({"pip", "setuptools", "pkg_resources", "wheel", "_typeshed", "__future__"})


class ModuleIndex:
    """The Python modules of a repository, by dotted name, and the names each module defines."""

    def __init__(self, trees: dict[str, ast.Module]) -> None:
        self.trees = trees
        self.modules: dict[str, str] = {}  # dotted name → path of its file (__init__.py for a package)
        self.packages: set[str] = set()  # dotted names of folders holding Python files
        for path in trees:
            parts = PurePosixPath(path).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                self.modules[".".join(parts)] = path
            for depth in range(1, len(PurePosixPath(path).parts)):
                self.packages.add(".".join(PurePosixPath(path).parts[:depth]))
        self._defined: dict[str, set[str] | None] = {}

    def exists(self, dotted: str) -> bool:
        return dotted in self.modules or dotted in self.packages

    def bases(self, path: str) -> list[str]:
        """Dotted prefixes a module name may be relative to: the root, the file's own folder, and ``src``."""
        folder = PurePosixPath(path).parent.as_posix()
        found = [""]
        if folder not in (".", ""):
            found.append(folder.replace("/", ".") + ".")
        if "src" in self.packages:
            found.append("src.")
        return found

    def defined(self, dotted: str) -> set[str] | None:
        """Names the module defines at top level; None when it may define anything (star import, __getattr__)."""
        if dotted not in self._defined:
            path = self.modules.get(dotted)
            self._defined[dotted] = _top_level_names(self.trees[path]) if path is not None else set()
        return self._defined[dotted]


def _top_level_names(tree: ast.Module) -> set[str] | None:
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> bool:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.Import):
                names.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if any(a.name == "*" for a in node.names):
                    return False
                names.update(a.asname or a.name for a in node.names)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(node, field, None)
                if (
                    isinstance(inner, list)
                    and not isinstance(node, ast.FunctionDef | ast.ClassDef)
                    and not visit(inner)
                ):
                    return False
            for handler in getattr(node, "handlers", []):
                if not visit(handler.body):
                    return False
        return True

    if not visit(tree.body):
        return None
    return None if "__getattr__" in names else names


def _optional_imports(tree: ast.Module) -> set[int]:
    """Line numbers of imports that may fail on purpose: in ``try`` blocks catching ImportError, or type-only."""
    lines: set[int] = set()
    for node in nodes(tree):
        guarded: list[ast.stmt] = []
        if isinstance(node, ast.Try):
            caught = [ast.unparse(h.type) if h.type is not None else "" for h in node.handlers]
            if any(c == "" or re.search(r"ImportError|ModuleNotFoundError|Exception", c) for c in caught):
                guarded = node.body
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded = node.body
        for stmt in guarded:
            lines.update(n.lineno for n in ast.walk(stmt) if isinstance(n, ast.Import | ast.ImportFrom))
    return lines


def import_findings(
    path: str, tree: ast.Module, index: ModuleIndex, third_party: dict[str, tuple[str, int]]
) -> list[Finding]:
    findings: list[Finding] = []
    optional = _optional_imports(tree)
    package = PurePosixPath(path).parent.as_posix().replace("/", ".").strip(".")
    for node in nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                findings.extend(_check_module(path, node.lineno, alias.name, index, third_party, optional))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                dotted = ".".join(p for p in (base, node.module or "") if p)
                candidates = [dotted] if dotted else []
            else:
                dotted = node.module or ""
                candidates = [b + dotted for b in index.bases(path)]
                found = _check_module(path, node.lineno, dotted, index, third_party, optional)
                if found or not any(index.exists(c) for c in candidates):
                    findings.extend(found)
                    continue
            module = next((c for c in candidates if index.exists(c)), None)
            if module is None:
                continue
            findings.extend(_check_names(path, node, module, index))
    for line, message in attribute_findings(tree, lambda dotted: _module_file(path, dotted, index), index.defined):
        findings.append(Finding("import", path, line, message))
    return findings


def _module_file(path: str, dotted: str, index: ModuleIndex) -> tuple[str, str] | None:
    found = next((b + dotted for b in index.bases(path) if b + dotted in index.modules), None)
    return (found, index.modules[found]) if found else None


def _check_module(
    path: str, line: int, dotted: str, index: ModuleIndex, third_party: dict[str, tuple[str, int]], optional: set[int]
) -> list[Finding]:
    top = dotted.split(".")[0]
    bases = index.bases(path)
    if any(index.exists(b + dotted) for b in bases):
        return []
    if any(index.exists(b + top) for b in bases):
        if line in optional:
            return []
        return [Finding("import", path, line, f"imports {dotted}, which is no module of the repository")]
    if top in sys.stdlib_module_names or top in ALWAYS_THERE or line in optional or not top:
        return []
    close = difflib.get_close_matches(top, [m for m in index.modules if "." not in m], n=1, cutoff=0.8)
    if close:
        return [
            Finding(
                "import",
                path,
                line,
                f"imports {dotted}, which is neither a repository module (did you mean "
                f"{close[0]}?) nor a package in requirements.txt",
            )
        ]
    third_party.setdefault(top, (path, line))
    return []


def _check_names(path: str, node: ast.ImportFrom, module: str, index: ModuleIndex) -> list[Finding]:
    findings = []
    names = index.defined(module)
    for alias in node.names:
        if alias.name == "*" or index.exists(f"{module}.{alias.name}"):
            continue
        if names is None or alias.name in names:
            continue
        where = index.modules.get(module)
        if where is None:
            message = f"imports {alias.name} from {module}, a folder with no {alias.name}.py and no __init__.py"
        else:
            close = difflib.get_close_matches(alias.name, sorted(names), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            message = f"imports {alias.name} from {module}, but {where} defines no {alias.name}{hint}"
        findings.append(Finding("import", path, node.lineno, message))
    return findings
