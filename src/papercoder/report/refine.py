"""The report's refine section: the score per round and a leaf table, from ``RUN_DIR/refine/`` (a loader of its
own and the ``refine.html.j2`` partial, so the rest of the report does not depend on refine)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LeafRow:
    id: str
    requirement: str
    section: str
    verdicts: list[int]
    files: list[tuple[str, str]]  # (path, anchor in the report)


@dataclass(frozen=True)
class RefineView:
    label: str
    derived: bool
    scores: list[float]
    stopped: str
    rolled_back: list[str]
    leaves: list[LeafRow] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)


def load_refine(root: Path, anchor: Callable[[str], str]) -> RefineView | None:
    """The refine records of ``root``, or None when refine never finished there (or its summary is unreadable)."""
    try:
        data = json.loads((root / "refine" / "summary.json").read_text(encoding="utf-8"))
        rows = [
            LeafRow(
                str(leaf["id"]),
                str(leaf["requirement"]),
                str(leaf.get("section") or ""),
                [int(v) for v in leaf["verdicts"]],
                [(str(p), anchor(str(p))) for p in leaf.get("files", [])],
            )
            for leaf in data["leaves"]
        ]
        rounds = []
        for folder in sorted((root / "refine").glob("round-*")):
            record = json.loads((folder / "round.json").read_text(encoding="utf-8"))
            files = [
                {"file": e.get("file"), "status": e.get("status"), "reason": e.get("reason", "")}
                for e in record["files"]
            ]
            rounds.append({"name": folder.name, "files": files})
        return RefineView(
            label=str(data["label"]),
            derived=bool(data["derived"]),
            scores=[float(s) for s in data["scores"]],
            stopped=str(data["stopped"]),
            rolled_back=[str(x) for x in data.get("rolled_back", [])],
            leaves=rows,
            rounds=rounds,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
