"""Find the JSON in a model's answer, however it was wrapped, and map key spellings onto field names.

Candidates are tried in this order: the whole answer, the bodies of ``[CONTENT]…[/CONTENT]`` wrappers (the original
Paper2Code format, possibly fenced inside), fenced blocks (largest first), then balanced ``{…}`` spans embedded in
prose. Each candidate is read strictly, then leniently (comments, trailing commas, smart quotes, raw newlines in
strings), then as a Python literal. An object beats a list and a list beats a scalar; within a kind the earlier
source wins. When nothing parses, the error names the most likely candidate's problem and position.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from papercoder.parsing.code_extract import fenced_blocks

_CONTENT = re.compile(r"\[CONTENT\](?P<body>.*?)(?:\[/CONTENT\]|\Z)", re.DOTALL | re.IGNORECASE)
_SMART = "\u201c\u201d\u201e\u201f\u2033"
_PY_WORDS = {"true": "True", "false": "False", "null": "None"}
_JSON_TAGS = {"", "json", "jsonc", "json5", "javascript", "js"}
_OBJECT_START = re.compile(r"\{\s*(?:[\"'}\u201c\u201d]|//|#|/\*)|\[\s*[{\[\"'\u201c]")
_MAX_SPANS = 64
_DQ = r'"(?:[^"\\]|\\.)*"?'
_SQ = r"'(?:[^'\\\n]|\\.)*'?"
_SMART_STR = rf'[{_SMART}](?:[^"\\{_SMART}]|\\.)*["{_SMART}]?'
_COMMENT = r"//[^\n]*|/\*.*?(?:\*/|\Z)|#[^\n]*"
_LENIENT_TOKENS = re.compile(rf"(?P<str>{_DQ})|(?P<smart>{_SMART_STR})|(?P<comment>{_COMMENT})", re.DOTALL)
_TRAILING_COMMA = re.compile(rf"(?P<str>{_DQ})|,(?P<close>\s*[}}\]])", re.DOTALL)
_BRACKET_TOKENS = re.compile(rf"{_DQ}|{_SQ}|{_SMART_STR}|{_COMMENT}|(?P<bracket>[{{}}\[\]])", re.DOTALL)
_PY_TOKENS = re.compile(rf"(?P<str>{_DQ}|{_SQ})|\b(?P<word>true|false|null)\b", re.DOTALL)
_PY_ONLY = re.compile(r"\b(?:True|False|None)\b")
_NEEDS_FIX = re.compile(rf",\s*[}}\]]|#|//|/\*|[{_SMART}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONExtractionError(ValueError):
    """No JSON value could be read from the answer; the message says why, to quote back in a repair turn."""


TOO_DEEP = (
    "the JSON is nested too deeply to read (hundreds of levels); send the flat JSON object with the expected keys"
)


def canonical(key: str) -> str:
    """Reduce a key to lowercase letters and digits, so spellings of one name compare equal.

    Args:
        key: A key as the model wrote it.

    Returns:
        The key case-folded with everything but letters and digits dropped: ``"File list"``, ``"file_list"``,
        ``"file-list"`` and ``"fileList"`` all give ``"filelist"``.
    """
    return "".join(ch for ch in key.casefold() if ch.isalnum())


def normalize_keys(data: Mapping[str, object], fields: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """Rename the keys of ``data`` that name a known field, up to case, spaces, hyphens, underscores and camelCase.

    Args:
        data: A decoded JSON object.
        fields: Canonical field name → extra alias spellings (``{"class_diagram": ["Data structures and
            interfaces"]}``). A field's own name always beats another field's alias.

    Returns:
        A new dict in the order of ``data``. Unknown keys are kept as they are. When two keys map onto one field,
        the key spelled exactly like the field wins, else the first one.
    """
    lookup: dict[str, str] = {}
    for name in fields:
        lookup.setdefault(canonical(name), name)
    for name, aliases in fields.items():
        for alias in aliases:
            lookup.setdefault(canonical(alias), name)
    out: dict[str, object] = {}
    exact: set[str] = set()
    for raw_key, value in data.items():
        key = str(raw_key)
        target = lookup.get(canonical(key), key)
        if target in exact:
            continue
        if key == target:
            exact.add(target)
            out[target] = value
        elif target not in out:
            out[target] = value
    return out


def _lenient(text: str) -> str:
    """The text with comments, trailing commas and smart-quote delimiters fixed, every position kept in place.

    ``//``, ``/* */`` and ``#`` comments outside strings become spaces; a comma before ``}`` or ``]`` becomes a
    space; smart double quotes that delimit a string become ``"``. Inside an ordinary string nothing changes, so
    ``"C#"``, ``"https://x.org/a#b"`` and ``"the “best” run"`` survive. Keeping positions keeps error columns true.
    """

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group("str"):
            return token
        if match.group("smart"):
            closed = len(token) > 1 and token[-1] in '"' + _SMART
            return '"' + (token[1:-1] + '"' if closed else token[1:])
        return re.sub(r"[^\n]", " ", token)

    if not _NEEDS_FIX.search(text):
        return text
    fixed = _LENIENT_TOKENS.sub(fix, text)
    return _TRAILING_COMMA.sub(lambda m: m.group("str") or " " + m.group("close"), fixed)


def _python_literal(text: str) -> object:
    """A Python-style literal (single quotes, True/None), JSON's ``true``/``false``/``null`` also understood.

    Raises:
        ValueError: it is not a dict or list literal.
    """
    if "'" not in text and not _PY_ONLY.search(text):
        raise ValueError("nothing Python-specific")
    source = _PY_TOKENS.sub(lambda m: m.group("str") or _PY_WORDS[m.group("word")], text)
    try:
        value = ast.literal_eval(source.strip())
    except (SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(value, dict | list):
        raise ValueError("not a dict or list literal")
    return value


def _loads(candidate: str) -> object:
    """Parse one candidate strictly, then leniently, then as a Python literal.

    Raises:
        json.JSONDecodeError: nothing worked; the error of the lenient attempt, whose positions match the input.
    """
    text = candidate.strip().lstrip("\ufeff")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    except RecursionError:  # nesting past the interpreter's recursion limit: no lenient reading will do better
        raise json.JSONDecodeError(TOO_DEEP, text, 0) from None
    fixed = _lenient(text)
    try:
        return json.loads(fixed, strict=False)
    except json.JSONDecodeError as exc:
        error = exc
    except RecursionError:
        raise json.JSONDecodeError(TOO_DEEP, text, 0) from None
    try:
        return _python_literal(text)
    except ValueError:
        raise error from None


@dataclass(frozen=True)
class _Span:
    """A bracketed region of the text; ``open_brackets`` is non-empty when the text ended before it closed."""

    start: int
    end: int
    open_brackets: str


def _span_from(text: str, start: int) -> _Span:
    """The balanced ``{…}``/``[…]`` region starting at ``start``, skipping strings and comments."""
    stack: list[str] = []
    for match in _BRACKET_TOKENS.finditer(text, start):
        bracket = match.group("bracket")
        if bracket is None:
            token = match.group(0)
            cut = token[0] in "\"'" + _SMART and match.end() == len(text)
            if cut and (len(token) == 1 or token[-1] not in "\"'" + _SMART or token.endswith("\\" + token[-1])):
                return _Span(start, len(text), "".join(stack) + '"')
        elif bracket in "{[":
            stack.append(bracket)
        else:
            if stack:
                stack.pop()
            if not stack:
                return _Span(start, match.end(), "")
    return _Span(start, len(text), "".join(stack))


def _spans(text: str) -> list[_Span]:
    """Top-level bracketed spans embedded in prose: ``{"…``, and ``[…]`` that holds objects, lists or strings.

    Scanning stops at a span cut off by the end of the text: the objects nested in it are parts, not answers.
    """
    found: list[_Span] = []
    i = 0
    while len(found) < _MAX_SPANS:
        start = _OBJECT_START.search(text, i)
        if start is None:
            break
        span = _span_from(text, start.start())
        found.append(span)
        if span.open_brackets:
            break
        i = span.end
    return found


@dataclass(frozen=True)
class _Candidate:
    text: str
    where: str


def _candidates(text: str) -> list[_Candidate]:
    """Every place the JSON could be, most likely first (the whole answer is tried separately)."""
    found: list[_Candidate] = []
    for match in _CONTENT.finditer(text):
        body = match.group("body")
        blocks = sorted(fenced_blocks(body), key=lambda b: len(b.body), reverse=True)
        found.extend(_Candidate(b.body, "the fenced block inside [CONTENT]") for b in blocks)
        found.append(_Candidate(body, "the [CONTENT] block"))
        found.extend(_Candidate(body[s.start : s.end], "the [CONTENT] block") for s in _spans(body))
    blocks = sorted(fenced_blocks(text), key=lambda b: (b.lang in _JSON_TAGS, len(b.body)), reverse=True)
    found.extend(_Candidate(b.body, f"the ```{b.lang} block" if b.lang else "the fenced block") for b in blocks)
    spans = sorted(_spans(text), key=lambda s: s.end - s.start, reverse=True)
    found.extend(_Candidate(text[s.start : s.end], "the answer") for s in spans)
    return found


def _rank(value: object) -> int:
    return 0 if isinstance(value, dict) else 1 if isinstance(value, list) else 2


def extract_json(text: str) -> object:
    """Read the JSON answer out of a model reply.

    Accepts bare JSON, fenced blocks (```` ```json ````, untagged, ``~~~``; with prose around; when there are
    several, an object beats a list and the largest block wins), ``[CONTENT]…[/CONTENT]`` wrappers, JSON embedded in
    prose, trailing commas, ``//``/``#``/``/* */`` comments outside strings, smart quotes, a BOM, raw newlines inside
    strings, and Python-style literals (single quotes, ``True``/``None``) as a last resort.

    Args:
        text: The model's whole answer.

    Returns:
        The decoded value, usually a dict.

    Raises:
        JSONExtractionError: nothing parses. The message is one line, meant to be quoted back to the model: what was
            wrong, where (line and column within the JSON), and the offending line.
    """
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    if not text.strip():
        raise JSONExtractionError("the answer is empty; reply with the JSON object")
    try:
        value = _extract(text)
        # "\ud800" escapes decode to lone surrogates, which no file, prompt or cache entry can hold as UTF-8.
        return _without_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value
    except RecursionError:  # a parse step not guarded below (the error explanation re-reads the text)
        raise JSONExtractionError(TOO_DEEP) from None


def _without_surrogates(value: object) -> object:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _extract(text: str) -> object:
    best: tuple[int, object] | None = None
    try:
        value = _loads(text)
        if _rank(value) < 2:
            return value
        best = (2, value)
    except json.JSONDecodeError:
        pass
    candidates = _candidates(text)
    for candidate in candidates:
        if not candidate.text.strip():
            continue
        try:
            value = _loads(candidate.text)
        except json.JSONDecodeError:
            continue
        if _rank(value) == 0:
            return value
        if best is None or _rank(value) < best[0]:
            best = (_rank(value), value)
    if best is not None:
        return best[1]
    raise JSONExtractionError(_explain(text, candidates))


def _explain(text: str, candidates: Sequence[_Candidate]) -> str:
    """One line on why the most likely candidate failed to parse."""
    candidate = next((c for c in candidates if c.text.strip()), None)
    if candidate is None:
        if candidates:
            return f"{candidates[0].where} is empty; put the JSON object inside it"
        return "the answer holds no JSON object (no '{' found); reply with the JSON object only"
    body = candidate.text.strip().lstrip("\ufeff")
    likely = _OBJECT_START.search(body)
    starts = [p for p in (body.find("{"), body.find("[")) if p >= 0]
    if likely is None and not starts:
        return f"{candidate.where} holds no JSON object (no '{{' found); reply with the JSON object only"
    span = _span_from(body, likely.start() if likely else min(starts))
    body = body[span.start : span.end]
    if span.open_brackets:
        line = body.count("\n") + 1
        closers = "".join({"{": "}", "[": "]", '"': '"'}[c] for c in reversed(span.open_brackets))
        shown = repr(closers) if len(closers) <= 12 else f"{closers[:12]!r}... ({len(closers):,} closers)"
        return (
            f"the JSON in {candidate.where} looks cut off: it ends at line {line} with {shown} still missing; "
            "send the complete JSON object again"
        )
    try:
        json.loads(_lenient(body), strict=False)
    except json.JSONDecodeError as exc:
        lines = body.split("\n")
        excerpt = lines[exc.lineno - 1].strip() if exc.lineno <= len(lines) else ""
        excerpt = excerpt if len(excerpt) <= 80 else excerpt[:77] + "..."
        return f"invalid JSON in {candidate.where}: {exc.msg} at line {exc.lineno} column {exc.colno}: {excerpt!r}"
    return f"{candidate.where} could not be read as JSON"  # pragma: no cover - _loads failed on the same text
