"""The one in-memory form of a paper, whatever file it came from."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Section(BaseModel):
    """A top-level or nested section: a heading and its Markdown body (without the heading line)."""

    title: str
    text: str
    level: int = 1


class Paper(BaseModel):
    """A parsed paper.

    ``sections`` hold the body in reading order; ``markdown()`` renders what the model reads.
    ``source_format`` is one of ``pdf``, ``latex``, ``markdown``, ``s2orc``; ``dropped`` records what ingestion
    left out on purpose (e.g. "references", "bibliography", "3 cite spans"); ``pages`` is set for PDFs.
    """

    title: str = ""
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    source_path: str = ""
    source_format: str = ""
    pages: int | None = None
    dropped: list[str] = Field(default_factory=list)

    def markdown(self) -> str:
        """Render the paper as Markdown: title, abstract, then every section under a heading of its level."""
        parts: list[str] = []
        if self.title:
            parts.append(f"# {self.title}")
        if self.abstract:
            parts.append(f"## Abstract\n\n{self.abstract.strip()}")
        for section in self.sections:
            hashes = "#" * min(max(section.level, 1) + 1, 6)
            body = section.text.strip()
            parts.append(f"{hashes} {section.title}\n\n{body}" if body else f"{hashes} {section.title}")
        return "\n\n".join(parts).strip() + "\n"
