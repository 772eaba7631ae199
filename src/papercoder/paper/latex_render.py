"""Rendering parsed LaTeX (pylatexenc nodes) as Markdown that keeps the math as LaTeX.

pylatexenc parses the source (nested braces, environments, math, ``\\verb``) and its ``LatexNodes2Text``
already turns accents, dashes and quotes into text; this subclass adds what a paper-reading model needs:
section markers with LaTeX's own numbering, resolved ``\\ref``s, display math as ``$$…$$``, tables as
Markdown tables, figure and table captions, lists, footnotes, and algorithms kept verbatim.
"""

from __future__ import annotations

import re
from typing import Any

from pylatexenc import latexwalker  # type: ignore[import-untyped]
from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

from papercoder.paper import latex_specs as specs
from papercoder.paper.tables import rows_to_markdown

SECTION_MARK = "\x00S{level}\x01{title}\x00"
APPENDIX_MARK = "\x00APPENDIX\x00"


def _verbatim(nodes: list[Any]) -> str:
    return "".join(node.latex_verbatim() for node in nodes if node is not None)


def _arg(node: Any, index: int) -> Any:
    args = node.nodeargd.argnlist if node.nodeargd is not None else []
    return args[index] if -len(args) <= index < len(args) else None


def _raw(node: Any) -> str:
    """The source text of an argument node, without its braces."""
    if node is None:
        return ""
    if node.isNodeType(latexwalker.LatexGroupNode):
        return _verbatim(node.nodelist)
    return str(node.latex_verbatim())


def _split_rows(math: str) -> list[str]:
    """Split an align-like body at top-level ``\\\\`` row breaks."""
    rows, depth, start, index = [], 0, 0, 0
    while index < len(math):
        char = math[index]
        if char == "\\" and math.startswith("\\\\", index) and depth == 0:
            rows.append(math[start:index])
            index += 2
            optional = re.compile(r"\s*\[[^\]]*\]").match(math, index)
            index = optional.end() if optional else index
            start = index
            continue
        if char == "\\":
            index += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    rows.append(math[start:])
    return [row for row in rows if row.strip()]


class LatexRenderer(LatexNodes2Text):  # type: ignore[misc]
    """One rendering pass; pass the previous pass's ``found_labels`` as ``labels`` to resolve ``\\ref``."""

    def __init__(self, labels: dict[str, tuple[str, str]] | None = None, verbatims: list[str] | None = None):
        super().__init__(math_mode="verbatim", keep_comments=False)
        self.labels = labels or {}
        self.verbatims = verbatims or []
        self.found_labels: dict[str, tuple[str, str]] = {}
        self.counters = [0, 0, 0, 0]
        self.floats = {"figure": 0, "table": 0, "equation": 0, "algorithm": 0}
        self.targets: list[tuple[str, str]] = [("section", "")]
        self.appendix = False
        self.abstract = ""
        self.citations = 0
        self.unresolved_refs = 0
        self.figures = 0

    # -- macros -------------------------------------------------------------------------------------------
    def macro_node_to_text(self, node: Any) -> str:
        name = node.macroname
        if name in specs.LEVELS:
            return self._section(node, specs.LEVELS[name])
        if name in ("paragraph", "subparagraph"):
            return f"\n\n**{self._arg_text(node, -1)}** "
        if name == "label":
            self.found_labels[_raw(_arg(node, 0)).strip()] = self.targets[-1]
            return ""
        if name in specs.REFS:
            return self._ref(node)
        if name in specs.DROP_CITES:
            self.citations += 1
            return ""
        if name in specs.TEXT_CITES:
            self.citations += 1
            return "prior work"
        if name == "footnote":
            return f" (footnote: {self._arg_text(node, -1).strip()})"
        if name == "url":
            return _raw(_arg(node, 0))
        if name == "href":
            return self._arg_text(node, 1)
        if name == "appendix":
            self.appendix, self.counters = True, [0, 0, 0, 0]
            return f"\n\n{APPENDIX_MARK}\n\n"
        if name == "\\":
            return "\n"
        if name == "pcverbatim":
            return self._verbatim_block(int(_raw(_arg(node, 0)) or 0))
        if name in ("multicolumn", "multirow", "resizebox", "scalebox", "makecell"):
            return self._arg_text(node, -1)
        if name in specs.SILENT:
            return ""
        if name in specs.TEXT_MACROS:
            return specs.TEXT_MACROS[name]
        return str(super().macro_node_to_text(node))

    def _arg_text(self, node: Any, index: int) -> str:
        arg = _arg(node, index)
        return "" if arg is None else str(self._groupnodecontents_to_text(arg)).strip()

    def _section(self, node: Any, level: int) -> str:
        starred = _arg(node, 0) is not None and _raw(_arg(node, 0)) == "*"
        title = re.sub(r"\s+", " ", self._arg_text(node, -1))
        number = ""
        if not starred and level >= 1:
            self.counters[level - 1] += 1
            self.counters[level:] = [0] * (len(self.counters) - level)
            parts = [str(count) for count in self.counters[:level]]
            if self.appendix:
                parts[0] = chr(ord("A") + self.counters[0] - 1) if self.counters[0] <= 26 else parts[0]
            number = ".".join(parts)
        self.targets[0] = ("section", number)
        heading = f"{number} {title}" if number else title
        return "\n\n" + SECTION_MARK.format(level=max(level, 1), title=heading) + "\n\n"

    def _ref(self, node: Any) -> str:
        keys = [key.strip() for key in _raw(_arg(node, -1)).split(",") if key.strip()]
        found = [self.labels[key] for key in keys if key in self.labels and self.labels[key][1]]
        if not found:
            self.unresolved_refs += 1
            return ""
        numbers = ", ".join(number for _, number in found)
        if node.macroname == "eqref":
            return f"({numbers})"
        if node.macroname in ("cref", "Cref", "autoref", "Autoref"):
            return f"{specs.KIND_WORDS.get(found[0][0], '')} {numbers}".strip()
        return numbers

    def _verbatim_block(self, index: int) -> str:
        if not 0 <= index < len(self.verbatims):
            return ""
        return f"\n\n```\n{self.verbatims[index].strip(chr(10))}\n```\n\n"

    # -- environments ---------------------------------------------------------------------------------------
    def environment_node_to_text(self, node: Any) -> str:
        name = node.environmentname
        if name == "abstract":
            self.abstract = str(self.nodelist_to_text(node.nodelist))
            return ""
        if name in specs.MATH_ENVS:
            return self._display_math(name, _verbatim(node.nodelist))
        if name in specs.TABULARS:
            return self._table(node.nodelist)
        if name in specs.LISTS:
            return self._list(node)
        if name in ("figure", "figure*", "wrapfigure"):
            return self._float(node, "figure")
        if name in ("table", "table*", "wraptable"):
            return self._float(node, "table")
        if name in ("algorithm", "algorithm*"):
            return self._float(node, "algorithm")
        if name.startswith("algorithmic"):
            return f"\n\n```latex\n{_verbatim(node.nodelist).strip()}\n```\n\n"
        if name in specs.THEOREMS:
            label = self._arg_text(node, 0)
            heading = name.capitalize() + (f" ({label})" if label else "")
            return f"\n\n**{heading}.** {self.nodelist_to_text(node.nodelist).strip()}\n\n"
        if name in specs.DISCARD_ENVS:
            return ""
        return str(super().environment_node_to_text(node))

    def _captions(self, nodes: list[Any]) -> list[str]:
        captions: list[str] = []
        for node in nodes:
            if node is None:
                continue
            if node.isNodeType(latexwalker.LatexMacroNode) and node.macroname in ("caption", "subcaption"):
                captions.append(re.sub(r"\s+", " ", self._arg_text(node, -1)))
            elif node.isNodeType(latexwalker.LatexMacroNode) and node.macroname == "label":
                self.found_labels[_raw(_arg(node, 0)).strip()] = self.targets[-1]
            elif hasattr(node, "nodelist") and node.nodelist:
                captions.extend(self._captions(node.nodelist))
        return captions

    def _float(self, node: Any, kind: str) -> str:
        self.floats[kind] += 1
        number = str(self.floats[kind])
        self.targets.append((kind, number))
        try:
            caption = " ".join(self._captions(node.nodelist))
            heading = f"{kind.capitalize()} {number}: {caption}".strip().rstrip(":")
            if kind == "figure":
                self.figures += 1
                return f"\n\n{heading}\n\n"
            if kind == "algorithm":
                body = re.sub(
                    r"\\(caption|label)\s*(\[[^\]]*\])?\{[^{}]*(\{[^{}]*\}[^{}]*)*\}",
                    "",
                    _verbatim(node.nodelist),
                )
                return f"\n\n{heading}\n\n```latex\n{body.strip()}\n```\n\n"
            return f"\n\n{heading}\n\n{self.nodelist_to_text(node.nodelist).strip()}\n\n"
        finally:
            self.targets.pop()

    def _display_math(self, name: str, body: str) -> str:
        numbered = not name.endswith("*") and name not in ("displaymath", "math")
        rows = _split_rows(body) if name.rstrip("*") not in ("equation", "displaymath", "math") else [body]
        numbers: list[str] = []
        clean_rows: list[str] = []
        for row in rows:
            labels = re.findall(r"\\label\s*\{([^}]*)\}", row)
            skip = re.search(r"\\(nonumber|notag)\b", row) is not None
            if numbered and not skip:
                self.floats["equation"] += 1
                numbers.append(str(self.floats["equation"]))
            for label in labels:
                self.found_labels[label.strip()] = ("equation", numbers[-1] if numbers and not skip else "")
            clean_rows.append(re.sub(r"\\label\s*\{[^}]*\}|\\(nonumber|notag)\b", "", row).strip())
        if len(clean_rows) > 1:
            environment = "gathered" if name.startswith(("gather", "multline")) else "aligned"
            inner = f"\\begin{{{environment}}}\n" + " \\\\\n".join(clean_rows) + f"\n\\end{{{environment}}}"
        else:
            inner = clean_rows[0] if clean_rows else ""
        tag = f" ({', '.join(numbers)})" if numbers else ""
        return f"\n\n$$\n{inner.strip()}\n$${tag}\n\n"

    def math_node_to_text(self, node: Any) -> str:
        if node.isNodeType(latexwalker.LatexEnvironmentNode):
            return self._display_math(node.environmentname, _verbatim(node.nodelist))
        inner = _verbatim(node.nodelist)
        if node.displaytype == "display":
            return self._display_math("displaymath", inner)
        return f"${inner.strip()}$"

    def _list(self, node: Any) -> str:
        items: list[tuple[Any, list[Any]]] = []
        for child in node.nodelist:
            if child is not None and child.isNodeType(latexwalker.LatexMacroNode) and child.macroname == "item":
                items.append((child, []))
            elif items:
                items[-1][1].append(child)
        lines: list[str] = []
        for number, (item, content) in enumerate(items, start=1):
            label = self._arg_text(item, 0)
            text = str(self.nodelist_to_text(content)).strip()
            text = re.sub(r"\n\s*\n", "\n", text).replace("\n", "\n   ")
            if node.environmentname.startswith(("enumerate", "compactenum", "inparaenum")):
                bullet = f"{number}."
            else:
                bullet = "-"
            lines.append(f"{bullet} **{label}** {text}" if label else f"{bullet} {text}")
        return "\n\n" + "\n".join(lines) + "\n\n"

    def _table(self, nodes: list[Any]) -> str:
        rows: list[list[list[Any]]] = [[[]]]
        for node in nodes:
            if node is not None and node.isNodeType(latexwalker.LatexSpecialsNode) and node.specials_chars == "&":
                rows[-1].append([])
            elif (
                node is not None
                and node.isNodeType(latexwalker.LatexMacroNode)
                and node.macroname
                in (
                    "\\",
                    "tabularnewline",
                )
            ):
                rows.append([[]])
            else:
                rows[-1][-1].append(node)
        table: list[list[str]] = []
        for row in rows:
            cells: list[str] = []
            for cell in row:
                cells.append(str(self.nodelist_to_text(cell)))
                span = next((n for n in cell if n is not None and n.isNodeType(latexwalker.LatexMacroNode)), None)
                if span is not None and span.macroname == "multicolumn" and _raw(_arg(span, 0)).strip().isdigit():
                    cells.extend([""] * (int(_raw(_arg(span, 0))) - 1))
            table.append(cells)
        markdown = rows_to_markdown(table)
        return f"\n\n{markdown}\n\n" if markdown else ""
