"""Finding headings in plain text (pypdf output, ``.txt`` papers) and turning them into Markdown headings.

Plain text has no fonts, so headings are recognised by shape: a numbered line such as
"3 Model Architecture" or "3.2.1 Scaled Dot-Product Attention" whose number follows the previous heading's,
or a line that is exactly a conventional name ("Abstract", "References", "Acknowledgements", "Appendix A").
"""

from __future__ import annotations

import re

_NUMBERED_RE = re.compile(r"^([0-9]{1,2}(?:\.[0-9]{1,2}){0,3})\.?\s+([A-Z][^\n]{1,90})$")
_NAMED_RE = re.compile(
    r"^(abstract|references|bibliography|acknowledge?ments?|appendix(?:\s+[A-Z0-9][^\n]{0,60})?|appendices|"
    r"supplementary material)\s*:?$",
    re.IGNORECASE,
)
_LETTER_RE = re.compile(r"^([A-H](?:\.[0-9]{1,2}){0,2})\.?\s+([A-Z][^\n]{1,80})$")


def _title_like(text: str) -> bool:
    """Whether the text after a section number reads like a heading rather than a sentence or table row."""
    words = text.split()
    if not 1 <= len(words) <= 12 or (text.endswith((".", ",", ";", ":")) and not text.endswith("et al.")):
        return False
    if len(re.findall(r"(?<![\w.])\d+(?:\.\d+)?%?(?![\w.])", text)) >= 2:
        return False  # "BLEU 27.3 28.4": a table row
    digits = sum(ch.isdigit() for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 3 and digits <= 0.25 * len(text) and not re.search(r"\s=\s|[=<>]", text)


def _follows(previous: tuple[int, ...] | None, number: tuple[int, ...]) -> bool:
    """Whether ``number`` can be the next heading after ``previous`` (allowing one missed heading)."""
    if previous is None:
        return number[0] <= 2 and all(part == 1 for part in number[1:])
    for depth in range(len(number)):
        head = number[:depth]
        if head != previous[:depth]:
            return False
        previous_part = previous[depth] if depth < len(previous) else 0
        if number[depth] != previous_part:
            step = number[depth] - previous_part
            return 1 <= step <= 2 and all(part == 1 for part in number[depth + 1 :])
    return False


def plain_to_markdown(text: str, *, first_line_title: bool = False) -> str:
    """Mark numbered and conventionally named heading lines of plain text as Markdown headings.

    Args:
        text: plain text, one visual line per line.
        first_line_title: make the first non-empty line the ``#`` title (for ``.txt`` papers).

    Returns:
        Markdown: headings as ``##``/``###``..., everything else unchanged.
    """
    out: list[str] = []
    previous: tuple[int, ...] | None = None
    in_appendix = False
    title_done = not first_line_title
    for line in text.split("\n"):
        stripped = line.strip()
        if not title_done and stripped:
            out.append(f"# {stripped}")
            title_done = True
            continue
        numbered = _NUMBERED_RE.match(stripped)
        letter = _LETTER_RE.match(stripped) if in_appendix else None
        if numbered and _title_like(numbered.group(2)):
            number = tuple(int(part) for part in numbered.group(1).split("."))
            if _follows(previous, number):
                previous = number
                out.extend(["", f"{'#' * min(len(number) + 1, 6)} {stripped}", ""])
                continue
        if letter and _title_like(letter.group(2)):
            out.extend(["", f"{'#' * min(letter.group(1).count('.') + 2, 6)} {stripped}", ""])
            continue
        if _NAMED_RE.match(stripped):
            in_appendix = in_appendix or stripped.lower().startswith(("appendix", "appendices", "references"))
            out.extend(["", f"## {stripped.rstrip(':')}", ""])
            continue
        out.append(line)
    return "\n".join(out)
