"""The run directory: where every artifact of a run lives, and the manifest that records it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from papercoder.fsutil import Flusher, atomic_write_json, atomic_write_text, disk_errors
from papercoder.llm.base import ChatModel, Usage
from papercoder.llm.pricing import cost_usd
from papercoder.llm.registry import ModelChoice
from papercoder.llm.urls import redact, safe_url
from papercoder.rundir_lock import held_elsewhere
from papercoder.settings import PaperInfo, RunSettings

# ``interrupted``: the manifest says ``running`` but no live process holds the run dir (it was killed).
StageStatus = Literal["pending", "running", "done", "failed", "skipped", "interrupted"]


class StageRecord(BaseModel):
    """What one stage did: status, wall time, calls, tokens and cost."""

    status: StageStatus = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    wall_s: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    error: str | None = None


class ModelInfo(BaseModel):
    """The model of a run. Holds the name of the key's variable, never the key."""

    name: str = ""
    provider: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int | None = None

    @field_validator("base_url")
    @classmethod
    def _without_credentials(cls, url: str | None) -> str | None:
        # Whoever builds the record (or an older manifest read back), credentials never reach manifest.json.
        return safe_url(url) if url else url

    @classmethod
    def of(cls, choice: ModelChoice, model: ChatModel) -> ModelInfo:
        """The record of the model ``choice`` names, built as ``model``."""
        return cls(
            name=choice.name,
            provider=choice.provider,
            base_url=choice.base_url,
            api_key_env=choice.api_key_env,
            context_window=model.context_window,
        )


class Manifest(BaseModel):
    """Everything a later command (resume, report, eval) needs to know about a run."""

    papercoder_version: str = ""
    created_at: str = ""
    updated_at: str = ""
    status: Literal["running", "done", "done-with-problems", "failed", "interrupted"] = "running"
    paper: PaperInfo = Field(default_factory=PaperInfo)
    model: ModelInfo = Field(default_factory=ModelInfo)
    settings: RunSettings = Field(default_factory=RunSettings)
    # In the method's order (``papercoder._engine.METHODS``): the report and the summary table show them so.
    stages: dict[str, StageRecord] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    # repo/ as the pipeline last wrote it (path → sha256): a file that differs now was changed afterwards (by
    # ``papercoder debug`` or by hand), and a later ``run`` keeps it rather than rewrite it from the call cache.
    repo_sha256: dict[str, str] = Field(default_factory=dict)
    paper_fit: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # The problems that remain after the repair round (status done-with-problems), one line each.
    problems: list[str] = Field(default_factory=list)
    error: str | None = None

    def total_usage(self) -> Usage:
        total = Usage()
        for record in self.stages.values():
            total = total + record.usage
        return total

    def total_cost(self) -> float | None:
        costs = [r.cost_usd for r in self.stages.values()]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


def settle_status(manifest: Manifest, root: Path) -> Manifest:
    """Mark a run that says ``running`` while no other live process holds its directory (see ``rundir_lock``)
    as ``interrupted``, with the stage it was in; a process holding the lock itself left nothing running."""
    if manifest.status == "running" and not held_elsewhere(root):
        manifest.status = "interrupted"
        for record in manifest.stages.values():
            if record.status == "running":
                record.status = "interrupted"
    return manifest


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunDir:
    """Paths of a run directory and atomic writes into it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paper = root / "paper"
        self.planning = root / "planning"
        self.analysis = root / "analysis"
        self.coding = root / "coding"
        self.calls = root / "calls"
        self.repo = root / "repo"
        self.manifest_path = root / "manifest.json"
        self.lock_path = root / ".lock"
        # Told of each file ``write`` wrote (its path relative to the root): the engine turns it into an event.
        self.on_write: Callable[[str], None] | None = None
        # Artifacts are put on disk together, by the next durable manifest save (``fsutil.Flusher``).
        self.flusher = Flusher()

    def create(self) -> None:
        for folder in (self.paper, self.planning, self.analysis, self.coding, self.calls, self.repo):
            with disk_errors(folder):
                folder.mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        atomic_write_text(path, text, self.flusher)
        if self.on_write is not None:
            self.on_write(relative)
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def load_manifest(self) -> Manifest | None:
        """The manifest (None when absent or unreadable), a dead run's ``running`` shown as ``interrupted``."""
        if not self.manifest_path.is_file():
            return None
        try:
            manifest = Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            return None
        return settle_status(manifest, self.root)

    def save_manifest(self, manifest: Manifest, *, durable: bool = True) -> None:
        """Write the manifest; ``durable``: once every file written before it is on disk, and itself too, so a
        stage it records as done has its files (else it is flushed with the next durable save, like an artifact: a
        progress save after each call, which a killed process leaves all the same)."""
        manifest.updated_at = now_iso()
        # A safety net: errors quote servers and URLs; key shapes and URL credentials never reach the file.
        manifest.error = redact(manifest.error) if manifest.error else manifest.error
        for record in manifest.stages.values():
            record.error = redact(record.error) if record.error else record.error
        if durable:
            self.flusher.wait()
        atomic_write_json(self.manifest_path, manifest.model_dump(mode="json"), None if durable else self.flusher)


class StageClock:
    """Times a stage and adds each call's usage and cost to its record."""

    def __init__(self, record: StageRecord, model_name: str, stage: str = "") -> None:
        self.record = record
        self.model_name = model_name
        self.stage = stage
        self._t0 = 0.0
        self._before = 0.0

    def start(self) -> None:
        """Begin (or resume) the stage: call counters restart, since a resumed stage re-counts its cached answers;
        the wall time goes on from what the record holds, since the time spent before an interruption was really
        spent (a record of a run with other inputs is a new one, at 0)."""
        self.record.status = "running"
        self.record.started_at = now_iso()
        self.record.error = None
        self.record.calls = 0
        self.record.cached_calls = 0
        self.record.usage = Usage()
        self.record.cost_usd = 0.0
        self._before = self.record.wall_s
        self._t0 = time.monotonic()

    def tick(self) -> None:
        """Bring ``wall_s`` up to now, so a manifest saved mid-stage (and left by a killed run) holds the time."""
        self.record.wall_s = round(self._before + time.monotonic() - self._t0, 3)

    def add(self, usage: Usage, from_cache: bool) -> float | None:
        """Count one answer; its cost (None when the model's price is unknown). Usage and cost are what the answer
        cost when it was made, cached or not, so a resumed run records the same totals as an uninterrupted one;
        ``cached_calls`` says how many were served from cache."""
        self.tick()
        self.record.calls += 1
        if from_cache:
            self.record.cached_calls += 1
        self.record.usage = self.record.usage + usage
        cost = cost_usd(self.model_name, usage)
        if cost is None or self.record.cost_usd is None:
            self.record.cost_usd = None
        else:
            self.record.cost_usd += cost
        return cost

    def finish(self, status: StageStatus, error: str | None = None) -> None:
        self.record.status = status
        self.record.finished_at = now_iso()
        self.tick()
        self.record.error = error
