"""Small filesystem helpers: atomic writes so a crash never leaves a half-written artifact.

A write that fails because of the disk (full, over quota, read-only, no permission, a name too long) is a
``StorageError`` whose one line names the folder and the fix, instead of an ``OSError`` traceback.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from papercoder.errors import StorageError

# errno → (what happened, what to do about it); other OSErrors are not the disk's fault and propagate as they are.
_DISK_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", "free some space there or pass another --out"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space there or pass another --out"),
    errno.EROFS: ("the file system is read-only", "pass another --out"),
    errno.EACCES: ("permission denied", "make it writable or pass another --out"),
    errno.ENAMETOOLONG: ("the file name is too long for the file system", "pass a shorter --out"),
}


def _write_through_temp(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, flush it to disk, and rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; artifacts and generated code are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Raises:
        StorageError: the disk refused the write (see ``_DISK_PROBLEMS``); ``path`` is left as it was.
    """
    with disk_errors(path):
        _write_through_temp(path, text)


@contextmanager
def disk_errors(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` that is the disk's fault (full, read-only, ...) while writing ``path`` into a
    ``StorageError`` naming the folder and the fix; other errors propagate as they are."""
    try:
        yield
    except OSError as exc:
        problem = _DISK_PROBLEMS.get(exc.errno or 0)
        if problem is None:
            raise
        what, fix = problem
        raise StorageError(
            f"cannot write {path.name} in {path.parent}: {what}; {fix}, then run the same command again to resume"
        ) from None


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
