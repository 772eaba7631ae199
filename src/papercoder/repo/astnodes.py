"""Every node of a parsed file, listed once: the static checks look at each file's tree several times over (imports,
config keys, module attributes), and walking a tree again for each look cost more than the rest of the checks."""

from __future__ import annotations

import ast
import weakref
from collections.abc import Sequence

_NODES: weakref.WeakKeyDictionary[ast.AST, tuple[ast.AST, ...]] = weakref.WeakKeyDictionary()


def nodes(tree: ast.AST) -> Sequence[ast.AST]:
    """``ast.walk(tree)`` as a tuple, in the same order, made once per tree (which no check changes)."""
    found = _NODES.get(tree)
    if found is None:
        found = _NODES[tree] = tuple(ast.walk(tree))
    return found
