"""Paper ingestion: read a paper in any supported format into a ``Paper`` and fit it to a token budget."""

from __future__ import annotations

from papercoder.paper.budget import fit_paper
from papercoder.paper.ingest import SUPPORTED, load_paper
from papercoder.paper.model import Paper, Section
from papercoder.paper.tokens import count_tokens

__all__ = ["SUPPORTED", "Paper", "Section", "count_tokens", "fit_paper", "load_paper"]
