"""Applying SEARCH/REPLACE edits (parsed by :mod:`papercoder.parsing.edits`) to file contents, and diffing.

Applying is pure: :func:`apply_edits` maps old contents to new ones and never touches a disk. :func:`apply_to_repo`
does the same on files under an explicit repository root.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from papercoder.fsutil import disk_errors
from papercoder.parsing.edits import Edit
from papercoder.parsing.paths import safe_repo_path

_HINT_POOL = 2000


@dataclass(frozen=True)
class EditFailure:
    """An edit that was not applied, and the message for the model."""

    edit: Edit
    message: str


@dataclass
class EditResult:
    """What :func:`apply_edits` did.

    Attributes:
        files: Path → new contents, for the files that changed or were created.
        applied: The edits that were applied, in order.
        failures: The edits that were not, each with a message for the model.
    """

    files: dict[str, str] = field(default_factory=dict)
    applied: list[Edit] = field(default_factory=list)
    failures: list[EditFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every edit applied."""
        return not self.failures

    def report(self) -> str:
        """The failure messages, one per line (empty when all applied)."""
        return "\n".join(f.message for f in self.failures)


def _lines(text: str) -> list[str]:
    """Lines without terminators, LF or CRLF ("a\\nb\\n" and "a\\nb" both give ["a", "b"])."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _drift(window: Sequence[str], search: Sequence[str]) -> tuple[str, int] | None:
    """The consistent indentation change (prefix added, columns removed) that maps ``search`` onto ``window``."""
    delta: tuple[str, int] | None = None
    for have, want in zip(window, search, strict=True):
        if not want.strip() or not have.strip():
            if want.strip() or have.strip():
                return None
            continue
        if have.strip() != want.strip():
            return None
        got, was = _indent(have), _indent(want)
        if got.endswith(was):
            step = (got[: len(got) - len(was)], 0)
        elif was.endswith(got):
            step = ("", len(was) - len(got))
        else:
            return None
        if delta is not None and step != delta:
            return None
        delta = step
    return delta or ("", 0)


def _reindent(lines: Sequence[str], delta: tuple[str, int]) -> list[str]:
    prefix, remove = delta
    out: list[str] = []
    for line in lines:
        if not line.strip():
            out.append(line)
        elif prefix:
            out.append(prefix + line)
        else:
            out.append(line[min(remove, len(_indent(line))) :])
    return out


def _matches(content: list[str], search: list[str], level: int) -> list[tuple[int, tuple[str, int]]]:
    """Start lines (and indentation change) where ``search`` matches at a level: 0 exact, 1 ignoring trailing
    whitespace, 2 also ignoring a consistent indentation shift."""
    keys, want = content, search
    if level:
        keys, want = [x.rstrip() for x in content], [x.rstrip() for x in search]
    if level == 2:
        keys, want = [x.lstrip() for x in keys], [x.lstrip() for x in want]
    found: list[tuple[int, tuple[str, int]]] = []
    size = len(search)
    for start in range(len(content) - size + 1):
        if keys[start] != want[0] or keys[start : start + size] != want:
            continue
        delta = _drift(content[start : start + size], search) if level == 2 else ("", 0)
        if delta is not None:
            found.append((start, delta))
    return found


def _trim_blank(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Both sections without the blank lines at the ends of the search (the same count off the replacement)."""
    head = next((i for i, x in enumerate(search) if x.strip()), len(search))
    tail = next((i for i, x in enumerate(reversed(search)) if x.strip()), 0)
    cut_head = min(head, next((i for i, x in enumerate(replace) if x.strip()), len(replace)))
    cut_tail = min(tail, next((i for i, x in enumerate(reversed(replace)) if x.strip()), 0))
    return search[head : len(search) - tail], replace[cut_head : len(replace) - cut_tail]


def _replace_once(content: str, edit: Edit, path: str) -> tuple[str | None, str]:
    """The content with the edit applied, or None and the reason for the model."""
    lines, search, replace = _lines(content), _lines(edit.search), _lines(edit.replace)
    tries = [(search, replace)]
    trimmed = _trim_blank(search, replace)
    if trimmed[0] != search and trimmed[0]:
        tries.append(trimmed)
    for want, new in tries:
        for level in (0, 1, 2):
            found = _matches(lines, want, level)
            if len(found) > 1:
                where = ", ".join(str(start + 1) for start, _ in found[:5])
                return None, (
                    f"SEARCH block for {path} matched {len(found)} places (lines {where}); "
                    "add surrounding lines to make it unique"
                )
            if found:
                start, delta = found[0]
                out = lines[:start] + _reindent(new, delta) + lines[start + len(want) :]
                text = "\n".join(out)
                return (text + "\n" if text and content.endswith(("\n", "\r")) else text), ""
    hint = _closest_line(lines, next((x.strip() for x in search if x.strip()), ""))
    return None, (
        f"SEARCH block for {path} matched nothing; copy the lines exactly as they are in the current file{hint}"
    )


def _closest_line(lines: Sequence[str], wanted: str) -> str:
    """A hint naming the file line closest to the SEARCH section's first line ("" when none is close)."""
    stripped = [x.strip() for x in lines]
    pool = list(dict.fromkeys(x for x in stripped if x))
    if len(pool) > _HINT_POOL:
        words = sorted(re.findall(r"\w+", wanted), key=len, reverse=True)
        pool = [x for x in pool if words and words[0] in x][:_HINT_POOL]
    close = difflib.get_close_matches(wanted, pool, n=1, cutoff=0.6)
    return f"; the closest line is {stripped.index(close[0]) + 1}: {close[0][:80]!r}" if close else ""


def apply_edits(files: Mapping[str, str], edits: Sequence[Edit]) -> EditResult:
    """Apply edits to file contents, in order, without touching a disk.

    Each SEARCH section must match exactly one place: first exactly, then ignoring trailing whitespace and CRLF vs
    LF, then ignoring a consistent indentation shift (the replacement is shifted by the same amount), each also tried
    without blank lines at the ends of the SEARCH section. A block that matches nothing or several places is a
    failure and is not applied; the other edits still are. An empty SEARCH section creates a missing file (or fills
    an empty one). A file keeps its CRLF line endings.

    Args:
        files: Path → current contents of the files the edits may touch.
        edits: The edits, usually from :func:`parse_edits`.

    Returns:
        The new contents of the changed or created files, the applied edits, and a message per failure. Paths are
        normalised with :func:`~papercoder.parsing.paths.safe_repo_path`; a refused path is a failure.
    """
    result = EditResult()
    known = {p.casefold(): key for key in files if (p := safe_repo_path(key)[0])}
    current: dict[str, str] = {}
    for edit in edits:
        path, reason = safe_repo_path(edit.path)
        if path is None:
            result.failures.append(EditFailure(edit, f"refused edit: {reason}"))
            continue
        key = path if path in current else known.get(path.casefold(), path)
        content = current.get(key, files.get(key))
        if content is None or (not content.strip() and not edit.search.strip()):
            if edit.search.strip():
                message = f"{path} does not exist; to create it, leave its SEARCH section empty"
                result.failures.append(EditFailure(edit, message))
                continue
            current[key] = "\n".join(_lines(edit.replace)) + "\n" if edit.replace.strip() else ""
            known.setdefault(path.casefold(), key)
            result.applied.append(edit)
            continue
        if not edit.search.strip():
            message = f"SEARCH block for {path} is empty but {path} exists; quote the lines to replace"
            result.failures.append(EditFailure(edit, message))
            continue
        new, message = _replace_once(content, edit, path)
        if new is None:
            result.failures.append(EditFailure(edit, message))
            continue
        current[key] = new.replace("\n", "\r\n") if "\r\n" in files.get(key, "") else new
        result.applied.append(edit)
    result.files = {k: v for k, v in current.items() if files.get(k) != v}
    return result


def unified_diff(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """A unified diff (``a/`` and ``b/`` prefixes, like git) between two sets of files.

    Args:
        old: Path → contents before.
        new: Path → contents after. A path only in ``new`` is a created file; a path only in ``old`` is a deleted
            one, so pass the whole new state (``{**old, **result.files}``), not just the changed files.

    Returns:
        The diff of every path whose contents differ, in path order; ``""`` when nothing changed. A last line
        without a newline is shown with one.
    """
    chunks: list[str] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        chunks.extend(
            difflib.unified_diff(
                _diff_lines(before),
                _diff_lines(after),
                fromfile=f"a/{path}" if before is not None else "/dev/null",
                tofile=f"b/{path}" if after is not None else "/dev/null",
            )
        )
    return "".join(chunks)


def _diff_lines(text: str | None) -> list[str]:
    lines = (text or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    return lines


def apply_to_repo(root: Path, edits: Sequence[Edit]) -> EditResult:
    """Apply edits to the files under ``root`` and write the changed ones back.

    The files the edits name are read (UTF-8, line endings kept), :func:`apply_edits` runs on them, and each changed
    or created file is written, parent folders made as needed. A path that resolves outside ``root`` (through a
    symbolic link, say) is a failure and is neither read nor written.

    Args:
        root: The repository folder.
        edits: The edits to apply.

    Returns:
        The :class:`EditResult`; ``files`` holds what was written.
    """
    base = root.resolve()
    files: dict[str, str] = {}
    escaped: set[str] = set()
    for edit in edits:
        path = safe_repo_path(edit.path)[0]
        if path is None or path in files:
            continue
        target = (base / path).resolve()
        if not target.is_relative_to(base):
            escaped.add(path)
        elif target.is_file():
            with target.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
                files[path] = handle.read()
    allowed = [e for e in edits if safe_repo_path(e.path)[0] not in escaped]
    result = apply_edits(files, allowed)
    for edit in edits:
        if safe_repo_path(edit.path)[0] in escaped:
            result.failures.append(EditFailure(edit, f"refused edit: {edit.path!r} leads outside the repository"))
    for path, text in result.files.items():
        target = base / path
        with disk_errors(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
                handle.write(text)
    return result
