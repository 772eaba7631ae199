"""The interface of a written Python file: what another file needs in order to use it, without the bodies.

``--coding-order dag`` attaches the code of a file's direct dependencies in full and, for the files those depend on
in turn, only their interface: the module docstring, imports, module-level constants, and every class and function
with its signature, docstring, class attributes and the attributes ``__init__`` sets. A file calls its direct
dependencies; what lies further down reaches it only through their types and arguments, which the interface keeps.
"""

from __future__ import annotations

import ast
import functools
from pathlib import PurePosixPath

_MAX_VALUE = 80  # characters of a constant's value kept before it is elided


@functools.lru_cache(maxsize=1024)  # a file's interface is attached to every later prompt: parse it once
def interface(path: str, code: str) -> str:
    """The interface of ``code`` (the file ``path``); the code itself for non-Python or unparsable files."""
    if PurePosixPath(path).suffix != ".py":
        return code
    try:
        tree = ast.parse(code)
        lines = _block(tree.body, "", top=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurdly nested expressions
        return code
    return "\n".join(lines).strip() + "\n"


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= _MAX_VALUE and "\n" not in text else "..."


def _docstring(body: list[ast.stmt], indent: str) -> list[str]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        text = first.value.value.strip()
        return (
            [f'{indent}"""{text}"""'] if "\n" not in text else [f'{indent}"""', *_indent(text, indent), f'{indent}"""']
        )
    return []


def _indent(text: str, indent: str) -> list[str]:
    return [f"{indent}{line}".rstrip() for line in text.splitlines()]


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, indent: str) -> list[str]:
    decorators = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    head = f"{indent}{prefix} {node.name}({ast.unparse(node.args)}){returns}:"
    inner = indent + "    "
    body = _docstring(node.body, inner)
    if node.name == "__init__":
        body += _self_attributes(node, inner)
    return [*decorators, head, *body, f"{inner}..."]


def _self_attributes(node: ast.FunctionDef | ast.AsyncFunctionDef, indent: str) -> list[str]:
    """``self.x = ...`` statements of ``__init__`` (first assignment of each attribute), values elided when long."""
    seen: set[str] = set()
    out: list[str] = []
    for stmt in ast.walk(node):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and target.attr not in seen
            ):
                seen.add(target.attr)
                out.append(f"{indent}self.{target.attr} = {_short(value) if value is not None else '...'}")
    return out


def _block(body: list[ast.stmt], indent: str, top: bool = False) -> list[str]:
    lines = _docstring(body, indent)
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom) and top:
            lines.append(indent + ast.unparse(node))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and not isinstance(node, ast.AugAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            annotation = f": {ast.unparse(node.annotation)}" if isinstance(node, ast.AnnAssign) else ""
            value = f" = {_short(node.value)}" if node.value is not None else ""
            lines.append(f"{indent}{ast.unparse(target)}{annotation}{value}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines += ["", *_signature(node, indent)]
        elif isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in [*node.bases, *node.keywords]]
            head = f"{indent}class {node.name}" + (f"({', '.join(bases)})" if bases else "") + ":"
            decorators = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
            inner = _block(node.body, indent + "    ")
            lines += ["", *decorators, head, *(inner or [f"{indent}    ..."])]
    return lines
