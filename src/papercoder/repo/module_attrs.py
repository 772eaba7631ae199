"""Names a file uses through an imported module object (``import model`` then ``model.Encoder(...)``).

``from model import Encoder`` is checked by the import check; a name reached as an attribute of the module is the
other way a file calls what another file should define, and the likelier one to slip through when files are
written one call at a time. Pure: the AST in, (line, module as imported, attribute) out; ``papercoder.repo.checks``
decides which modules are the repository's and what they define.

A module alias that the file also binds to anything else (``model = model.Encoder(cfg)``, a parameter named
``model``) is left alone: which object an attribute is read from is then not known statically.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator

from papercoder.repo.astnodes import nodes


def _rebound(tree: ast.Module) -> set[str]:
    """Names the file binds other than by import: assignments, loop and with targets, parameters, defs."""
    names: set[str] = set()
    for node in nodes(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted module, for ``import a.b as m`` (m → a.b), ``import a`` (a → a) and ``from a import b``
    (b → a.b: a module only when the repository has ``a/b.py``, which the caller checks)."""
    found: dict[str, str] = {}
    for node in nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                elif "." not in alias.name:
                    found[alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def attribute_uses(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, dotted module, attribute) for each ``alias.NAME`` read where ``alias`` is an imported module name
    the file never rebinds; ``NAME`` starting with ``_`` is skipped (private, and dunders are always there)."""
    aliases = _aliases(tree)
    rebound = _rebound(tree)
    live = {name: module for name, module in aliases.items() if name not in rebound}
    if not live:
        return
    for node in nodes(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id in live
            and not node.attr.startswith("_")
        ):
            yield node.lineno, live[node.value.id], node.attr


def attribute_findings(
    tree: ast.Module, resolve: Callable[[str], tuple[str, str] | None], defined: Callable[[str], set[str] | None]
) -> list[tuple[int, str]]:
    """(line, message) for each attribute of a repository module that the module does not define, once per name.

    ``resolve`` maps a dotted module as imported to (its dotted name in the repository, its file), None when it is
    not a module file of the repository; ``defined`` gives the names a module defines (None: it may define
    anything). A submodule (``pkg.mod`` for ``pkg/mod.py``) is reached as an attribute too, so it counts."""
    found: list[tuple[int, str]] = []
    seen: set[tuple[str, str]] = set()
    for line, module, attr in attribute_uses(tree):
        where = resolve(module)
        if where is None or (module, attr) in seen:
            continue
        dotted, path = where
        names = defined(dotted)
        if names is None or attr in names or resolve(f"{module}.{attr}") is not None:
            continue
        seen.add((module, attr))
        close = difflib.get_close_matches(attr, sorted(names), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        found.append((line, f"uses {module}.{attr}, but {path} defines no {attr}{hint}"))
    return found
