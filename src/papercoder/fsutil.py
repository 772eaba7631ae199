"""Small filesystem helpers: atomic writes so a crash never leaves a half-written artifact.

A write that fails because of the disk (full, over quota, read-only, no permission, a name too long) is a
``StorageError`` whose one line names the folder and the fix, instead of an ``OSError`` traceback.

A write given a ``Flusher`` is renamed into place at once (a killed process leaves the old text or the new, as
always) but put on disk (``fsync``) only at the ``Flusher.wait`` that follows, all together: a run writes a few
files per model call, and waiting for the disk after each one, on the event loop, added milliseconds to every call
of a long chain. A run waits before it writes a manifest that vouches for those files (a stage done).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return  # removed since: nothing of it to keep
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Flusher:
    """The files written since the last ``wait``, which puts them all on disk at once."""

    def __init__(self) -> None:
        self._pending: dict[Path, None] = {}

    def add(self, path: Path) -> None:
        self._pending[path] = None

    def wait(self) -> None:
        """Return once every file handed over is on disk: a few at a time, as the disk's journal commits
        concurrent flushes together (160 files: ~25 ms, where one ``fsync`` per write took ~2-7 ms each).

        Raises:
            StorageError: the disk refused one (``disk_errors``), e.g. full when its blocks were allocated.
        """
        pending, self._pending = list(self._pending), {}
        if len(pending) < 3:  # not worth a thread
            for path in pending:
                with disk_errors(path):
                    _fsync(path)
            return
        with ThreadPoolExecutor(max_workers=min(4, len(pending)), thread_name_prefix="papercoder-fsync") as pool:
            for path, future in [(path, pool.submit(_fsync, path)) for path in pending]:
                with disk_errors(path):
                    future.result()


def _write_through_temp(path: Path, text: str, flusher: Flusher | None = None) -> None:
    """Write ``text`` to a temporary file next to ``path``, flush it to disk (or leave that to ``flusher``), and
    rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            if flusher is None:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; artifacts and generated code are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if flusher is not None:
        flusher.add(path)


def atomic_write_text(path: Path, text: str, flusher: Flusher | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; on disk before it returns, or, with
    ``flusher``, once ``flusher.wait()`` returns.

    Raises:
        StorageError: the disk refused the write (see ``_DISK_PROBLEMS``); ``path`` is left as it was.
    """
    with disk_errors(path):
        _write_through_temp(path, text, flusher)


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


def atomic_write_json(path: Path, data: Any, flusher: Flusher | None = None) -> None:
    """Write ``data`` as indented JSON, atomically (``atomic_write_text``)."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", flusher)
