"""Fitting a paper into a model's context window by dropping the least useful parts first.

Order: references → appendix sections (last first) → related work → trimming the longest sections at
sentence boundaries (all of them down to a common length) → removing sections that hold only the trim
marker → trimming the abstract. The title is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from papercoder.errors import BudgetExceeded
from papercoder.paper import sections as sec
from papercoder.paper.model import Paper, Section
from papercoder.paper.tokens import count_tokens

TRIM_MARKER = "[… trimmed to fit the context window …]"
_BOUNDARY_RE = re.compile(r"(?<=[.!?:;])[\"')\]]*\s+|\n\s*\n")
# Tables, display math and code are kept whole or cut whole, never sliced through the middle.
_BLOCK_RE = re.compile(r"```.*?```|\$\$.*?\$\$|(?:^\|.*\n?)+", re.DOTALL | re.MULTILINE)
_MAX_ROUNDS = 40

Counter = Callable[[str], int]


def _subtree_end(sections: list[Section], index: int) -> int:
    """Index just past ``sections[index]`` and its subsections (the deeper headings that follow it)."""
    end = index + 1
    while end < len(sections) and sections[end].level > sections[index].level:
        end += 1
    return end


def _trimmed(prefix: str) -> str:
    prefix = prefix.rstrip()
    return f"{prefix}\n\n{TRIM_MARKER}" if prefix else TRIM_MARKER


def _largest_fitting(text: str, cuts: list[int], target: int, count: Counter) -> int | None:
    """The longest cut position whose trimmed prefix fits ``target`` tokens (binary search), if any."""
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if count(_trimmed(text[: cuts[middle]])) <= target:
            best, low = cuts[middle], middle + 1
        else:
            high = middle - 1
    return best


def trim_text(text: str, target: int, count: Counter = count_tokens) -> str:
    """Cut text at a paragraph or sentence boundary (a word boundary if need be) so that it, plus the trim
    marker, fits ``target`` tokens. Markdown tables, ``$$`` math and code fences are never cut inside.

    Args:
        text: the text to shorten.
        target: the token budget for the result.
        count: the token counter.

    Returns:
        The shortened text ending in the trim marker, or just the marker when nothing else fits.
    """
    if count(text) <= target:
        return text
    blocks = [(m.start(), m.end()) for m in _BLOCK_RE.finditer(text)]

    def outside_blocks(position: int) -> bool:
        return not any(start < position < end for start, end in blocks)

    sentence_cuts = sorted({m.start() for m in _BOUNDARY_RE.finditer(text) if outside_blocks(m.start())})
    best = _largest_fitting(text, sentence_cuts, target, count)
    if best is None:
        word_cuts = [m.start() for m in re.finditer(r"\s+", text) if outside_blocks(m.start())]
        best = _largest_fitting(text, word_cuts, target, count)
    return _trimmed(text[:best]) if best else TRIM_MARKER


def _water_level(sizes: list[int], excess: int) -> int:
    """The largest common length L such that cutting every size above L down to L saves ``excess``."""
    low, high = 0, max(sizes)
    while low < high:
        level = (low + high + 1) // 2
        if sum(max(0, size - level) for size in sizes) >= excess:
            low = level
        else:
            high = level - 1
    return low


class _Fitter:
    def __init__(self, paper: Paper, max_tokens: int, count: Counter) -> None:
        self.paper = paper
        self.max_tokens = max_tokens
        self.count = count
        self.steps: list[str] = []

    def total(self) -> int:
        return self.count(self.paper.markdown())

    def fits(self) -> bool:
        return self.total() <= self.max_tokens

    def drop(self, start: int, end: int, label: str) -> None:
        before = self.total()
        del self.paper.sections[start:end]
        self.steps.append(f"dropped {label} ({before - self.total()} tokens)")

    def drop_references(self) -> None:
        index = 0
        while index < len(self.paper.sections) and not self.fits():
            section = self.paper.sections[index]
            if sec.is_references(section.title):
                self.drop(index, _subtree_end(self.paper.sections, index), "references")
            else:
                index += 1

    def drop_appendix(self) -> None:
        start = sec.appendix_start(self.paper.sections)
        while start is not None and len(self.paper.sections) > start and not self.fits():
            last = len(self.paper.sections) - 1
            # The bare "Appendix" heading goes together with the last appendix section under it.
            first = start if last == start + 1 and not self.paper.sections[start].text.strip() else last
            self.drop(first, last + 1, f"appendix: {self.paper.sections[last].title}")

    def drop_related_work(self) -> None:
        index = 0
        while index < len(self.paper.sections) and not self.fits():
            section = self.paper.sections[index]
            if sec.is_related_work(section.title):
                self.drop(index, _subtree_end(self.paper.sections, index), f"related work: {section.title}")
            else:
                index += 1

    def trim_sections(self) -> None:
        sections = self.paper.sections
        original = {id(s): self.count(s.text) for s in sections}
        for _ in range(_MAX_ROUNDS):
            excess = self.total() - self.max_tokens
            open_sections = [s for s in sections if s.text.strip() and s.text.strip() != TRIM_MARKER]
            if excess <= 0 or not open_sections:
                break
            sizes = [self.count(s.text) for s in open_sections]
            level = _water_level(sizes, excess)
            for section, size in zip(open_sections, sizes, strict=True):
                if size > level:
                    section.text = trim_text(section.text, level, self.count)
        for section in sections:
            after = self.count(section.text)
            if after < original[id(section)]:
                self.steps.append(f"trimmed section '{section.title}' from {original[id(section)]} to {after} tokens")

    def drop_marker_sections(self) -> None:
        while self.paper.sections and not self.fits():
            title = self.paper.sections[-1].title
            self.drop(len(self.paper.sections) - 1, len(self.paper.sections), f"section '{title}' (no room left)")

    def trim_abstract(self) -> None:
        before = self.count(self.paper.abstract)
        for _ in range(_MAX_ROUNDS):
            excess = self.total() - self.max_tokens
            if excess <= 0 or not self.paper.abstract:
                break
            size = self.count(self.paper.abstract)
            shorter = trim_text(self.paper.abstract, max(size - excess, 0), self.count)
            # When only the marker is left and it still does not fit, the abstract has to go entirely.
            self.paper.abstract = "" if shorter == self.paper.abstract else shorter
        after = self.count(self.paper.abstract)
        if after < before:
            self.steps.append(f"trimmed abstract from {before} to {after} tokens")


def fit_paper(paper: Paper, max_tokens: int, count: Counter = count_tokens) -> tuple[Paper, list[str]]:
    """Return a copy of the paper whose ``markdown()`` fits ``max_tokens``, and the steps taken.

    Steps read like "dropped references (1234 tokens)", "dropped appendix: A Proofs (310 tokens)",
    "dropped related work: 2 Related Work (450 tokens)" or "trimmed section '5 Experiments' from 3000 to
    1200 tokens". Trimmed text ends in ``TRIM_MARKER``. The input paper is not modified; the steps are also
    appended to the copy's ``dropped`` list.

    Args:
        paper: the paper to fit.
        max_tokens: the budget for ``paper.markdown()``.
        count: the token counter (``count_tokens`` by default; tests pass a word counter).

    Returns:
        The fitted copy and the list of steps (empty when the paper already fits).

    Raises:
        ValueError: ``max_tokens`` is not positive.
        BudgetExceeded: even the title alone does not fit.
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    fitter = _Fitter(paper.model_copy(deep=True), max_tokens, count)
    for stage in (
        fitter.drop_references,
        fitter.drop_appendix,
        fitter.drop_related_work,
        fitter.trim_sections,
        fitter.drop_marker_sections,
        fitter.trim_abstract,
    ):
        if fitter.fits():
            break
        stage()
    if not fitter.fits():
        raise BudgetExceeded(
            f"a context of {max_tokens} tokens cannot hold even the paper's title ({fitter.total()} tokens): "
            "raise the context size"
        )
    fitter.paper.dropped.extend(fitter.steps)
    return fitter.paper, fitter.steps
