"""The dependency graph of the files to code, for ``--coding-order dag``.

Which file needs which is read from the plan, before any code exists:

* the logic design: a file depends on the earlier files (in the task list) its entry mentions, by path
  (``utils.py``), module name (``utils``, ``pkg.utils``) or class-like name (``DatasetLoader``). The task list is
  ordered "so a file comes after the files it imports", so a mention of a *later* file is read as narrative ("used
  by main.py") unless the entry says it imports from it ("imports Batch from trainer", ``from trainer import``);
  "used by X" / "imported by X" turns a mention around;
* the architecture's class diagram: a relation between two classes (``Trainer --> Model``, ``Base <|-- Model``)
  is a dependency between the files that hold them, read the same way.

A cycle among files (each imports the other) is coded in task order within the cycle; a file whose entry is
missing or names a module that is neither a planned file nor a known package depends on every earlier file, as in
the sequential order. Each such fallback is a note, which the coding stage records as a warning.

Once a file is written, its real ``import`` statements (read with ``ast``) replace the predicted edges when the
context of a later file is put together: a file gets the code of its direct dependencies and, transitively, of
what those import, never of an unrelated earlier file.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign
from papercoder.repo.checks import IMPORT_TO_PACKAGES, normalise_package

# Import names of common packages, beyond the standard library and the plan's own package list.
KNOWN_PACKAGES = frozenset(
    {
        "numpy", "torch", "torchvision", "torchaudio", "tensorflow", "keras", "jax", "jaxlib", "flax", "optax",
        "haiku", "sklearn", "scipy", "pandas", "yaml", "tqdm", "transformers", "datasets", "tokenizers",
        "sentencepiece", "matplotlib", "seaborn", "PIL", "cv2", "einops", "nltk", "spacy", "sacrebleu", "wandb",
        "tensorboard", "tensorboardX", "gym", "gymnasium", "networkx", "h5py", "requests", "pydantic", "omegaconf",
        "hydra", "lightning", "pytorch_lightning", "accelerate", "timm", "evaluate", "numba", "sympy",
        "statsmodels", "xgboost", "lightgbm", "torchtext", "dgl", "torch_geometric", "rich", "typer", "click",
    }
)  # fmt: skip
_CLAUSE = re.compile(r"[;\n]|[.!?](?=\s|$)")
# What the text says just before a mention: "imports X from utils" (a dependency, whichever the order) or
# "used by main.py" (the other file depends on this one).
_IMPORT_CUE = re.compile(r"\b(?:imports?|imported\s+from|from|depends?\s+on|requires|extends|subclass(?:es)?)\b", re.I)
_PASSIVE_CUE = re.compile(
    r"\b(?:(?:used|imported|consumed|invoked|required|needed|instantiated|called)\s+(?:by|in)|called\s+from)\b", re.I
)
_FROM_IMPORT = re.compile(r"\bfrom\s+`?([A-Za-z_][\w.]*)`?\s+import\b")
_PY_NAME = re.compile(r"(?<![\w/.-])([\w/.-]*\w\.py)\b")
_CAMEL = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")
_RELATION = re.compile(
    r"^\s*([A-Za-z_]\w*)\s*(?:\"[^\"]*\"\s*)?(<\|--|<\|\.\.|--\|>|\.\.\|>|\*--|o--|--\*|--o|-->|<--|\.\.>|<\.\.)"
    r"\s*(?:\"[^\"]*\"\s*)?([A-Za-z_]\w*)"
)


@dataclass(frozen=True)
class CodingGraph:
    """Files in task order, the direct dependencies of each (in task order), and notes on every fallback."""

    order: tuple[str, ...]
    deps: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()
    _position: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._position.update({path: i for i, path in enumerate(self.order)})

    def ancestors(self, path: str) -> list[str]:
        """Every file ``path`` depends on, directly or not, in task order."""
        seen: set[str] = set()
        stack = list(self.deps.get(path, ()))
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(self.deps.get(dep, ()))
        return sorted(seen, key=self._position.__getitem__)

    def context_for(self, path: str, imports: Mapping[str, frozenset[str] | None]) -> list[str]:
        """The files whose code ``path`` is coded with: its direct dependencies and, transitively, theirs.

        For a dependency already written, ``imports[dep]`` (its actual imports of planned files, ``None`` when
        unknown) replaces its predicted edges. Only ancestors count, since only they are sure to be written when
        ``path`` starts, whatever order the concurrent calls finish in: the context is the same on every run.
        """
        ancestors = set(self.ancestors(path))
        seen: set[str] = set()
        stack = list(self.deps.get(path, ()))
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            actual = imports.get(dep)
            stack.extend(self.deps.get(dep, ()) if actual is None else (f for f in actual if f in ancestors))
        return sorted(seen, key=self._position.__getitem__)

    def levels(self) -> list[list[str]]:
        """Files grouped by depth (0: no dependency): what could be coded at once with unbounded concurrency."""
        depth: dict[str, int] = {}
        for path in self.topological():
            depth[path] = 1 + max((depth[d] for d in self.deps.get(path, ())), default=-1)
        return [[p for p in self.order if depth[p] == k] for k in range(max(depth.values(), default=-1) + 1)]

    def topological(self) -> list[str]:
        """The files in an order where each comes after its dependencies; ties keep the task order."""
        done: list[str] = []
        left = list(self.order)
        while left:
            ready = next(p for p in left if all(d in done for d in self.deps.get(p, ())))
            done.append(ready)
            left.remove(ready)
        return done


def module_names(files: list[str]) -> dict[str, str]:
    """Dotted module name → file, for the planned Python files (``pkg/a.py``: ``pkg.a`` and, when unique, ``a``)."""
    claims: dict[str, set[str]] = {}
    for path in files:
        pure = PurePosixPath(path)
        if pure.suffix != ".py":
            continue
        parts = list(pure.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        for start in range(len(parts)):
            claims.setdefault(".".join(parts[start:]), set()).add(path)
    return {name: next(iter(owners)) for name, owners in claims.items() if len(owners) == 1 and name}


@functools.lru_cache(maxsize=16)
def _module_table(files: tuple[str, ...]) -> Mapping[str, str]:
    """``module_names`` of a plan, made once: ``python_imports`` needs it for every file written."""
    return MappingProxyType(module_names(list(files)))


def _statements(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every statement in ``body``, nested ones too (in ``if``, ``try``, functions, classes, ``match`` cases):
    where an import can be, without visiting the expressions, most of a tree's nodes."""
    for node in body:
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _statements(inner)


def _aliases(files: list[str], owners: dict[str, str]) -> dict[str, str]:
    """Lower-cased names under which the logic design may mention each file (paths, modules, the classes it holds);
    names two files share are dropped."""
    claims: dict[str, set[str]] = {name.lower(): {owner} for name, owner in owners.items()}
    for module, path in module_names(files).items():
        claims.setdefault(module.lower(), set()).add(path)
    for path in files:
        pure = PurePosixPath(path)
        for name in (path, pure.name):
            claims.setdefault(name.lower(), set()).add(path)
        if "_" in pure.stem:  # dataset_loader.py is also mentioned as DatasetLoader
            claims.setdefault(pure.stem.replace("_", "").lower(), set()).add(path)
    return {name: next(iter(owners)) for name, owners in claims.items() if len(owners) == 1}


def _mentions(text: str, aliases: dict[str, str]) -> list[tuple[str, bool, bool]]:
    """(file, strong, passive) for each mention of a planned file in ``text``, clause by clause."""
    if not aliases:
        return []
    names = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/])({names})(?![\w/])", re.I)
    found: list[tuple[str, bool, bool]] = []
    start = 0
    for end_match in [*_CLAUSE.finditer(text), None]:
        end = end_match.start() if end_match else len(text)
        clause = text[start:end]
        for hit in pattern.finditer(clause):
            before = clause[: hit.start()]
            strong = max((m.end() for m in _IMPORT_CUE.finditer(before)), default=-1)
            passive = max((m.end() for m in _PASSIVE_CUE.finditer(before)), default=-1)
            found.append((aliases[hit.group(1).lower()], strong > passive, passive >= max(strong, 0)))
        start = end_match.end() if end_match else len(text)
    return found


def _known_modules(logic: LogicDesign) -> set[str]:
    known = set(KNOWN_PACKAGES) | set(sys.stdlib_module_names)
    for raw in logic.required_packages:
        name = re.split(r"[<>=!~\[;\s]", raw.strip().strip("`'\""), maxsplit=1)[0].lower()
        if name:
            # The import names of the distribution, where they differ (scikit-learn: sklearn), from the table the
            # requirements check uses.
            dist = normalise_package(name)
            known |= {name, name.replace("-", "_"), *(m for m, dists in IMPORT_TO_PACKAGES.items() if dist in dists)}
    return known


def _unknown_modules(text: str, files: list[str], modules: dict[str, str], known: set[str]) -> list[str]:
    """Code-like references in ``text`` (``from m import``, ``name.py``) that match no planned file or package."""
    unknown: list[str] = []
    lowered = {f.lower() for f in files} | {PurePosixPath(f).name.lower() for f in files}
    for match in _FROM_IMPORT.finditer(text):
        name = match.group(1).strip(".")
        if not name or name.split(".")[0] in known:
            continue
        if not any(".".join(name.split(".")[:k]) in modules for k in range(len(name.split(".")), 0, -1)):
            unknown.append(name)
    for match in _PY_NAME.finditer(text):
        name = match.group(1).lstrip("./")
        base = PurePosixPath(name).name.lower()
        if name.lower() not in lowered and base not in lowered and base != "__init__.py":
            unknown.append(name)
    return list(dict.fromkeys(unknown))


def _class_owners(architecture: ArchitectureDesign, files: list[str], texts: dict[str, str]) -> dict[str, str]:
    """Class name → the file that holds it, for the diagram's classes and the CamelCase names of the logic design.

    The owner is the file named after the class (``DatasetLoader``: ``dataset_loader.py``), else the first file
    (in task order) whose entry defines it ("class X", "defines X", "implements X"), else the first that names it.
    """
    names: list[str] = []
    for line in architecture.class_diagram.splitlines():
        names += re.findall(r"\bclass\s+([A-Za-z_]\w*)", line)
        if match := _RELATION.match(line):
            names += [match.group(1), match.group(3)]
    for path in files:
        names += _CAMEL.findall(texts.get(path, ""))
    by_stem = {PurePosixPath(f).stem.replace("_", "").lower(): f for f in files}
    owners: dict[str, str] = {}
    for name in dict.fromkeys(names):
        word = re.escape(name)
        defines = re.compile(rf"\b(?:class|defines?|implements?)\s+(?:(?:the|a|an)\s+)?`?{word}\b")
        owner = (
            by_stem.get(name.lower())
            or next((f for f in files if defines.search(texts.get(f, ""))), None)
            or next((f for f in files if re.search(rf"\b{word}\b", texts.get(f, ""))), None)
        )
        if owner is not None:
            owners[name] = owner
    return owners


def _diagram_edges(architecture: ArchitectureDesign, owners: dict[str, str]) -> list[tuple[str, str]]:
    """(dependent, dependency) file pairs from the class diagram's relations."""
    edges: list[tuple[str, str]] = []
    for line in architecture.class_diagram.splitlines():
        match = _RELATION.match(line)
        if not match:
            continue
        left, arrow, right = match.groups()
        # An arrow head points at what is used or extended; a diamond sits at the whole, which uses its parts.
        right_depends = arrow.startswith("<") or arrow.endswith(("*", "o"))
        dependent, dependency = (right, left) if right_depends else (left, right)
        if dependent in owners and dependency in owners and owners[dependent] != owners[dependency]:
            edges.append((owners[dependent], owners[dependency]))
    return edges


def _logic_entries(logic: LogicDesign, files: list[str]) -> dict[str, str]:
    entries: dict[str, str] = {}
    for entry in logic.logic_analysis:
        path = entry.file.strip().lstrip("./")
        if path in files and path not in entries:
            entries[path] = entry.logic
    return entries


def build_graph(files: list[str], architecture: ArchitectureDesign, logic: LogicDesign) -> CodingGraph:
    """The dependency graph of ``files`` (task order) from the architecture and the logic design."""
    position = {path: i for i, path in enumerate(files)}
    texts = _logic_entries(logic, files)
    owners = _class_owners(architecture, files, texts)
    aliases, modules, known = _aliases(files, owners), module_names(files), _known_modules(logic)
    notes: list[str] = []
    edges: set[tuple[str, str]] = set()

    def add(dependent: str, dependency: str, strong: bool) -> None:
        if dependent != dependency and (strong or position[dependency] < position[dependent]):
            edges.add((dependent, dependency))

    fallback: list[str] = []
    for path in files:
        text = texts.get(path)
        if text is None:
            notes.append(f"{path} has no entry in the logic design; it is coded after every earlier file")
            fallback.append(path)
            continue
        unknown = _unknown_modules(text, files, modules, known)
        if unknown:
            listed = ", ".join(unknown[:3])
            notes.append(f"{path} names {listed}, which is not a planned file; it is coded after every earlier file")
            fallback.append(path)
        for other, strong, passive in _mentions(text, aliases):
            if passive:
                add(other, path, False)
            else:
                add(path, other, strong)
    for dependent, dependency in _diagram_edges(architecture, owners):
        add(dependent, dependency, False)
    for path in fallback:
        edges = {(a, b) for a, b in edges if a != path} | {(path, f) for f in files[: position[path]]}
    edges = _break_cycles(files, edges, notes)
    deps = {path: tuple(f for f in files if (path, f) in edges) for path in files}
    return CodingGraph(tuple(files), deps, tuple(notes))


def _break_cycles(files: list[str], edges: set[tuple[str, str]], notes: list[str]) -> set[tuple[str, str]]:
    """Within each cycle (files that reach one another), keep only the edges that follow the task order."""
    position = {path: i for i, path in enumerate(files)}
    out: dict[str, set[str]] = {f: set() for f in files}
    for a, b in edges:
        out[a].add(b)
    reach: dict[str, set[str]] = {}
    for root in files:
        seen: set[str] = set()
        stack = [root]
        while stack:
            for nxt in out[stack.pop()] - seen:
                seen.add(nxt)
                stack.append(nxt)
        reach[root] = seen
    cycle = {(a, b) for a in files for b in reach[a] if a in reach[b]}
    reported: set[str] = set()
    for path in files:
        members = [f for f in files if (path, f) in cycle]
        if len(members) > 1 and path not in reported:
            reported.update(members)
            notes.append(f"dependency cycle among {', '.join(members)}; these files are coded in task order")
    return {(a, b) for a, b in edges if (a, b) not in cycle or position[b] < position[a]}


def python_imports(path: str, code: str, files: list[str]) -> frozenset[str] | None:
    """The planned files that ``code`` (the file ``path``) imports; ``None`` for non-Python or unparsable code."""
    if PurePosixPath(path).suffix != ".py":
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurdly nested expressions
        return None
    modules = _module_table(tuple(files))
    package = list(PurePosixPath(path).parent.parts)
    if package and package[0] == "src":
        package = package[1:]
    found: set[str] = set()

    def resolve(name: str) -> None:
        parts = name.split(".")
        for k in range(len(parts), 0, -1):
            owner = modules.get(".".join(parts[:k]))
            if owner is not None:
                found.add(owner)
                return

    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*prefix, *([base] if base else [])])
            for alias in node.names:
                resolve(f"{base}.{alias.name}" if base else alias.name)
    found.discard(path)
    return frozenset(found)
