"""Which file a coding answer says it is: the file names in its headers, for an answer headed for another file.

A model asked for ``utils.py`` sometimes answers with ``model.py`` (a file it wrote before, or the next one). The
answer says so in a header: a fence info string (```` ```python:model.py ````, ```` ```model.py ````), a first-line
path comment inside the code (``# model.py``, ``# File: model.py``), or a header line outside the code
(``**model.py**``, ``### model.py``, ``File: model.py``, ``Here is `model.py`:`` right before a fence). A file name
mentioned in prose or in the code is no header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_NAME = r"[\w.-]+(?:/[\w.-]+)*\.[A-Za-z]\w*"
_IN_INFO = re.compile(rf"(?<![\w/.-])({_NAME})(?![\w/-])")
# A line that is only a file name, decorated or after "File:" (Markdown heading, bold, backticks, a trailing colon).
_HEADER = re.compile(
    rf"^\s*(?:#{{1,6}}\s+)?(?:\*\*|__)?(?:(?:file(?:name)?|path)\s*[:=]\s*)?(?:\*\*|__)?`?(?P<name>{_NAME})`?"
    r"(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$",
    re.IGNORECASE,
)
# A first-line comment that is only a file name: ``# model.py``, ``// File: src/model.py``.
_COMMENT = re.compile(
    rf"^\s*(?:#|//|--|;|/\*)\s*(?:(?:file(?:name)?|path)\s*[:=]\s*)?`?(?P<name>{_NAME})`?\s*(?:\*/)?\s*$",
    re.IGNORECASE,
)
# The prose line right before a fence that introduces it: "Here is `model.py`:".
_INTRO = re.compile(rf"(?:`|\*\*)(?P<name>{_NAME})(?:`|\*\*)")


def _header_names(text: str) -> list[str]:
    """The file names the answer's headers give, in order of appearance."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    names: list[str] = []
    fence: str | None = None  # the opening fence while inside a block
    first_line = True  # the next non-blank line is the first of a block (or of an unfenced answer)
    prose: str = ""  # the last non-blank line outside a block
    for line in lines:
        found = _FENCE.match(line)
        if fence is not None:
            bare = found is not None and not found.group("info")
            if bare and found and found.group("fence")[0] == fence[0] and len(found.group("fence")) >= len(fence):
                fence = None
                continue
            if first_line and line.strip():
                first_line = False
                if comment := _COMMENT.match(line):
                    names.append(comment.group("name"))
            continue
        if found:
            fence, first_line = found.group("fence"), True
            names.extend(_IN_INFO.findall(found.group("info")))
            if prose.rstrip().endswith(":") and len(intro := _INTRO.findall(prose)) == 1:
                names.append(intro[0])
            continue
        if not line.strip():
            continue
        if header := _HEADER.match(line):
            names.append(header.group("name"))
        elif first_line and (comment := _COMMENT.match(line)):
            names.append(comment.group("name"))
        first_line = False
        prose = line
    return names


def _resolve(name: str, planned: Sequence[str]) -> str | None:
    """The planned file ``name`` refers to: the same path, else the one planned file with that base name."""
    clean = name[2:] if name.startswith("./") else name
    if clean in planned:
        return clean
    same = [p for p in planned if PurePosixPath(p).name == PurePosixPath(clean).name]
    return same[0] if len(same) == 1 else None


def headed_for(text: str, path: str, planned: Sequence[str]) -> str | None:
    """The other planned file a coding answer for ``path`` says it is, or None.

    None when no header names a planned file, or when one names ``path`` itself (an answer that also shows another
    file, config.yaml say, is still the asked one).

    Args:
        text: The coding answer.
        path: The file that was asked for.
        planned: Every planned file of the run.

    Returns:
        The planned file the answer's first header names, when no header names ``path``.
    """
    named = [r for n in _header_names(text) if (r := _resolve(n, planned)) is not None]
    if not named or path in named:
        return None
    return named[0]
