"""Find the JSON in a model's answer, however it was wrapped, and map key spellings onto field names."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence

_FENCE = re.compile(
    r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)(?:\n[ \t]*(?P=fence)[ \t]*(?:\n|$)|\Z)",
    re.DOTALL,
)
_CONTENT = re.compile(r"\[CONTENT\](?P<body>.*?)(?:\[/CONTENT\]|\Z)", re.DOTALL | re.IGNORECASE)
_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


class JSONExtractionError(ValueError):
    """No JSON value could be read from the answer; the message says why, to quote back in a repair turn."""


def canonical(key: str) -> str:
    """A key reduced to lowercase letters and digits: "File list" == "file_list" == "fileList"."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def normalize_keys(data: Mapping[str, object], fields: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Rename keys of ``data`` that match a field (or one of its aliases) up to case, spaces and punctuation."""
    lookup: dict[str, str] = {}
    for name, aliases in fields.items():
        for spelling in [name, *aliases]:
            lookup.setdefault(canonical(spelling), name)
    out: dict[str, object] = {}
    for key, value in data.items():
        target = lookup.get(canonical(str(key)), str(key))
        if target not in out:
            out[target] = value
    return out


def _strip_comments(text: str) -> str:
    """Drop ``//`` and ``#`` line comments outside strings."""
    out: list[str] = []
    in_string = False
    escaped = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _strip_trailing_commas(text: str) -> str:
    """Drop commas that directly precede a closing bracket, outside strings."""
    out: list[str] = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "}]":
            j = len(out) - 1
            while j >= 0 and out[j].isspace():
                j -= 1
            if j >= 0 and out[j] == ",":
                del out[j]
        out.append(ch)
    return "".join(out)


def _loads(candidate: str) -> object:
    """Parse one candidate: strict JSON, then with comments and trailing commas removed, then a Python literal."""
    text = candidate.strip().lstrip("\ufeff").translate(_SMART)
    errors: list[str] = []
    for attempt in (text, _strip_trailing_commas(_strip_comments(text))):
        try:
            return json.loads(attempt)
        except json.JSONDecodeError as exc:
            errors.append(f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    try:
        value = ast.literal_eval(text)
        if isinstance(value, dict | list):
            return value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    raise JSONExtractionError(errors[-1])


def _outer_span(text: str) -> str | None:
    """The text from the first ``{`` (or ``[``) to the last matching closer, for JSON embedded in prose."""
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if start != -1 and end > start:
            return text[start : end + 1]
    return None


def _candidates(text: str) -> list[str]:
    found: list[str] = []
    for match in _CONTENT.finditer(text):
        body = match.group("body")
        found.extend(m.group("body") for m in _FENCE.finditer(body))
        found.append(body)
    fenced = sorted((m.group("body") for m in _FENCE.finditer(text)), key=len, reverse=True)
    found.extend(fenced)
    found.append(text)
    spans = [_outer_span(c) for c in list(found)]
    found.extend(s for s in spans if s)
    return found


def extract_json(text: str) -> object:
    """The JSON value of an answer: bare, fenced, inside ``[CONTENT]…[/CONTENT]``, or embedded in prose.

    Tolerates trailing commas, ``//`` and ``#`` comments, smart quotes, a BOM and Python-style literals. Prefers an
    object (the usual answer) over other values.

    Raises:
        JSONExtractionError: nothing parses; the message names the parse error of the most likely candidate.
    """
    if not text or not text.strip():
        raise JSONExtractionError("the answer is empty")
    first_error: JSONExtractionError | None = None
    fallback: object | None = None
    for candidate in _candidates(text):
        if not candidate.strip():
            continue
        try:
            value = _loads(candidate)
        except JSONExtractionError as exc:
            first_error = first_error or exc
            continue
        if isinstance(value, dict):
            return value
        if fallback is None and isinstance(value, list):
            fallback = value
    if fallback is not None:
        return fallback
    if "{" not in text and "[" not in text:
        raise JSONExtractionError("the answer holds no JSON object")
    detail = str(first_error) if first_error else "no JSON object found"
    if text.count("{") > text.count("}"):
        detail += "; the JSON looks cut off (more '{' than '}')"
    raise JSONExtractionError(detail)
