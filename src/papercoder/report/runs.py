"""Find the run directories under a folder and summarise each in one row (``papercoder runs``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from papercoder.errors import InputError
from papercoder.report.load import eval_score, is_run_dir
from papercoder.run_dir import Manifest, settle_status

MAX_DEPTH = 2


@dataclass(frozen=True)
class RunRow:
    """One run: where it is, how it went, what it cost, and its eval scores (``eval/<name>.json`` → score)."""

    name: str
    path: Path
    status: str
    model: str
    files: int
    tokens: int
    cost_usd: float | None
    updated: str
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def score(self) -> float | None:
        """The first score by eval file name (``ref-based`` before ``ref-free`` before ``rubric``), or None."""
        return self.scores[min(self.scores)] if self.scores else None


def find_run_dirs(root: Path, max_depth: int = MAX_DEPTH) -> list[Path]:
    """``root`` itself when it is a run, and the run dirs up to ``max_depth`` levels below it (not inside a run)."""
    found: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        if is_run_dir(folder):
            found.append(folder)
            return
        if depth >= max_depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            walk(child, depth + 1)

    walk(root, 0)
    return found


def _scores(run: Path) -> dict[str, float]:
    scores: dict[str, float] = {}
    folder = run / "eval"
    if not folder.is_dir():
        return scores
    for path in sorted(folder.glob("*.json")):
        try:
            value = eval_score(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if value is not None:
            scores[path.stem] = value
    return scores


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def run_row(run: Path, root: Path) -> RunRow:
    """The row of the run directory ``run``; a manifest that cannot be read gives status ``unreadable``, one left
    ``running`` by a process that died ``interrupted``."""
    rel = run.relative_to(root).as_posix() if run != root else run.resolve().name
    manifest_path = run / "manifest.json"
    try:
        m = settle_status(
            Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8", errors="replace")), run
        )
    except (OSError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        return RunRow(rel, run, "unreadable", "", 0, 0, None, _mtime(manifest_path), _scores(run), reason)
    usage = m.total_usage()
    return RunRow(
        name=rel,
        path=run,
        status=m.status,
        model=m.model.name,
        files=len(m.files),
        tokens=usage.prompt_tokens + usage.completion_tokens,
        cost_usd=m.total_cost(),
        updated=m.updated_at or _mtime(manifest_path),
        scores=_scores(run),
        error=m.error,
    )


def list_runs(root: Path) -> list[RunRow]:
    """The runs under ``root`` (searched two levels deep), most recently updated first.

    ``InputError`` when ``root`` is not a folder.
    """
    if not root.is_dir():
        raise InputError(f"no runs folder at {root}: pass the folder that holds your run directories")
    rows = [run_row(run, root) for run in find_run_dirs(root)]
    return sorted(rows, key=lambda r: (r.updated, r.name), reverse=True)
