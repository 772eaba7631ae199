"""A finding of the static checks (``papercoder.repo.checks``): its kind, file, line and message."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Kinds of finding that leave a run "done-with-problems" when they remain after the repair round; ``misdirected`` is
# found in coding (an answer headed for another file than the one asked, see ``papercoder.parsing.file_header``).
PROBLEM_KINDS = frozenset({"syntax", "empty", "import", "misdirected"})


@dataclass(frozen=True)
class Finding:
    """One finding: its kind (syntax, empty, import, config, requirements, misdirected), file, line (1-based, or
    None) and message."""

    kind: str
    path: str
    line: int | None
    message: str

    @property
    def matters(self) -> bool:
        """Whether the finding is a problem that keeps the run from being plainly ``done``."""
        return self.kind in PROBLEM_KINDS

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict."""
        return asdict(self)
