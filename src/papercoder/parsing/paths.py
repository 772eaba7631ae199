"""File names from the model, made safe: relative, inside the repository, unique.

Every name the model gives (file lists, task lists, edit blocks) goes through :func:`safe_repo_path` before it is
joined to a directory, so a plan can never write outside the run's ``repo/`` folder or into ``.git``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

_BULLET = re.compile(r"^\s*(?:[-*+•]\s+|\d+[.)]\s+|\[[ xX]\]\s+)")
_WRAPPERS = "`'\"*\u201c\u201d\u2018\u2019"
_DRIVE = re.compile(r"^[A-Za-z]:")
_ANNOTATED = re.compile(r"^(?P<name>[^\s`*'\"]+\.\w+)[`*'\"]*:?\s+\S.*$")
_ALLOWED_HIDDEN_DIRS = {".github"}
MAX_PATH_LENGTH = 255
#: UTF-8 bytes of one component of a path. File systems stop at 255, and the run adds to a name: ``analysis/<name>.md``
#: and the temporary file of an atomic write (``.<name>.md.<8 random characters>.tmp``), so a legal name can still
#: not be written.
MAX_NAME_BYTES = 200

#: Extensions of the text files papercoder writes: code, configuration, documentation, scripts. Notebooks
#: (``.ipynb``) are not among them: they are JSON documents a model rarely writes validly, and the pipeline runs
#: scripts. Data (``.csv``, ``.jsonl``, ``.npy``), weights (``.pt``, ``.ckpt``) and images are not written either.
SOURCE_SUFFIXES = frozenset(
    {
        ".py", ".pyi", ".pyx", ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".txt", ".md", ".rst",
        ".sh", ".bash", ".c", ".cc", ".cpp", ".h", ".hpp", ".cu", ".cuh", ".js", ".ts", ".r", ".jl", ".sql",
        ".lua", ".go", ".rs", ".java", ".scala", ".m", ".tex", ".bib", ".j2", ".jinja", ".html", ".css",
    }
)  # fmt: skip
#: File names without a source extension that are still source.
SOURCE_NAMES = frozenset(
    {"makefile", "dockerfile", "license", "readme", ".gitignore", ".dockerignore", ".env.example", "manifest.in"}
)


def _clean(name: str) -> str:
    """The name without surrounding whitespace, quotes, backticks, bold markers, list bullets, a final colon or a
    description after it."""
    cleaned = name.strip()
    for _ in range(3):
        before = cleaned
        cleaned = _BULLET.sub("", cleaned).strip().strip(_WRAPPERS).strip()
        if cleaned.endswith(":") and not _DRIVE.fullmatch(cleaned):
            cleaned = cleaned[:-1].rstrip()
        annotated = _ANNOTATED.match(cleaned)
        if annotated:  # "model.py - the model", "model.py: defines Model", "model.py # entry point"
            cleaned = annotated.group("name")
        if cleaned == before:
            break
    return cleaned


def safe_repo_path(name: str) -> tuple[str | None, str | None]:
    """Normalise one file name from the model, or refuse it.

    Strips whitespace, quotes, backticks, ``**bold**`` markers, list bullets (``- ``, ``1. ``) and a description
    after a name with an extension (``model.py - the model``); turns backslashes into ``/``; drops ``./`` and empty
    components (``a//b.py`` → ``a/b.py``).

    Args:
        name: A file name as the model wrote it.

    Returns:
        ``(path, None)`` when the name was fine as given; ``(path, warning)`` when it had to be normalised;
        ``(None, reason)`` when it is refused: empty, control characters, absolute (``/etc/x``, ``C:\\x``, ``~/x``),
        a ``..`` component, a directory (ends with ``/``), a hidden folder (``.git/``, ``.venv/``; ``.github/`` is
        allowed), a file named ``.git``, longer than 255 characters, or with a component longer than 200 UTF-8 bytes.
        Warnings and reasons are one line naming the name.
    """
    shown = repr(name) if len(name) <= 80 else repr(name[:77] + "...")
    cleaned = _clean(name)
    if not cleaned:
        return None, f"refused file name {shown}: empty"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        return None, f"refused file name {shown}: control characters"
    slashed = cleaned.replace("\\", "/")
    if slashed.startswith(("/", "~")) or _DRIVE.match(slashed):
        return None, f"refused file name {shown}: absolute path, outside the repository"
    if slashed.endswith("/"):
        return None, f"refused file name {shown}: a directory, not a file"
    parts = [p for p in slashed.split("/") if p not in ("", ".")]
    if not parts:
        return None, f"refused file name {shown}: empty"
    if ".." in parts:
        return None, f"refused file name {shown}: '..' is not allowed, paths stay inside the repository"
    if any(p.lower() == ".git" for p in parts):
        return None, f"refused file name {shown}: inside .git"
    if any(p.startswith(".") and p.lower() not in _ALLOWED_HIDDEN_DIRS for p in parts[:-1]):
        return None, f"refused file name {shown}: inside a hidden folder"
    path = "/".join(parts)
    if len(path) > MAX_PATH_LENGTH:
        return None, f"refused file name {shown}: longer than {MAX_PATH_LENGTH} characters"
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts):
        return None, f"refused file name {shown}: a name in it is longer than {MAX_NAME_BYTES} bytes (UTF-8)"
    if path != name:
        return path, f"file name {shown} normalised to {path!r}"
    return path, None


def dedupe_paths(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Make every name safe and keep each file once.

    Args:
        names: File names as the model listed them.

    Returns:
        The kept paths in their first order, and one warning per change: a refused name, a normalised name, a
        duplicate (names equal after normalisation, or differing only in case: the first one wins).
    """
    kept: list[str] = []
    seen: dict[str, str] = {}
    warnings: list[str] = []
    for name in names:
        path, note = safe_repo_path(str(name))
        if path is None:
            warnings.append(note or f"refused file name {name!r}")
            continue
        first = seen.get(path.casefold())
        if first is None:
            if note:
                warnings.append(note)
            seen[path.casefold()] = path
            kept.append(path)
        elif first != path:
            warnings.append(f"dropped {path!r}: same name as {first!r} up to case")
        elif path != name:
            warnings.append(f"dropped {name!r}: duplicate of {first!r}")
        else:
            warnings.append(f"dropped duplicate {path!r}")
    return kept, warnings


def is_source_file(path: str) -> bool:
    """Tell whether ``path`` is a text file papercoder writes, as opposed to data, weights, images or a folder.

    Args:
        path: A normalised repository path.

    Returns:
        True for code, configuration, documentation and scripts (see :data:`SOURCE_SUFFIXES` and
        :data:`SOURCE_NAMES`; ``.ipynb`` is deliberately excluded); False for everything else, directories
        (a trailing ``/``) included.
    """
    if not path.strip() or path.rstrip().endswith(("/", "\\")):
        return False
    pure = PurePosixPath(path.strip().replace("\\", "/"))
    return pure.suffix.lower() in SOURCE_SUFFIXES or pure.name.lower() in SOURCE_NAMES
