"""File names from the model, made safe: relative, inside the repository, unique."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

_BULLET = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)")
_SOURCE_SUFFIXES = {
    ".py",
    ".pyi",
    ".yaml",
    ".yml",
    ".json",
    ".toml",
    ".cfg",
    ".ini",
    ".txt",
    ".md",
    ".rst",
    ".sh",
    ".c",
    ".cpp",
    ".h",
    ".cu",
    ".js",
    ".ts",
    ".r",
    ".jl",
    ".sql",
}
_SOURCE_NAMES = {"Makefile", "Dockerfile", "LICENSE"}


def safe_repo_path(name: str) -> tuple[str | None, str | None]:
    """Normalise one file name from the model.

    Returns ``(path, None)`` when it was fine, ``(path, warning)`` when it had to be normalised, and
    ``(None, reason)`` when it is refused (absolute, ``..``, hidden folders such as ``.git``, a directory, empty,
    control characters, too long).
    """
    original = name
    cleaned = _BULLET.sub("", name).strip().strip("`'\"*").strip()
    cleaned = cleaned.replace("\\", "/")
    if not cleaned:
        return None, f"refused file name {original!r}: empty"
    if any(ord(ch) < 32 for ch in cleaned):
        return None, f"refused file name {original!r}: control characters"
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned):
        return None, f"refused file name {original!r}: absolute path"
    if cleaned.endswith("/"):
        return None, f"refused file name {original!r}: a directory, not a file"
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts:
        return None, f"refused file name {original!r}: empty"
    if ".." in parts:
        return None, f"refused file name {original!r}: '..' leaves the repository"
    if any(p.startswith(".") and p not in (".gitignore", ".env.example") for p in parts[:-1]) or parts[0] == ".git":
        return None, f"refused file name {original!r}: hidden folder"
    path = "/".join(parts)
    if len(path) > 255:
        return None, f"refused file name {original[:40]!r}…: longer than 255 characters"
    if path != original:
        return path, f"file name {original!r} normalised to {path!r}"
    return path, None


def dedupe_paths(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Make every name safe and keep each file once (names differing only in case count as one; the first wins).

    Returns the kept paths in order and one warning per change.
    """
    kept: list[str] = []
    seen: dict[str, str] = {}
    warnings: list[str] = []
    for name in names:
        path, note = safe_repo_path(str(name))
        if path is None:
            warnings.append(note or f"refused file name {name!r}")
            continue
        if note and "normalised" in note and path.lower() not in seen:
            warnings.append(note)
        first = seen.get(path.lower())
        if first is not None:
            if first != path:
                warnings.append(f"dropped {path!r}: same name as {first!r} up to case")
            elif name != path:
                pass  # "./a.py" after "a.py": the same file named twice
            else:
                warnings.append(f"dropped duplicate {path!r}")
            continue
        seen[path.lower()] = path
        kept.append(path)
    return kept, warnings


def is_source_file(path: str) -> bool:
    """Whether ``path`` is a text file papercoder writes (code, config, docs), not data, weights or images."""
    pure = PurePosixPath(path)
    return pure.suffix.lower() in _SOURCE_SUFFIXES or pure.name in _SOURCE_NAMES
