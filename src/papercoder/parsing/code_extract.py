"""Find the code in a coding answer: the right fenced block, nested fences and cut-off answers included.

Fences follow CommonMark where models do: a block opens with three or more backticks or tildes and an optional
info string, and closes at a bare fence of the same character that is at least as long. Heuristics cover what
CommonMark cannot see: a tagged fence inside a block opens a nested example that a later bare fence closes; a bare
fence indented four or more columns deeper than the opening fence is content; inside a Python block, fences within
a triple-quoted docstring are content; a Markdown block (```` ```markdown ````) closes at the *last* matching bare
fence, so a README's own code examples stay inside it (with an even number of such fences they pair up as
examples and the wrapper is taken as cut off).
"""

from __future__ import annotations

import ast
import contextlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_CONTENT = re.compile(r"\[CONTENT\](?P<body>.*?)(?:\[/CONTENT\]|\Z)", re.DOTALL | re.IGNORECASE)
_FAMILIES: dict[str, set[str]] = {
    "python": {"python", "py", "python3", "py3", "ipython", "pycon"},
    "yaml": {"yaml", "yml"},
    "json": {"json", "jsonc", "json5"},
    "toml": {"toml"},
    "ini": {"ini", "cfg", "conf", "config"},
    "shell": {"bash", "sh", "shell", "zsh", "console", "shellscript"},
    "markdown": {"markdown", "md"},
    "text": {"text", "txt", "plaintext", "plain", "requirements", "pip"},
    "dockerfile": {"dockerfile", "docker"},
    "makefile": {"makefile", "make"},
}
_EXT_FAMILY = {
    ".py": "python",
    ".pyi": "python",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".sh": "shell",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
_NAME_FAMILY = {"dockerfile": "dockerfile", "makefile": "makefile"}
_CHATTER = re.compile(
    r"^(here(?:'s| is| are)\b|below\b|sure\b|certainly\b|of course\b|okay\b|ok[,.!:]|absolutely\b|"
    r"the following\b|the (?:complete|full|updated|final) (?:code|file|implementation)\b|"
    r"this (?:is|file|code|implementation|module|script|config)\b|i(?:'ve| have| will|'ll| hope)\b|"
    r"let me\b|hope this\b|note:|now\b|that's\b|the code (?:above|below)\b)",
    re.IGNORECASE,
)
_CODE_PUNCT = re.compile(r"[=(){}\[\];]")
_PY_START = re.compile(
    r"^(?:import |from |def |class |async |@|#|\"\"\"|'''|if |for |while |try:|with |return |raise |"
    r"[A-Za-z_][\w.]*\s*(?:=|\(|:\s*\w))"
)


@dataclass(frozen=True)
class Block:
    """One fenced block.

    Attributes:
        lang: The language tag, lower-cased (``"python"``, ``""`` when untagged; a file name tag such as
            ``model.py`` gives its language family).
        info: The whole info string after the opening fence.
        body: The text between the fences, the opening fence's indentation removed.
        closed: Whether a closing fence was found (False: the answer was cut off).
    """

    lang: str
    info: str
    body: str
    closed: bool


def _family(lang: str) -> str:
    """The language family of a tag (``py`` → ``python``); unknown tags are their own family."""
    return next((family for family, tags in _FAMILIES.items() if lang in tags), lang)


def _lang_of(info: str) -> str:
    """The language tag of an info string: ``python``, ``{.python}``, ``python:model.py``, ``model.py``."""
    token = re.split(r"[\s:{}=,]+", info.strip().strip("{}").lstrip("."), maxsplit=1)[0].lower()
    if "." in token and not token.startswith("."):
        suffix = PurePosixPath(token).suffix
        return _EXT_FAMILY.get(suffix, suffix.lstrip("."))
    return _family(token)


def family_of_path(path: str) -> str:
    """The language family of a file name (``"python"`` for ``a/b.py``), or ``""`` when unknown.

    Args:
        path: A file name or path.

    Returns:
        A family name such as ``"python"``, ``"yaml"``, ``"markdown"``, or ``""``.
    """
    pure = PurePosixPath(path)
    return _EXT_FAMILY.get(pure.suffix.lower(), _NAME_FAMILY.get(pure.name.lower(), ""))


def _triple_quote_state(line: str, state: str) -> str:
    """The open triple-quote delimiter after ``line`` (``""`` when none is open)."""
    pos = 0
    while True:
        if state:
            end = line.find(state, pos)
            if end == -1:
                return state
            state, pos = "", end + 3
            continue
        hits = [(line.find(q, pos), q) for q in ('"""', "'''")]
        hits = [(i, q) for i, q in hits if i != -1]
        comment = line.find("#", pos)
        if not hits or (comment != -1 and comment < min(hits)[0]):
            return ""
        start, state = min(hits)
        pos = start + 3


def _close_index(lines: list[str], start: int, fence: str, indent: int, lang: str, python: bool) -> int | None:
    """The index of the line that closes the block opened at ``start``, or None when the text ends first."""
    eligible: list[int] = []
    depth = 0
    doc = ""
    pythonish = lang == "python" or (python and not lang)
    for j in range(start + 1, len(lines)):
        if pythonish and doc:
            doc = _triple_quote_state(lines[j], doc)
            continue
        found = _FENCE.match(lines[j])
        if found and found.group("fence")[0] == fence[0] and len(found.group("fence")) >= len(fence):
            deeper = len(found.group("indent").expandtabs(4)) > indent + 3
            if found.group("info"):
                depth += 1
            elif depth:
                depth -= 1
            elif not deeper:
                if lang != "markdown":
                    return j
                eligible.append(j)
        elif pythonish:
            doc = _triple_quote_state(lines[j], doc)
    if len(eligible) % 2 == 0:
        return None  # none, or bare fences that pair up as a document's own examples: the wrapper was cut off
    return eligible[-1]


def _dedent(line: str, indent: int) -> str:
    """Remove up to ``indent`` columns of leading spaces (the opening fence's indentation)."""
    stripped = line.lstrip(" ")
    return line[min(indent, len(line) - len(stripped)) :]


def fenced_blocks(text: str, *, python: bool = False) -> list[Block]:
    """Split ``text`` into its top-level fenced blocks, in order.

    Args:
        text: Markdown-ish text with LF line endings.
        python: Treat untagged blocks as Python (docstring-aware closing).

    Returns:
        The blocks; a block whose closing fence is missing runs to the end of the text.
    """
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, info = opened.group("fence"), opened.group("info")
        indent = len(opened.group("indent").expandtabs(4))
        lang = _lang_of(info)
        end = _close_index(lines, i, fence, indent, lang, python)
        if end is None and (lang == "python" or (python and not lang)):
            end = _close_index(lines, i, fence, indent, "text", False)  # a stray triple quote hid the closer
        stop = len(lines) if end is None else end
        body = "\n".join(_dedent(line, indent) for line in lines[i + 1 : stop])
        blocks.append(Block(lang, info, body, end is not None))
        i = stop + 1
    return blocks


def _finish(code: str) -> str:
    """Leading blank lines and trailing whitespace dropped, exactly one final newline; ``""`` when empty."""
    code = re.sub(r"\A(?:[ \t]*\n)+", "", code).rstrip()
    return code + "\n" if code else ""


def _is_chatter(line: str, *, prose: bool = False) -> bool:
    """Whether a line is the model talking ("Here is the code:", "**model.py**") rather than file content.

    In a prose file (Markdown, text) an ordinary sentence is content, so only the chatter phrases count.
    """
    s = line.strip()
    if not s or line[:1].isspace():
        return False
    if re.fullmatch(r"(?:#{1,6}\s*|\*\*|`)?[\w./-]+\.\w+(?:\*\*|`)?:?", s) and not s.startswith("#!"):
        return bool(re.search(r"\*\*|`|^#|:$", s))
    if _CODE_PUNCT.search(s):
        return False
    sentence = not prose and s[0].isupper() and " " in s and s.endswith((":", ".", "!"))
    return bool(_CHATTER.match(s)) or sentence


def _parses(code: str) -> bool:
    """Whether ``code`` is valid Python."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: absurdly nested expressions
        return False
    return True


def _looks_like(family: str, text: str) -> bool:
    """Whether ``text`` plausibly is a file of the given family."""
    if family == "python":
        return _parses(text) or bool(_PY_START.match(text.lstrip()))
    if family == "yaml":
        try:
            return isinstance(yaml.safe_load(text), dict)
        except (yaml.YAMLError, RecursionError):  # PyYAML composes nested collections recursively
            return False
    return bool(text.strip()) and not _is_chatter(text.strip().split("\n")[0], prose=family in ("markdown", "text"))


def _strip_prose(text: str, family: str) -> str:
    """An unfenced answer without its leading and trailing chatter lines, when what is left looks like code."""
    if family == "python" and _parses(text):
        return text
    prose = family in ("markdown", "text")
    lines = text.strip("\n").split("\n")
    first = 0
    while first < min(len(lines) - 1, 6) and (
        _is_chatter(lines[first], prose=prose) or (first and not lines[first].strip())
    ):
        first += 1
    last = len(lines)
    while last - 1 > first and (_is_chatter(lines[last - 1], prose=prose) or not lines[last - 1].strip()):
        last -= 1
    rest = "\n".join(lines[first:last])
    if (first or last < len(lines)) and _looks_like(family, rest):
        return rest
    return text


def _markdown(text: str) -> str:
    """A Markdown file's text: the body of an outer ```markdown (or leading untagged) fence, else the whole answer."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        opened = _FENCE.match(line)
        if opened is None:
            if line.strip() and not _is_chatter(line, prose=True):
                break
            continue
        lang = _lang_of(opened.group("info"))
        indent = len(opened.group("indent").expandtabs(4))
        if lang not in ("markdown", ""):
            # A whole document wrapped in a fence of another language (```python around a README with its own
            # examples): unwrap it when the wrapper's close is the answer's last fence, chatter aside.
            end = _close_index(lines, i, opened.group("fence"), indent, "text", False)
            if end is None or any(x.strip() and not _is_chatter(x, prose=True) for x in lines[end + 1 :]):
                break
        else:
            end = _close_index(lines, i, opened.group("fence"), indent, "markdown", False)
        return "\n".join(_dedent(x, indent) for x in lines[i + 1 : len(lines) if end is None else end])
    return _strip_prose(text, "markdown")


def _content(text: str) -> str:
    """The inside of a ``[CONTENT]…[/CONTENT]`` wrapper (the longest one), else the text."""
    bodies = [m.group("body") for m in _CONTENT.finditer(text)]
    return max(bodies, key=len) if bodies else text


def extract_code(text: str, *, filename: str | None = None, language: str | None = None) -> str:
    """Read one file's contents out of a coding answer.

    Picks the fenced block whose info string names ``filename``, else whose language fits the file's extension
    (or ``language``), else an untagged one, else any; among those the longest. A cut-off final block runs to the
    end of the answer. A Markdown file takes its outermost fence (or the whole answer when the fences are its own
    examples). With no fence, leading/trailing chatter lines ("Here is the code:") are dropped when the rest looks
    like code. ``[CONTENT]`` wrappers are unwrapped.

    Args:
        text: The model's answer.
        filename: The file being written; its extension chooses the language.
        language: A language tag to prefer (``"python"``), when there is no filename.

    Returns:
        The code with LF line endings and exactly one trailing newline; ``""`` for an empty answer.
    """
    text = _content(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    if not text.strip():
        return ""
    family = _family(language.lower()) if language else family_of_path(filename) if filename else ""
    if family == "markdown":
        return _finish(_markdown(text))
    every = fenced_blocks(text, python=family == "python")
    blocks = [b for b in every if b.body.strip()]
    if not blocks:
        return "" if every else _finish(_strip_prose(text, family))
    base = PurePosixPath(filename).name if filename else ""
    named = [b for b in blocks if base and re.search(rf"(?<![\w.-]){re.escape(base)}(?![\w.-])", b.info)]
    matching = [b for b in blocks if family and b.lang == family]
    untagged = [b for b in blocks if family and not b.lang]
    pool = named or matching or untagged or blocks
    return _finish(max(pool, key=lambda b: len(b.body)).body)


def extract_yaml(text: str) -> str:
    """Read a YAML config answer (fenced or bare) and check that it is a mapping.

    Args:
        text: The model's answer.

    Returns:
        The YAML text, LF line endings, one trailing newline.

    Raises:
        ValueError: the answer is empty, is not YAML, or is not a mapping; the message says which, and where.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A ```yaml block wins over everything else, also one after a [CONTENT] wrapper that repeats earlier JSON.
    tagged = sorted((b.body for b in fenced_blocks(text) if b.lang == "yaml" and b.body.strip()), key=len)
    for candidate in reversed(tagged):
        with contextlib.suppress(ValueError):
            if isinstance(_load_yaml(candidate), dict):
                return _finish(candidate)
    body = extract_code(text, filename="config.yaml")
    if not body:
        raise ValueError("the answer is empty, not a YAML mapping")
    data = _load_yaml(body)
    if not isinstance(data, dict):
        raise ValueError(f"it is not a YAML mapping (got {type(data).__name__})")
    if len(data) == 1 and isinstance(inner := next(iter(data.values())), str) and ("\n" in inner or "```" in inner):
        try:
            return extract_yaml(inner)  # {"config.yaml": "```yaml ...```"}: the config as a string inside JSON
        except ValueError:
            pass  # a one-key config whose value is a text block
    if body.lstrip().startswith("{") and _LOGIC_KEYS & {str(k).strip().lower() for k in data}:
        raise ValueError("it repeats the logic design's JSON instead of giving config.yaml")
    return body


_LOGIC_KEYS = {
    "required packages",
    "logic analysis",
    "task list",
    "shared knowledge",
    "file list",
    "data structures and interfaces",
}


def _load_yaml(body: str) -> object:
    """``yaml.safe_load`` with a ValueError naming the line and the problem."""
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"it is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ValueError("it is nested too deeply to read as YAML") from None
