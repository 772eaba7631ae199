"""Find the code in a coding answer: the right fenced block, nested fences and cut-off answers included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_LANGS = {
    ".py": {"python", "py", "python3"},
    ".yaml": {"yaml", "yml"},
    ".yml": {"yaml", "yml"},
    ".sh": {"bash", "sh", "shell", "zsh"},
    ".md": {"markdown", "md"},
    ".json": {"json"},
    ".toml": {"toml"},
    ".txt": {"text", "txt", ""},
}
_PROSE = re.compile(r"^(here\b|below\b|sure\b|certainly\b|this\b|the following\b|okay\b|ok\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """One fenced block: its language tag, body, and whether its closing fence was found."""

    lang: str
    body: str
    closed: bool


def fenced_blocks(text: str) -> list[Block]:
    """Top-level fenced blocks in order. A block closes only at a fence of the same character and at least the
    same length with no info string, so a shorter or tagged fence inside it (a nested example) stays in its body."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, lang = opened.group("fence"), opened.group("info").strip().split(" ")[0].lower()
        body: list[str] = []
        depth = 0
        j = i + 1
        closed = False
        while j < len(lines):
            inner = _OPEN.match(lines[j])
            if inner and inner.group("fence")[0] == fence[0] and len(inner.group("fence")) >= len(fence):
                if inner.group("info").strip():
                    depth += 1  # a nested block opens
                elif depth:
                    depth -= 1
                else:
                    closed = True
                    break
            body.append(lines[j])
            j += 1
        blocks.append(Block(lang, "\n".join(body), closed))
        i = j + 1
    return blocks


def _finish(code: str) -> str:
    code = code.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return code + "\n" if code.strip() else ""


def extract_code(text: str, *, filename: str | None = None, language: str | None = None) -> str:
    """The file's contents from a coding answer.

    Picks the fenced block whose language fits the file's extension (or ``language``), else the longest one; a
    cut-off final block is taken to the end of the answer. With no fence, leading prose lines ("Here is …") are
    dropped. Line endings become LF, with exactly one trailing newline; an empty answer gives "".
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    content = re.search(r"\[CONTENT\](.*?)(?:\[/CONTENT\]|\Z)", text, re.DOTALL)
    if content:
        text = content.group(1)
    if not text.strip():
        return ""
    blocks = [b for b in fenced_blocks(text) if b.body.strip()]
    if blocks:
        wanted: set[str] = set()
        if language:
            wanted.add(language.lower())
        if filename:
            wanted |= _LANGS.get(PurePosixPath(filename).suffix.lower(), set())
        matching = [b for b in blocks if b.lang and b.lang in wanted]
        pool = matching or blocks
        return _finish(max(pool, key=lambda b: len(b.body)).body)
    lines = text.strip("\n").split("\n")
    while len(lines) > 1 and _PROSE.match(lines[0].strip()) and lines[0].rstrip().endswith((":", ".")):
        lines.pop(0)
    return _finish("\n".join(lines))


def extract_yaml(text: str) -> str:
    """The YAML of a config answer (fenced or bare), checked to be a mapping.

    Raises:
        ValueError: the text is not YAML, or not a mapping.
    """
    body = extract_code(text, filename="config.yaml")
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"it is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ValueError(f"it is not a YAML mapping (got {type(data).__name__})")
    return body
