"""The generated repository as data: its text files, its entry point, the files an error names, lines changed."""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from papercoder.repo.walk import read_text, walk_files

ENTRY_NAMES = ("main.py", "train.py", "run.py", "run_experiment.py", "experiment.py", "app.py")
_TRACE_FILE = re.compile(r"""File "(?P<path>[^"]+)", line (?P<line>\d+)""")
_MODULE_NOT_FOUND = re.compile(r"No module named '(?P<mod>[\w.]+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<mod>[\w.]+)'")


def snapshot(repo: Path) -> dict[str, str]:
    """Every text file of ``repo`` (relative POSIX path → contents), skipping caches, venvs and hidden folders."""
    files: dict[str, str] = {}
    if not repo.is_dir():
        return files
    for rel, path in walk_files(repo):
        text = read_text(path)
        if text is not None:
            files[rel] = text
    return files


def count_lines(text: str) -> int:
    return len(text.splitlines())


def modified_lines(old: Mapping[str, str], new: Mapping[str, str]) -> int:
    """Lines changed between two states of a repository: a replaced block counts its longer side, an insertion its
    new lines, a deletion its old lines (the paper's "modified lines")."""
    changed = 0
    for path in set(old) | set(new):
        before, after = old.get(path, "").splitlines(), new.get(path, "").splitlines()
        if before == after:
            continue
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
            if tag != "equal":
                changed += max(i2 - i1, j2 - j1)
    return changed


def has_main_guard(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurd nesting
        return "__main__" in code
    return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body)


def entry_point(files: Mapping[str, str], order: Sequence[str] = ()) -> str | None:
    """The file that runs the program: a usual name (main.py, train.py, ...) at the top level, else the last file
    in task order with a ``__main__`` guard, else the last Python file of ``order``."""
    for name in ENTRY_NAMES:
        if name in files:
            return name
    planned = [p for p in dict.fromkeys(order) if p.endswith(".py") and p in files]
    others = [p for p in sorted(files) if p.endswith(".py") and p not in planned]
    guarded = [p for p in planned if has_main_guard(files[p])]
    if guarded:
        return guarded[-1]
    guarded = [p for p in others if has_main_guard(files[p])]
    if guarded:
        return guarded[0]
    return planned[-1] if planned else others[0] if others else None


def files_in_error(output: str, repo: Path, files: Mapping[str, str]) -> list[str]:
    """Repository files an error output points at: traceback frames inside the repo (innermost last), modules it
    could not import, and modules a name could not be imported from; in order of appearance, each once."""
    found: list[str] = []
    base = repo.resolve()
    for match in _TRACE_FILE.finditer(output):
        raw = match.group("path")
        candidate = Path(raw)
        rel: str | None = None
        if candidate.is_absolute():
            try:
                rel = candidate.resolve().relative_to(base).as_posix()
            except (ValueError, OSError):
                rel = None
        else:
            rel = PurePosixPath(raw.replace("\\", "/")).as_posix()
        if rel is not None and rel in files:
            found.append(rel)
    for pattern in (_MODULE_NOT_FOUND, _CANNOT_IMPORT):
        for match in pattern.finditer(output):
            module = match.group("mod").replace(".", "/")
            for rel in (f"{module}.py", f"{module}/__init__.py", f"src/{module}.py"):
                if rel in files:
                    found.append(rel)
    return list(dict.fromkeys(found))
