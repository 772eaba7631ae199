"""Keys a Python file reads from ``config.yaml``, checked against the file (static: nothing is run).

A read is a chain of constant string subscripts (``cfg["model"]["hidden"]``) or ``.get("key")`` calls without a
default, starting at a *config root*:

* a name bound to a YAML load or to a call whose name mentions ``config`` (``cfg = yaml.safe_load(f)``,
  ``config = load_config("config.yaml")``): its chains start at the top of the file (strict);
* a name or ``self`` attribute bound to a chain from a root (``model_cfg = cfg["model"]``): its chains continue that
  chain (strict);
* any other name or ``self`` attribute that looks like a config (``cfg``, ``config``, ``self.conf``, ``hparams``;
  function parameters mostly): it may hold any part of the file, so a chain counts as found when it exists under
  some mapping of the file.

``.get(key, default)`` reads are optional and never reported (how the code reads a setting config.yaml may lack). A
missing key that config.yaml holds in its ``unstated`` or ``smoke`` group (the settings the paper does not state,
the smoke run's) is reported with where it is (``papercoder.repo.configgroups``). Chains through anything else
(attribute access, non-constant subscripts) stop the check of that chain at that point.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from typing import Any

from papercoder.repo.astnodes import nodes
from papercoder.repo.configgroups import elsewhere

_CONFIGISH = re.compile(r"(?:^|_)(?:cfg|conf|config|configs|hparams|hyperparams|params|settings)(?:$|_)", re.I)
_LOADERS = re.compile(r"(?:^|\.)(?:safe_load|load|full_load|load_config|read_config|get_config|load_yaml)$")
Key = tuple[str, ...]


def _root_name(node: ast.expr) -> str | None:
    """``cfg`` for a Name, ``self.cfg`` for a self attribute; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
        return f"{node.value.id}.{node.attr}"
    return None


def _chain(node: ast.expr) -> tuple[str | None, Key, bool]:
    """The root and constant keys of a subscript/.get chain, and whether its last step is optional."""
    keys: list[str] = []
    optional = False
    current = node
    while True:
        if isinstance(current, ast.Subscript) and isinstance(current.slice, ast.Constant):
            if not isinstance(current.slice.value, str):
                return None, (), False
            keys.append(current.slice.value)
            current = current.value
        elif (
            isinstance(current, ast.Call)
            and isinstance(current.func, ast.Attribute)
            and current.func.attr == "get"
            and current.args
            and isinstance(current.args[0], ast.Constant)
            and isinstance(current.args[0].value, str)
        ):
            if len(current.args) > 1 or current.keywords:
                optional = optional or not keys  # only the outermost step's default matters for reporting
                if keys:  # a default in the middle: what follows may read the default; stop here
                    return None, (), False
            keys.append(current.args[0].value)
            current = current.func.value
        else:
            break
    return _root_name(current), tuple(reversed(keys)), optional


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return ast.unparse(node.func)
    return ""


def _bindings(tree: ast.Module) -> dict[str, Key]:
    """Roots bound at known positions of the file: name → key prefix (``()`` for the whole file)."""
    bound: dict[str, Key] = {}
    assigns: list[tuple[str, ast.expr]] = []
    for node in nodes(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = _root_name(target)
                if name is not None:
                    assigns.append((name, node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = _root_name(node.target)
            if name is not None:
                assigns.append((name, node.value))
    for name, value in assigns:
        called = _call_name(value)
        if called and (_LOADERS.search(called) and ("yaml" in called or "config" in called.lower())):
            bound.setdefault(name, ())
    for _ in range(3):  # chains of chains: cfg → model_cfg → enc_cfg
        for name, value in assigns:
            root, keys, optional = _chain(value)
            if root is not None and root in bound and keys and not optional and name not in bound:
                bound[name] = bound[root] + keys
    return bound


def _reads(tree: ast.Module) -> Iterator[tuple[int, str, Key]]:
    """Every maximal required chain: (line, root, keys)."""
    inner: set[int] = set()
    for node in nodes(tree):
        if isinstance(node, ast.Subscript):
            inner.add(id(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            inner.add(id(node.func.value))
    for node in nodes(tree):
        if id(node) in inner or not isinstance(node, ast.Subscript | ast.Call):
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            continue
        root, keys, optional = _chain(node)
        if root is None or not keys:
            continue
        if optional:
            keys = keys[:-1]
        if keys:
            yield node.lineno, root, keys


def _has(config: Any, keys: Key) -> bool:
    for key in keys:
        if not isinstance(config, dict) or key not in config:
            return False
        config = config[key]
    return True


def _mappings(config: Any) -> Iterator[dict[str, Any]]:
    if isinstance(config, dict):
        yield config
        for value in config.values():
            yield from _mappings(value)


def _missing(config: dict[str, Any], keys: Key) -> str:
    """The message for a chain that is absent: the first missing key and what its parent offers."""
    node: Any = config
    for depth, key in enumerate(keys):
        if not isinstance(node, dict):
            where = ".".join(keys[:depth])
            return f"reads {'.'.join(keys)} from config.yaml, but {where} is a {type(node).__name__}, not a mapping"
        if key not in node:
            parent = ".".join(keys[:depth]) or "the top level"
            close = difflib.get_close_matches(key, [str(k) for k in node], n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            offered = ", ".join(str(k) for k in list(node)[:8]) or "nothing"
            return (
                f"reads config key {'.'.join(keys)}, but config.yaml defines no {key} under {parent}{hint}; "
                f"{parent} has: {offered}"
            )
        node = node[key]
    return ""


def config_findings(tree: ast.Module, config: dict[str, Any]) -> list[tuple[int, str]]:
    """(line, message) for each read of a key ``config`` (the parsed ``config.yaml``) does not define."""
    bound = _bindings(tree)
    found: list[tuple[int, str]] = []
    for line, root, keys in _reads(tree):
        if root in bound:
            full = bound[root] + keys
            if not _has(config, full):
                found.append((line, _missing(config, full) + _moved(config, full)))
        elif _CONFIGISH.search(root.split(".")[-1]) and not any(_has(m, keys) for m in _mappings(config)):
            found.append((line, _loose_message(config, keys) + _moved(config, keys)))
    return found


def _moved(config: dict[str, Any], keys: Key) -> str:
    """A hint for a key that config.yaml holds in its ``unstated`` or ``smoke`` group instead
    (``papercoder.repo.configgroups``): the code must read it there, or with a default."""
    where = elsewhere(config, keys)
    return f"; config.yaml has it as {where}: read it there, or with a default" if where else ""


def _loose_message(config: dict[str, Any], keys: Key) -> str:
    """For a root of unknown position: the deepest prefix that exists somewhere, then the missing key."""
    best: tuple[int, dict[str, Any]] = (0, config)
    for mapping in _mappings(config):
        depth = 0
        node: Any = mapping
        while depth < len(keys) - 1 and isinstance(node, dict) and keys[depth] in node:
            node = node[keys[depth]]
            depth += 1
        if depth > best[0] and isinstance(node, dict):
            best = (depth, node)
    depth, node = best
    key = keys[depth]
    close = difflib.get_close_matches(key, [str(k) for k in node], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"reads config key {'.'.join(keys)}, but config.yaml defines no {key} where it is read{hint}"
