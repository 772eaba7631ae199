"""``papercoder bench``: every method on every paper of a dataset, judged, summarised as the paper's Table 1.

Dataset layout (``DATASET_DIR``)::

    DATASET_DIR/
      paper-a.pdf            a paper (any supported format) in the group named after DATASET_DIR
      paper-a_gold/          its gold (author) repository; ``paper-a_gold_repo/`` or ``gold/paper-a/`` also work
      iclr2024/              a group (one level of subfolders; e.g. a venue)
        paper-b.md
        gold/paper-b/        gold repository of paper-b
      ...

Files named ``README*``/``LICENSE*``, starting with ``.`` or ``_``, or named ``rubric*`` are not papers; folders
named ``gold`` or ending in ``_gold``/``_gold_repo`` are not groups. Two papers of one group may not share a stem.

Methods: ``papercoder`` (the full pipeline), ``paper`` and ``abstract`` (one-shot baselines), and ``oracle`` (the
gold repository itself, judged reference-free, as in the paper's Oracle row).

Output (``OUT``): one run directory per paper and method at ``OUT/<group>/<paper>/<method>/`` with the judge's
results in its ``eval/<mode>.json`` and the judge's calls cached in ``eval/calls/``; then ``results.md``,
``results.csv`` (one row per method, group and mode), ``papers.csv`` (one row per paper and method) and
``results.json``. Re-running the same command resumes: finished runs and cached calls are reused. A paper that
fails is recorded with its error and does not stop the others. With ``seeds`` > 1 each generating method runs once
per seed into ``.../<method>/seed-<k>/`` (k from 1). Where the jobs run (this process, or Ray tasks) is
``executors.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from papercoder._methods import LADDER
from papercoder._methods import METHODS as ENGINE_METHODS
from papercoder.errors import InputError
from papercoder.evaluation.judge import Mode
from papercoder.settings import PipelineOptions

if TYPE_CHECKING:
    from papercoder.pipeline.debugging import DebugOptions

METHODS = (*ENGINE_METHODS, "oracle")
MODES: tuple[Mode, ...] = ("ref-free", "ref-based")
_PAPER_SUFFIXES = (".pdf", ".tex", ".latex", ".md", ".markdown", ".txt", ".json", ".xml", ".tar.gz", ".tgz")
ProgressFn = Callable[[str, str], None]


def _quiet(stage: str, message: str) -> None:
    return None


@dataclass(frozen=True)
class PaperEntry:
    """One paper of the dataset."""

    group: str
    name: str
    path: Path
    gold: Path | None


@dataclass(frozen=True)
class JobSpec:
    """One unit of work: a method on a paper, with one seed (``None``: the single, unseeded run)."""

    entry: PaperEntry
    method: str
    seed: int | None = None


@dataclass
class BenchConfig:
    """What to run and how to judge it."""

    methods: list[str] = field(default_factory=lambda: ["papercoder", "paper", "abstract"])
    modes: list[Mode] = field(default_factory=lambda: ["ref-free"])
    n: int = 8
    concurrency: int = 2
    judge_concurrency: int = 4
    context_tokens: int | None = None
    judge_reasoning_effort: str | None = None
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    seeds: int = 1  # more than one: each generating method runs once per seed, into <method>/seed-<k>/, k from 1
    debug: DebugOptions | None = None  # set: run and fix each generated repository before judging it
    rpm: float | None = None  # requests a minute per model, shared by every job (and every Ray worker)
    tpm: float | None = None  # tokens a minute per model, likewise


class ModeScore(BaseModel):
    """One paper's judge outcome in one mode."""

    mean: float | None = None
    std: float | None = None
    valid: int = 0
    n: int = 0
    cost_usd: float | None = None
    error: str | None = None
    skipped: str | None = None  # why this mode does not apply (no gold repository; the oracle in ref-based)


class PaperRecord(BaseModel):
    """What one method did on one paper."""

    group: str
    paper: str
    method: str
    run_dir: str
    has_gold: bool = False
    seed: int | None = None
    error: str | None = None
    debug: dict[str, Any] | None = None  # the debug loop's outcome (``--debug``), or {"error": ...}
    tokens: int | None = None
    files: int | None = None
    functions: int | None = None
    scores: dict[str, ModeScore] = Field(default_factory=dict)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tei.xml"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _is_paper(path: Path) -> bool:
    low = path.name.lower()
    if low.startswith((".", "_", "readme", "license", "rubric")):
        return False
    return path.is_file() and low.endswith(_PAPER_SUFFIXES)


def _is_gold_dir(path: Path) -> bool:
    low = path.name.lower()
    return low == "gold" or low.endswith(("_gold", "_gold_repo"))


def _gold_for(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}_gold", folder / f"{stem}_gold_repo", folder / "gold" / stem):
        if candidate.is_dir():
            return candidate
    return None


def discover(dataset: Path) -> list[PaperEntry]:
    """The papers of ``dataset`` (see the module docstring for the layout).

    Raises:
        InputError: the folder is missing, holds no paper, or a group has two papers with one stem.
    """
    if not dataset.is_dir():
        raise InputError(f"dataset folder not found: {dataset}")
    folders = [(dataset.resolve().name, dataset)]
    folders += [
        (p.name, p)
        for p in sorted(dataset.iterdir())
        if p.is_dir() and not p.name.startswith((".", "_")) and not _is_gold_dir(p)
    ]
    entries: list[PaperEntry] = []
    for group, folder in folders:
        seen: dict[str, Path] = {}
        for path in sorted(p for p in folder.iterdir() if _is_paper(p)):
            stem = _stem(path)
            if stem in seen:
                raise InputError(
                    f"{seen[stem].name} and {path.name} in {folder} share the name {stem!r}; keep one file per paper"
                )
            seen[stem] = path
            entries.append(PaperEntry(group, stem, path, _gold_for(folder, stem)))
    if not entries:
        raise InputError(f"no paper found in {dataset} or its subfolders (formats: {', '.join(_PAPER_SUFFIXES)})")
    return entries


def parse_methods(text: str) -> list[str]:
    """``papercoder,paper`` → a checked list of methods."""
    named = [m.strip() for m in text.split(",") if m.strip()]
    methods = [m for name in named for m in (LADDER if name == "ablation" else (name,))]  # the ablation table
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(
            f"--methods {text}: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)} "
            "or ablation"
        )
    return list(dict.fromkeys(methods))


def parse_modes(text: str) -> list[Mode]:
    """``ref-free,ref-based`` → a checked list of judge modes."""
    modes: list[Mode] = []
    for raw in (m.strip() for m in text.split(",") if m.strip()):
        if raw not in MODES:
            raise InputError(f"--eval {text}: {raw!r} is not ref-free or ref-based")
        modes.append("ref-free" if raw == "ref-free" else "ref-based")
    if not modes:
        raise InputError("--eval: name ref-free, ref-based or both")
    return list(dict.fromkeys(modes))


__all__ = [
    "METHODS",
    "BenchConfig",
    "ModeScore",
    "PaperEntry",
    "PaperRecord",
    "discover",
    "parse_methods",
    "parse_modes",
]
