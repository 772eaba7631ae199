"""A unified diff as side-by-side rows (old on the left, new on the right), for the report's diff tables.

Pure: text in, rows out; the template escapes every cell. Removed and added lines of one change block are paired
row by row, so a changed line sits beside its new version; the longer side's extra lines face an empty cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(?P<old>\d+)(?:,\d+)? \+(?P<new>\d+)(?:,\d+)? @@(?P<rest>.*)$")


@dataclass(frozen=True)
class DiffRow:
    """One row: line numbers and texts of each side (None: no line there), and its kind: ``same``, ``change``,
    ``del``, ``add`` or ``hunk`` (a hunk header, whose text is in ``left``)."""

    kind: str
    left_no: int | None = None
    left: str | None = None
    right_no: int | None = None
    right: str | None = None


@dataclass
class FileDiff:
    """The rows of one file's diff and its counts of removed and added lines."""

    path: str
    rows: list[DiffRow] = field(default_factory=list)
    removed: int = 0
    added: int = 0


def _path(line: str) -> str:
    name = line[4:].split("\t", 1)[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


def _flush(diff: FileDiff, dels: list[tuple[int, str]], adds: list[tuple[int, str]]) -> None:
    for i in range(max(len(dels), len(adds))):
        old = dels[i] if i < len(dels) else None
        new = adds[i] if i < len(adds) else None
        kind = "change" if old and new else "del" if old else "add"
        left_no, left = old if old else (None, None)
        right_no, right = new if new else (None, None)
        diff.rows.append(DiffRow(kind, left_no, left, right_no, right))
    dels.clear()
    adds.clear()


def side_by_side(text: str) -> list[FileDiff]:
    """The files of a unified diff (``git diff`` or ``difflib`` output), each as side-by-side rows."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    old_no = new_no = 0
    dels: list[tuple[int, str]] = []
    adds: list[tuple[int, str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if current is not None:
                _flush(current, dels, adds)
            current = FileDiff(_path(lines[i + 1]) if _path(lines[i + 1]) != "/dev/null" else _path(line))
            files.append(current)
            continue
        if line.startswith("+++ ") and current is not None and not current.rows:
            continue
        if current is None:
            current = FileDiff("")
            files.append(current)
        if match := _HUNK.match(line):
            _flush(current, dels, adds)
            old_no, new_no = int(match.group("old")), int(match.group("new"))
            current.rows.append(DiffRow("hunk", left=line))
        elif line.startswith("-"):
            dels.append((old_no, line[1:]))
            old_no += 1
            current.removed += 1
        elif line.startswith("+"):
            adds.append((new_no, line[1:]))
            new_no += 1
            current.added += 1
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        else:
            _flush(current, dels, adds)
            body = line[1:] if line.startswith(" ") else line
            current.rows.append(DiffRow("same", old_no, body, new_no, body))
            old_no += 1
            new_no += 1
    if current is not None:
        _flush(current, dels, adds)
    return [f for f in files if f.rows]
