"""Reading a repository for evaluation, and finding the repository and paper of an evaluation target.

A target is one of:

* a papercoder run directory (``manifest.json`` and ``repo/``): the repository is ``repo/``, the paper
  ``paper/paper.md``, results go to ``eval/``;
* an output folder of the original Paper2Code scripts (it holds ``planning_trajectories.json``): the repository
  is the sibling ``<name>_repo`` folder (or a single ``*_repo`` folder inside it); when the repository has no
  ``config.yaml`` but the folder has ``planning_config.yaml``, that file is judged as ``config.yaml``;
* any other folder: the folder itself is the repository; results go to ``<folder>_eval/`` beside it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from papercoder.errors import InputError
from papercoder.repo.walk import code_language, read_text, walk_files

# What the judge reads: the suffixes the original Paper2Code evaluation reads, plus TOML/CFG configs.
JUDGE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".md", ".sh", ".bash", ".toml", ".cfg"})
_PRIORITY = {".py": 0, ".yaml": 1, ".yml": 1, ".toml": 1, ".cfg": 1, ".sh": 1, ".bash": 1}

_BACKTICKS = re.compile(r"`+")
TargetKind = Literal["run", "paper2code", "folder"]


@dataclass
class RepoSnapshot:
    """The files of a repository chosen for judging, and what was left out and why."""

    root: Path
    files: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not a judged type, or binary
    left_out: list[str] = field(default_factory=list)  # excluded by --include / --max-files


def _priority(path: str) -> tuple[int, int, str]:
    """Code before configs before documents; shallower paths first; then by name."""
    pure = PurePosixPath(path)
    return _PRIORITY.get(pure.suffix.lower(), 2), len(pure.parts), path


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Whether ``path`` matches one of the glob ``patterns`` (``*`` crosses folders; a bare name matches any
    file of that name)."""
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def read_repo(
    root: Path,
    *,
    suffixes: frozenset[str] = JUDGE_SUFFIXES,
    include: Sequence[str] = (),
    max_files: int | None = None,
    extra: dict[str, str] | None = None,
) -> RepoSnapshot:
    """Read the judged files of ``root``.

    Args:
        root: the repository folder.
        suffixes: the file types read; others are listed in ``skipped``.
        include: glob patterns; when given, only matching files are kept (others go to ``left_out``).
        max_files: keep at most this many files, code first, then configs, then documents, shallow paths first.
        extra: files to add when the folder lacks them (e.g. a Paper2Code ``config.yaml``).

    Raises:
        InputError: the folder does not exist or holds no judged file.
    """
    if not root.is_dir():
        raise InputError(f"repository folder not found: {root}")
    snap = RepoSnapshot(root)
    found: dict[str, str] = {}
    for rel, path in walk_files(root):
        text = read_text(path) if path.suffix.lower() in suffixes else None
        if text is None:
            snap.skipped.append(rel)
        else:
            found[rel] = text
    for rel, text in (extra or {}).items():
        found.setdefault(rel, text)
    ordered = sorted(found, key=_priority)
    for rel in ordered:
        excluded = bool(include) and not matches(rel, include)
        if excluded or (max_files is not None and len(snap.files) >= max_files):
            snap.left_out.append(rel)
        else:
            snap.files[rel] = found[rel]
    if not snap.files:
        why = "after --include/--max-files" if snap.left_out else f"(judged types: {', '.join(sorted(suffixes))})"
        raise InputError(f"no file to judge in {root} {why}")
    return snap


@dataclass(frozen=True)
class Target:
    """Where an evaluation target's repository, paper and results are."""

    kind: TargetKind
    root: Path
    repo: Path
    paper: Path | None  # None: the caller must name the paper
    eval_dir: Path
    extra: dict[str, str] = field(default_factory=dict)


def _paper2code_repo(root: Path) -> Path:
    sibling = root.parent / f"{root.name}_repo"
    if sibling.is_dir():
        return sibling
    inside = sorted(p for p in root.glob("*_repo") if p.is_dir())
    near = sorted(p for p in root.parent.glob(f"{root.name}_repo*") if p.is_dir())
    for candidates in (inside, near):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise InputError(
                f"{root} is a Paper2Code output folder with several repositories ({names}); "
                "pass the repository folder itself as TARGET"
            )
    raise InputError(
        f"{root} is a Paper2Code output folder but {sibling.name}/ is not beside it; "
        "pass the repository folder as TARGET"
    )


def resolve_target(path: Path) -> Target:
    """Detect what kind of target ``path`` is (see the module docstring).

    Raises:
        InputError: the path does not exist, is not a folder, or is a Paper2Code folder without its repository.
    """
    if not path.exists():
        raise InputError(f"target not found: {path}")
    if not path.is_dir():
        raise InputError(f"target {path} is a file; give a run directory or a repository folder")
    if (path / "manifest.json").is_file() and (path / "repo").is_dir():
        paper = path / "paper" / "paper.md"
        return Target("run", path, path / "repo", paper if paper.is_file() else None, path / "eval")
    if (path / "planning_trajectories.json").is_file():
        repo = _paper2code_repo(path)
        extra: dict[str, str] = {}
        config = path / "planning_config.yaml"
        if not (repo / "config.yaml").is_file() and config.is_file():
            extra["config.yaml"] = config.read_text(encoding="utf-8")
        return Target("paper2code", path, repo, None, path / "eval", extra)
    return Target("folder", path, path, None, path.parent / f"{path.name}_eval")


def format_files(files: dict[str, str]) -> str:
    """Files as Markdown: a ``### File: path`` line and a fenced block each (the fence outlasts any inside)."""
    parts = []
    for path, text in files.items():
        longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
        fence = "`" * max(3, longest + 1)
        parts.append(f"### File: {path}\n{fence}{code_language(path)}\n{text.rstrip()}\n{fence}")
    return "\n\n".join(parts)
