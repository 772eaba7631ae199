"""One process at a time in a run directory: an advisory lock on ``RUN_DIR/.lock``.

With ``fcntl`` (Linux, macOS) the lock is ``flock`` on the file, which holds the holder's PID and command. The
kernel releases a flock when its process dies, however it dies, so the lock of a killed run is simply taken by the
next command: there is nothing stale to clean. The file itself stays (emptied on release) because unlinking a
flocked file lets two processes lock two different inodes of the same name.

Without ``fcntl`` (Windows) the lock is the file itself, created with ``O_EXCL`` and removed on release; a file left
by a dead process (its PID no longer runs) is taken over. That fallback is best effort: two processes taking over
the same stale file at the same instant may both succeed.

A process that already holds a directory's lock may take it again (``run --debug`` holds it for the run and the
debug loop both); :func:`held_elsewhere` tells a reader whether some *other* live process holds it, which is how a
manifest left ``running`` by a dead process is known to be interrupted.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from papercoder.errors import InputError

fcntl: ModuleType | None
try:
    import fcntl as _fcntl

    fcntl = _fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_NAME = ".lock"
# A reader's probe holds a shared lock for microseconds; an acquirer that meets one tries again for this long.
RETRY_S = 0.25


class RunDirBusy(InputError):
    """Another live process holds the run directory (exit code 2)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as the lock file says."""

    pid: int | None
    command: str


_held: dict[Path, int] = {}  # resolved run dir → how many times this process holds it


def _key(root: Path) -> Path:
    return root.resolve()


def read_holder(root: Path) -> Holder | None:
    """The PID and command written in ``root/.lock``, or None when it is absent or empty."""
    try:
        text = (root / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text:
        return None
    pid_text, _, command = text.partition(" ")
    return Holder(int(pid_text) if pid_text.isdigit() else None, command.strip())


def _busy(root: Path) -> RunDirBusy:
    holder = read_holder(root)
    who = "another process"
    if holder is not None and holder.pid is not None:
        who = f"PID {holder.pid}" + (f" (papercoder {holder.command})" if holder.command else "")
    return RunDirBusy(f"{root} is in use by {who}; wait for it to finish or stop it, then run again")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _record(command: str) -> bytes:
    return f"{os.getpid()} {command}\n".encode()


def _acquire_flock(root: Path, command: str) -> int:
    assert fcntl is not None
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + RETRY_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise _busy(root) from None
            time.sleep(0.02)
    os.ftruncate(fd, 0)
    os.pwrite(fd, _record(command), 0)
    return fd


def _acquire_pidfile(root: Path, command: str) -> int:
    path = root / LOCK_NAME
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = read_holder(root)
            if holder is not None and holder.pid is not None and _alive(holder.pid):
                raise _busy(root) from None
            path.unlink(missing_ok=True)  # a dead process's lock (or one not written yet): take it over
            continue
        os.write(fd, _record(command))
        return fd
    raise _busy(root)


def _release(root: Path, fd: int) -> None:
    if fcntl is not None:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    else:
        os.close(fd)
        (root / LOCK_NAME).unlink(missing_ok=True)


@contextmanager
def hold(root: Path, command: str) -> Iterator[None]:
    """Hold ``root``'s lock for the block (``root`` is created when missing); ``command`` is shown to whoever
    finds it held. Raises :class:`RunDirBusy` (one line naming the holder's PID and command) when another live
    process holds it."""
    key = _key(root) if root.exists() else None
    if key is not None and key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    root.mkdir(parents=True, exist_ok=True)
    key = _key(root)
    fd = _acquire_flock(root, command) if fcntl is not None else _acquire_pidfile(root, command)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        _release(root, fd)


def held_here(root: Path) -> bool:
    """Whether this process holds ``root``'s lock."""
    return root.exists() and _key(root) in _held


def held_elsewhere(root: Path) -> bool:
    """Whether another live process holds ``root``'s lock (never blocks, writes nothing)."""
    if held_here(root):
        return False
    path = root / LOCK_NAME
    if fcntl is None:
        holder = read_holder(root)
        return holder is not None and holder.pid is not None and holder.pid != os.getpid() and _alive(holder.pid)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
