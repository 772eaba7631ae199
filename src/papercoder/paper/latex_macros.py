"""Author-defined LaTeX macros: read ``\\newcommand``/``\\def``/``\\DeclareMathOperator`` and expand them.

Papers define shorthands such as ``\\newcommand{\\dmodel}{d_{\\text{model}}}``; expanding them lets the
model read ``d_{\\text{model}}`` instead of an undefined ``\\dmodel``. Macros with up to nine plain
arguments (and an optional first argument) are expanded; delimited ``\\def`` parameters are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEFINITION_RE = re.compile(
    r"\\(newcommand|renewcommand|providecommand|DeclareRobustCommand|DeclareMathOperator|"
    r"newenvironment|renewenvironment|def|gdef|edef|xdef)(?![a-zA-Z@])(\*?)"
)
# Structural commands the converter relies on keep their meaning even if a paper restyles them.
_PROTECTED = frozenset(
    [
        "section",
        "subsection",
        "subsubsection",
        "paragraph",
        "subparagraph",
        "chapter",
        "part",
        "title",
        "author",
        "caption",
        "label",
        "ref",
        "eqref",
        "cite",
        "citep",
        "citet",
        "item",
        "begin",
        "end",
        "footnote",
        "appendix",
        "maketitle",
        "includegraphics",
        "input",
        "include",
        "bibliography",
        "textbf",
        "emph",
        "url",
        "href",
    ]
)
_MAX_PASSES = 10


@dataclass(frozen=True)
class Macro:
    """A macro definition: its argument count, optional-argument default and body."""

    nargs: int
    default: str | None
    body: str


def read_group(text: str, index: int, opening: str = "{", closing: str = "}") -> tuple[str, int] | None:
    """Read a balanced ``{…}`` (or ``[…]``) group starting at ``index`` after optional whitespace.

    Args:
        text: LaTeX source.
        index: where to start looking.
        opening: the opening delimiter.
        closing: the closing delimiter.

    Returns:
        The group's content and the index just past it, or None if no group starts there.
    """
    while index < len(text) and text[index] in " \t\n":
        index += 1
    if index >= len(text) or text[index] != opening:
        return None
    depth = 0
    start = index
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if depth == 0 and char == closing:
            return text[start + 1 : index], index + 1
        if depth < 0:
            return None
        index += 1
    return None


def _read_name(text: str, index: int) -> tuple[str, int] | None:
    group = read_group(text, index)
    if group is not None:
        name = group[0].strip()
        return (name[1:], group[1]) if name.startswith("\\") else None
    match = re.compile(r"\s*\\([a-zA-Z@]+|.)").match(text, index)
    return (match.group(1), match.end()) if match else None


def _parse_one(kind: str, star: str, text: str, index: int) -> tuple[str, Macro | None, int] | None:
    """Parse the definition whose command ends at ``index``: (name, macro or None if unusable, end)."""
    named = _read_name(text, index)
    if named is None:
        return None
    name, index = named
    if kind in ("def", "gdef", "edef", "xdef"):
        params = re.compile(r"[^{]*").match(text, index)
        param_text = params.group(0) if params else ""
        body = read_group(text, index + len(param_text))
        if body is None:
            return None
        simple = re.fullmatch(r"(?:#[1-9])*", param_text.strip())
        macro = Macro(param_text.count("#"), None, body[0]) if simple else None
        return name, macro, body[1]
    nargs, default = 0, None
    count = read_group(text, index, "[", "]")
    if count is not None:
        nargs, index = int(count[0]) if count[0].strip().isdigit() else 0, count[1]
        optional = read_group(text, index, "[", "]")
        if optional is not None:
            default, index = optional
    body = read_group(text, index)
    if body is None:
        return None
    if kind in ("newenvironment", "renewenvironment"):
        end = read_group(text, body[1])
        return name, None, end[1] if end else body[1]
    if kind == "DeclareMathOperator":
        return name, Macro(0, None, f"\\operatorname{star}{{{body[0]}}}"), body[1]
    return name, Macro(nargs, default, body[0]), body[1]


def extract_macros(text: str) -> tuple[str, dict[str, Macro]]:
    """Remove macro and environment definitions from LaTeX source and return the expandable ones.

    Args:
        text: LaTeX source without comments.

    Returns:
        The source without the definitions, and the macros by name (without backslash).
    """
    macros: dict[str, Macro] = {}
    out: list[str] = []
    position = 0
    for match in _DEFINITION_RE.finditer(text):
        if match.start() < position:
            continue
        parsed = _parse_one(match.group(1), match.group(2), text, match.end())
        if parsed is None:
            continue
        name, macro, end = parsed
        usable = macro is not None and name not in _PROTECTED and re.fullmatch(r"[a-zA-Z@]+", name)
        if usable and macro is not None and (match.group(1) != "providecommand" or name not in macros):
            macros[name] = macro
        out.append(text[position : match.start()])
        position = end
    out.append(text[position:])
    return "".join(out), macros


def _read_argument(text: str, index: int) -> tuple[str, int]:
    group = read_group(text, index)
    if group is not None:
        return group
    token = re.compile(r"\s*(\\[a-zA-Z@]+|\\.|.)", re.DOTALL).match(text, index)
    return (token.group(1), token.end()) if token else ("", index)


def _substitute(body: str, args: list[str]) -> str:
    """Put the arguments in place of ``#1``…``#9`` (``##`` stands for a literal ``#``)."""

    def argument(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return args[number - 1] if number <= len(args) else ""

    return re.sub(r"#([1-9])", argument, body).replace("##", "#")


def _expand_once(text: str, macros: dict[str, Macro], pattern: re.Pattern[str]) -> str:
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() < position:
            continue
        macro = macros[match.group(1)]
        index = match.end()
        args: list[str] = []
        for number in range(macro.nargs):
            optional = read_group(text, index, "[", "]") if number == 0 and macro.default is not None else None
            if optional is not None:
                arg, index = optional
            elif number == 0 and macro.default is not None:
                arg = macro.default
            else:
                arg, index = _read_argument(text, index)
            args.append(arg)
        body = _substitute(macro.body, args)
        out.append(text[position : match.start()])
        out.append(body)
        position = index
    out.append(text[position:])
    return "".join(out)


def expand_macros(text: str, macros: dict[str, Macro]) -> str:
    """Expand author macros until none is left (at most ten passes, to stop recursive definitions).

    Args:
        text: LaTeX source with the definitions already removed.
        macros: the macros from ``extract_macros``.

    Returns:
        The source with every usable macro expanded.
    """
    if not macros:
        return text
    names = sorted(macros, key=len, reverse=True)
    pattern = re.compile(r"\\(" + "|".join(re.escape(name) for name in names) + r")(?![a-zA-Z@])")
    limit = 10 * len(text) + 1_000_000
    for _ in range(_MAX_PASSES):
        expanded = _expand_once(text, macros, pattern)
        if expanded == text or len(expanded) > limit:
            break
        text = expanded
    return text
