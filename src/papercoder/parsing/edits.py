"""SEARCH/REPLACE edits (aider style) for the repair round and the debug loop: parse them from an answer.

The format is a line naming the file, then one or more blocks::

    path/to/file.py
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE

Models wrap this in fences and name the file in many ways (a bare line, ``path.py:``, ``**path.py**``,
``### path.py``, ``File: path.py``, the fence's info string, a line inside the fence); all are accepted.
:mod:`papercoder.parsing.edit_apply` applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from papercoder.parsing.paths import is_source_file

_SEARCH = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH[ \t]*:?[ \t]*$")
_DIVIDER = re.compile(r"^[ \t]*={5,9}[ \t]*$")
_REPLACE = re.compile(r"^[ \t]*>{5,9}[ \t]*REPLACE[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_PATH_TOKEN = r"[\w.\-/\\]*[\w-]\.[A-Za-z0-9]{1,10}|[\w.\-/\\]*(?:Makefile|Dockerfile)"
_PATH_LINE = re.compile(
    rf"^[ \t]*(?:#{{1,6}}[ \t]*|//[ \t]*|[-*][ \t]+)?(?:(?:file(?:name)?|path)[ \t]*:[ \t]*)?"
    rf"(?:\*\*|`|\*\*`)?(?P<path>{_PATH_TOKEN})(?:`\*\*|`|\*\*)?[ \t]*:?[ \t]*$",
    re.IGNORECASE,
)
_NAME_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,9}$|(?:Makefile|Dockerfile)$")
_MARKDOWN = (".md", ".markdown", ".rst", ".txt")
_BACKTICKED = re.compile(rf"`(?P<path>{_PATH_TOKEN})`")
_INFO_PATH = re.compile(rf"(?:^|[\s:=\"'])(?P<path>{_PATH_TOKEN})")


class EditParseError(ValueError):
    """An edit block is malformed; the message names the block's line and what is missing."""


@dataclass(frozen=True)
class Edit:
    """One SEARCH/REPLACE block: replace ``search`` by ``replace`` in ``path``.

    ``search`` and ``replace`` are whole lines, each ending with a newline (or empty). An empty ``search`` creates
    the file.
    """

    path: str
    search: str
    replace: str


def _path_in(line: str) -> str | None:
    """The file a line names: a line that is just a path (decorated or not; any suffix, so that a block never
    inherits the previous file across a name papercoder does not know, and applying reports it instead), a fence
    whose info string names a source file, or the last backticked source path in a prose line."""
    fence = _FENCE.match(line)
    if fence:
        names = [m.group("path") for m in _INFO_PATH.finditer(fence.group("info"))]
    else:
        whole = _PATH_LINE.match(line)
        if whole and _NAME_SUFFIX.search(whole.group("path")):
            return whole.group("path")
        names = _BACKTICKED.findall(line)
    names = [n for n in names if is_source_file(n) or "/" in n.replace("\\", "/")]
    return names[-1] if names else None


def parse_edits(text: str) -> list[Edit]:
    """Read every SEARCH/REPLACE block of an answer.

    Args:
        text: The model's answer (prose, fences and CRLF line endings allowed).

    Returns:
        The edits in order. A block takes the nearest file path named above it; later blocks without a new name
        keep the previous block's file.

    Raises:
        EditParseError: a block names no file, lacks its ``=======`` or ``>>>>>>> REPLACE`` line, or has its
            markers out of order. The message gives the block's line number.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    edits: list[Edit] = []
    path: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _REPLACE.match(line):
            raise EditParseError(f"line {i + 1}: {line.strip()!r} without a '<<<<<<< SEARCH' line before it")
        if not _SEARCH.match(line):
            named = _path_in(line)
            path = named or path
            i += 1
            continue
        start = i + 1
        if path is None:
            raise EditParseError(f"line {start}: the SEARCH block names no file; put the file path on the line above")
        search, i = _section(lines, i + 1, _DIVIDER, start, path, "'======='")
        replace, i = _replacement(lines, i + 1, start, path)
        edits.append(Edit(path, search, replace))
        i += 1
    return edits


def _replacement(lines: list[str], i: int, start: int, path: str) -> tuple[str, int]:
    """The REPLACE section from ``i``: its lines joined, and the index of the line that ends it.

    Besides ``>>>>>>> REPLACE``, a second ``=======`` can end it, a common slip of models: one right before the
    marker (the block ends at the marker), or one in its place (no marker follows before the next block or the end of
    the answer; the block ends at the divider). A divider with content and then the marker after it is content (an
    underline), and in a Markdown file a divider is always content.
    """
    body: list[str] = []
    markdown = path.lower().endswith(_MARKDOWN)
    while i < len(lines):
        line = lines[i]
        if _REPLACE.match(line):
            return "".join(f"{x}\n" for x in body), i
        if _SEARCH.match(line):
            raise EditParseError(
                f"line {start}: the SEARCH block for {path} has no '>>>>>>> REPLACE' line before line {i + 1}'s "
                f"{line.strip()!r}"
            )
        if _DIVIDER.match(line) and not markdown:
            after = _next_marker(lines, i + 1)
            if after is None or not _REPLACE.match(lines[after]):
                return "".join(f"{x}\n" for x in body), i  # in place of the marker
            if all(not x.strip() for x in lines[i + 1 : after]):
                return "".join(f"{x}\n" for x in body), after  # right before the marker
        body.append(line)
        i += 1
    raise EditParseError(
        f"line {start}: the SEARCH block for {path} has no '>>>>>>> REPLACE' line (the answer may be cut off)"
    )


def _next_marker(lines: list[str], i: int) -> int | None:
    """The index of the next SEARCH or REPLACE marker line from ``i``, or None."""
    return next((j for j in range(i, len(lines)) if _SEARCH.match(lines[j]) or _REPLACE.match(lines[j])), None)


def _section(lines: list[str], i: int, end: re.Pattern[str], start: int, path: str, wanted: str) -> tuple[str, int]:
    """The lines from ``i`` up to the ``end`` marker, joined; and the marker's index."""
    body: list[str] = []
    while i < len(lines):
        if end.match(lines[i]):
            return "".join(f"{x}\n" for x in body), i
        if _SEARCH.match(lines[i]) or (end is _DIVIDER and _REPLACE.match(lines[i])):
            raise EditParseError(
                f"line {start}: the SEARCH block for {path} has no {wanted} line before line {i + 1}'s "
                f"{lines[i].strip()!r}"
            )
        body.append(lines[i])
        i += 1
    raise EditParseError(f"line {start}: the SEARCH block for {path} has no {wanted} line (the answer may be cut off)")
