"""Which sections of the paper a text cites: "Section 3.2", "Sec. 2", "§4", or a distinctive section title.

Used to link each generated file to the paper sections its analysis and logic rely on (the repository's README,
the report). Pure: titles in, indices out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A section number: 3, 3.2, or an appendix's A.1 (a lone capital is left out: "A Study of..." is no numbering).
_NUMBER = r"\d+(?:\.\d+)*|[A-Z](?:\.\d+)+"
_NUMBERED = re.compile(rf"^\s*(?:section\s+)?(?P<num>{_NUMBER})\.?\s+(?P<name>\S.*)$", re.IGNORECASE)
_CITE = re.compile(rf"(?:\bsections?|\bsec\.|§)\s*(?P<num>{_NUMBER})\b", re.IGNORECASE)
MIN_NAME = 8  # a one-word title shorter than this ("Method", "Results") is too common a word to count as a citation


def split_title(title: str) -> tuple[str | None, str]:
    """``("3.2", "Training")`` from ``"3.2 Training"``; ``(None, title)`` for an unnumbered title."""
    match = _NUMBERED.match(title)
    if match is None:
        return None, title.strip()
    return match.group("num"), match.group("name").strip()


def cited_sections(text: str, titles: Sequence[str]) -> list[int]:
    """The indices of ``titles`` that ``text`` cites, in the paper's order.

    A cited number takes its own section, else the closest numbered parent ("Section 3.2" with only "3" in the
    paper). A title counts by name when it has several words or at least ``MIN_NAME`` letters, as a whole phrase.
    """
    numbers: dict[str, int] = {}
    for i, title in enumerate(titles):
        number, _ = split_title(title)
        if number is not None:
            numbers.setdefault(number.lower(), i)
    found: set[int] = set()
    for match in _CITE.finditer(text):
        parts = match.group("num").lower().split(".")
        for depth in range(len(parts), 0, -1):
            index = numbers.get(".".join(parts[:depth]))
            if index is not None:
                found.add(index)
                break
    lowered = text.lower()
    for i, title in enumerate(titles):
        _, name = split_title(title)
        distinctive = len(name.split()) > 1 or len(name) >= MIN_NAME
        if distinctive and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", lowered):
            found.add(i)
    return sorted(found)
