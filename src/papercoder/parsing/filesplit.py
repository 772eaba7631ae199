"""Split a one-shot answer that holds a whole repository into files (pure functions, no I/O).

The baseline prompts ask for ``### File: <path>`` followed by one fenced block per file. Models drift, so these
are read too: ``File: path``, ``**path**``, ``` `path` ```, ``## path`` on a line before the fence, and a fence
whose info string names the file (```` ```python main.py ````). A block with no file name is skipped with a
warning; prose between a file's name and its block is ignored. Fences are ``` or ~~~ (three or more); a block
closes at a bare fence of the same character at least as long. Inside a three-backtick block, an opening fence
with a language tag (a README's ```` ```bash ```` example) nests until its own bare closing fence.

Names are checked with ``papercoder.parsing.paths.safe_repo_path``: absolute paths, ``..``, hidden folders such
as ``.git`` and empty names are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from papercoder.parsing.paths import safe_repo_path

_PATHLIKE = r"[\w.\-/\\]*[\w\-]\.[A-Za-z0-9]+|[\w.\-/\\]*(?:Dockerfile|Makefile)"
_HEADER = re.compile(
    r"^\s{0,3}(?:#{1,6}\s*)?(?:\*\*|__)?\s*(?:file\s*name|file|path)\s*[:：]\s*(?:\*\*|__)?\s*[`'\"]?"
    r"(?P<path>[^`'\"*\s]+)[`'\"]?\s*(?:\*\*|__)?\s*$",
    re.IGNORECASE,
)
_BARE = re.compile(rf"^\s{{0,3}}(?:#{{1,6}}\s+)?(?:\*\*|__)?`?(?P<path>{_PATHLIKE})`?(?:\*\*|__)?:?\s*$")
_FENCE = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_INFO_PATH = re.compile(rf"^(?:{_PATHLIKE})$")


@dataclass
class SplitAnswer:
    """The files found in an answer, in order, and what was refused or odd."""

    files: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _header_path(line: str) -> str | None:
    match = _HEADER.match(line) or _BARE.match(line)
    return match.group("path") if match else None


def _info_path(info: str) -> str | None:
    for token in info.split()[::-1]:
        token = token.strip("{}:")
        if "=" in token:
            token = token.split("=", 1)[1].strip("\"'")
        if _INFO_PATH.match(token):
            return token
    return None


def _read_block(lines: list[str], start: int, fence: str) -> tuple[list[str], int]:
    """The block's lines after its opening fence at ``start``, and the index after its closing fence."""
    body: list[str] = []
    depth = 0
    i = start + 1
    while i < len(lines):
        line = lines[i]
        bare = line.strip()
        if bare and set(bare) == {fence[0]} and len(bare) >= len(fence):
            if depth == 0:
                return body, i + 1
            depth -= 1
        elif fence == "```" and (m := _FENCE.match(line)) and m.group("fence") == "```" and m.group("info").strip():
            depth += 1
        body.append(line)
        i += 1
    return body, i  # unclosed: the block runs to the end of the answer


def split_files(text: str) -> SplitAnswer:
    """Split ``text`` into files (see the module docstring)."""
    out = SplitAnswer()
    lines = text.splitlines()
    pending: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening is None:
            found = _header_path(line) if line.strip() else None
            pending = found or pending  # prose between a file's name and its fence is allowed
            i += 1
            continue
        fence = opening.group("fence")
        body, i = _read_block(lines, i, fence)
        raw = pending or _info_path(opening.group("info"))
        pending = None
        if raw is None:
            out.warnings.append(f"a code block of {len(body)} lines names no file; skipped")
            continue
        path, note = safe_repo_path(raw)
        if path is None:
            out.refused.append(raw)
            out.warnings.append(note or f"refused file name {raw!r}")
            continue
        if path in out.files:
            out.warnings.append(f"{path} is written twice; the last one is kept")
        out.files[path] = "\n".join(body) + "\n" if body else ""
    return out
