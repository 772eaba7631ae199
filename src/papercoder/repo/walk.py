"""The one walker of a repository's files (judge, statistics, checks, snapshots and hashes all read through it),
and what a file's suffix says of its language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

# Folders that hold tooling, caches or environments, never the code under evaluation.
IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "env",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        ".tox",
        ".idea",
        ".vscode",
        "wandb",
        ".eggs",
    }
)
_LANGUAGES = {
    ".py": "python",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "bash",
    ".bash": "bash",
    ".md": "markdown",
    ".json": "json",
    ".toml": "toml",
    ".cfg": "ini",
}


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file under ``root`` as (POSIX path relative to root, path), sorted, skipping ``IGNORED_DIRS``,
    hidden folders and symbolic links."""

    def visit(folder: Path) -> Iterator[tuple[str, Path]]:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name in IGNORED_DIRS or entry.name.startswith("."):
                    continue
                yield from visit(entry)
            elif entry.is_file():
                yield entry.relative_to(root).as_posix(), entry

    yield from visit(root)


def read_text(path: Path) -> str | None:
    """The file's text, or None when it is binary (a NUL byte) or not UTF-8."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def code_language(path: str) -> str:
    """The fence tag for a file, from its extension ("" when unknown)."""
    return _LANGUAGES.get(PurePosixPath(path).suffix.lower(), "")
