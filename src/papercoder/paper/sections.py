"""Heading classification shared by every input format and by the token budget.

Papers name their parts in a few conventional ways ("References", "Appendix A", "2 Related Work"); these
helpers recognise them so that ingestion drops the bibliography and ``fit_paper`` knows what to drop first.
"""

from __future__ import annotations

import re

from papercoder.paper.model import Section

APPENDIX_TITLE = "Appendix"

_NUMBER_PREFIX = r"(?:(?:[0-9]+|[IVX]+|[A-Z])(?:\.[0-9]+)*\.?\s+)?"
_REFERENCES_RE = re.compile(
    _NUMBER_PREFIX + r"(?:references?|bibliography|works cited|literature cited|reference list|citations)\s*:?\s*$",
    re.IGNORECASE,
)
_ABSTRACT_RE = re.compile(r"(?:[0-9]+\.?\s+)?abstract\s*:?\s*$", re.IGNORECASE)
_APPENDIX_RE = re.compile(
    r"(?:appendix|appendices|supplementary material|supplemental material|supplementary information)\b",
    re.IGNORECASE,
)
_RELATED_RE = re.compile(
    r"\b(?:related works?|prior works?|previous works?|literature review|related literature|"
    r"related research)\b",
    re.IGNORECASE,
)
_DIGIT_NUMBERED_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*\.?\s+\S")
# "A Details", "B.2 Proofs", "C: More results": a single capital letter used as a section number.
_LETTER_NUMBERED_RE = re.compile(r"[A-Z](?:\.[0-9]+)*(?:\.|:)?\s+[A-Z0-9]")
_MARKUP_RE = re.compile(r"(\*\*|__|\*|`)")


def clean_heading(text: str) -> str:
    """Strip Markdown emphasis, HTML tags and stray whitespace from a heading's text.

    Args:
        text: the raw heading text, e.g. ``"**3.1 Encoder and Decoder Stacks**"``.

    Returns:
        The plain heading, e.g. ``"3.1 Encoder and Decoder Stacks"``.
    """
    text = re.sub(r"<[^>]+>", "", text)
    text = _MARKUP_RE.sub("", text)
    # Underscores used for italics wrap whole words; keep those inside identifiers such as d_model.
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", "", text)
    return re.sub(r"\s+", " ", text).strip(" #:")


def is_references(title: str) -> bool:
    """Whether a heading names the bibliography ("References", "7 Bibliography", ...)."""
    return bool(_REFERENCES_RE.fullmatch(clean_heading(title)))


def is_abstract(title: str) -> bool:
    """Whether a heading is the abstract's ("Abstract", "ABSTRACT:")."""
    return bool(_ABSTRACT_RE.fullmatch(clean_heading(title)))


def is_appendix_heading(title: str) -> bool:
    """Whether a heading opens the appendix ("Appendix", "Appendix A: Proofs", "Supplementary Material")."""
    return bool(_APPENDIX_RE.match(clean_heading(title)))


def is_related_work(title: str) -> bool:
    """Whether a heading names a related-work survey section."""
    return bool(_RELATED_RE.search(clean_heading(title)))


def is_digit_numbered(title: str) -> bool:
    """Whether a heading starts with a section number such as ``3`` or ``3.2.1``."""
    return bool(_DIGIT_NUMBERED_RE.match(clean_heading(title)))


def appendix_start(sections: list[Section]) -> int | None:
    """Index of the first appendix section, or None when the paper has no recognisable appendix.

    An appendix starts at a heading named like "Appendix ..." or at the first letter-numbered heading
    ("A Details") that comes after at least one digit-numbered heading ("5 Experiments"): the latter
    guard keeps a body section titled "A Simple Baseline" in an unnumbered paper from counting.
    """
    seen_numbered = False
    for index, section in enumerate(sections):
        title = clean_heading(section.title)
        if _APPENDIX_RE.match(title):
            return index
        if _DIGIT_NUMBERED_RE.match(title):
            seen_numbered = True
        elif seen_numbered and section.level <= 1 and _LETTER_NUMBERED_RE.match(title):
            return index
    return None


def mark_appendix(sections: list[Section], start: int) -> list[Section]:
    """Insert an "Appendix" heading before ``sections[start]`` unless one already opens the appendix.

    Everything after that heading is what ``fit_paper`` treats as appendix material.
    """
    if start >= len(sections) or is_appendix_heading(sections[start].title):
        return sections
    marker = Section(title=APPENDIX_TITLE, text="", level=1)
    return [*sections[:start], marker, *sections[start:]]


def normalise_levels(levels: list[int]) -> list[int]:
    """Shift heading depths so that the shallowest becomes level 1 (``[2, 3, 2]`` → ``[1, 2, 1]``)."""
    if not levels:
        return []
    shallowest = min(levels)
    return [max(1, level - shallowest + 1) for level in levels]


def tidy_text(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
