"""Text to safe HTML: Markdown (markdown-it-py, raw HTML off), code highlighting (Pygments), JSON shown as tables.

Everything here treats its input as untrusted model output: Markdown's raw HTML is escaped rather than passed
through, images are not rendered (a report works offline and loads nothing), and highlighted code is escaped by
Pygments. The results are ``markupsafe.Markup`` so the autoescaping templates insert them as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

STYLE = "default"
MAX_HIGHLIGHT_CHARS = 200_000  # beyond this, plain escaped text: highlighting huge files is slow and unhelpful


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter[str]:
    return HtmlFormatter(style=STYLE, nowrap=True)


def pygments_css() -> str:
    """The highlighter's CSS, scoped to ``.hl``."""
    style_defs: Callable[[str], str] = HtmlFormatter(style=STYLE).get_style_defs
    return style_defs(".hl")


def _lexer_for(filename: str | None = None, language: str | None = None) -> Lexer:
    lexer: Lexer = TextLexer(stripnl=False)
    try:
        if language:
            lexer = get_lexer_by_name(language.strip().lower(), stripnl=False)
        elif filename:
            lexer = get_lexer_for_filename(filename, stripnl=False)
    except ClassNotFound:
        pass
    return lexer


def highlight_code(code: str, filename: str | None = None, language: str | None = None) -> Markup:
    """``code`` as a ``<pre class="hl">`` block, coloured by its file name or language; escaped in any case."""
    if len(code) > MAX_HIGHLIGHT_CHARS:
        return Markup('<pre class="hl"><code>{}</code></pre>').format(code)
    body = highlight(code, _lexer_for(filename, language), _formatter())
    return Markup(f'<pre class="hl"><code>{body}</code></pre>')  # Pygments escapes every token


def _fence(code: str, lang: str, _attrs: str) -> str:
    return str(highlight_code(code, language=lang or "text"))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": _fence})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    return md


@lru_cache(maxsize=1)
def _markdown_breaks() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": _fence, "breaks": True}
    )
    md.enable(["table", "strikethrough"])
    md.disable("image")
    return md


_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|>|\||```|~~~)")


def _keep_indent(text: str) -> str:
    """Leading spaces of paragraph continuation lines as no-break spaces, which Markdown keeps (it strips
    spaces). List items, headings, quotes, tables, fences and indented code blocks are left as they are."""
    out: list[str] = []
    fenced = False
    previous = ""
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        indent = len(line) - len(line.lstrip(" "))
        if not fenced and indent and previous.strip() and not _BLOCK_START.match(line):
            line = "\u00a0" * indent + line[indent:]
        out.append(line)
        previous = line
    return "\n".join(out)


def plan_markdown(text: str | None) -> Markup:
    """Like ``render_markdown``, but the lines of the text stay lines and keep their indentation: a plan is often
    written as lines indented with spaces or em-spaces (reasoning models do), which as Markdown would run into one
    paragraph."""
    if not text:
        return Markup("")
    return Markup(_markdown_breaks().render(_keep_indent(text)))


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML with raw HTML escaped, code fences highlighted and unsafe link schemes refused."""
    if not text:
        return Markup("")
    return Markup(_markdown().render(text))  # html=False: every tag in ``text`` comes out escaped


def pretty_json(data: object) -> Markup:
    """Indented, highlighted JSON."""
    return highlight_code(json.dumps(data, indent=2, ensure_ascii=False, default=str), language="json")


@dataclass(frozen=True)
class Table:
    """A list of flat records as columns and cell texts."""

    columns: list[str]
    rows: list[list[str]]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def as_table(data: object, max_columns: int = 12) -> Table | None:
    """``data`` as a table when it is a non-empty list of objects (the union of their keys are the columns), else
    None: the caller then shows it as JSON."""
    if not isinstance(data, list) or not data or not all(isinstance(item, dict) for item in data):
        return None
    columns: list[str] = []
    for item in data:
        columns.extend(str(k) for k in item if str(k) not in columns)
    if len(columns) > max_columns:
        return None
    return Table(columns, [[_cell(item.get(c)) for c in columns] for item in data])


def scalars(data: object) -> list[tuple[str, str]]:
    """The top-level keys of an object whose values are scalars (or short lists of scalars), as texts."""
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        if isinstance(value, str | int | float | bool) or value is None:
            found.append((str(key), _cell(value)))
        elif isinstance(value, list) and len(value) <= 10 and all(not isinstance(v, dict | list) for v in value):
            found.append((str(key), ", ".join(_cell(v) for v in value) if value else "none"))
    return found


def tables(data: object) -> list[tuple[str, Table]]:
    """The top-level keys of an object whose values read as tables (lists of records)."""
    if not isinstance(data, dict):
        return []
    return [(str(k), t) for k, v in data.items() if (t := as_table(v)) is not None]


def status_class(value: object) -> str:
    """A CSS class for a status-like cell: ``good`` (ok, passed, true, 0-exit), ``bad``, or empty."""
    text = str(value).strip().lower()
    if text in {"ok", "pass", "passed", "success", "succeeded", "done", "true", "yes"}:
        return "good"
    if text in {"fail", "failed", "failure", "error", "errored", "false", "no", "crashed", "timeout"}:
        return "bad"
    return ""


def text_block(text: str) -> Markup:
    """Plain text in a ``<pre>``, escaped."""
    return Markup('<pre class="plain">{}</pre>').format(escape(text))
