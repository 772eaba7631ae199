"""Which files of a LaTeX paper may be read, and reading them from a folder, a tarball or beside a lone file.

Whatever is read here is sent to a model, so only LaTeX sources inside the paper are read: never a hidden
path (``.env``, ``.ssh/``, ``.git/``), a file of another type, a path outside the folder or tarball, or a
link. Tarballs are read in memory (never extracted), so a hostile archive cannot write anywhere; their links,
devices and odd member names are skipped, and sizes and counts are capped so a decompression bomb ends in
one ``InputError``. ``tarfile``'s ``data`` filter is not used: it judges members for extraction to a real
folder (and allows links inside it), while reading in memory only needs a member's type and name.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

from papercoder.errors import InputError
from papercoder.paper.textio import read_text

# What LaTeX pulls in for content: sources, the bibliography a \bibliography reads, and macro packages
# (read only when a file \input's one). Class files, images and data are never read.
SOURCE_SUFFIXES = (".tex", ".ltx", ".latex", ".bbl", ".sty")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_SOURCE_BYTES = 50 * 1024 * 1024
MAX_SOURCE_FILES = 1000
# Every tarball member (figures included) and every folder entry counts, since skipping them still costs.
MAX_ENTRIES = 20_000
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
NOT_SOURCE = "not a LaTeX source"
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def refusal(name: str) -> str | None:
    """Why the relative path ``name`` may not be read as a source of the paper, or None when it may be."""
    if name.startswith(("/", "~")) or "\\" in name or _DRIVE_RE.match(name):
        return "an absolute path"
    parts = posixpath.normpath(name).split("/")
    if ".." in parts:
        return "outside the paper"
    if any(part.startswith(".") for part in parts):
        return "a hidden path"
    return None if name.lower().endswith(SOURCE_SUFFIXES) else NOT_SOURCE


def _mb(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB"


class SourceTree:
    """A paper's readable sources by relative name, and the names of its other files.

    For a lone ``.tex`` file (``root`` given), files beside it are read only when an ``\\input`` asks.
    """

    def __init__(self, origin: Path, root: Path | None = None) -> None:
        self.origin = origin
        self.files: dict[str, str] = {}
        self.others: set[str] = set()
        self.paths_read: list[Path] = []
        self.notes: list[str] = []
        self.root = root.resolve() if root else None
        self._bytes = 0

    def add(self, name: str, size: int, load: Callable[[], bytes], path: Path) -> None:
        """Keep the text of ``name`` (``size`` bytes, read by ``load`` once the caps allow it)."""
        self._bytes += size
        if size > MAX_FILE_BYTES or self._bytes > MAX_SOURCE_BYTES:
            limit = _mb(MAX_FILE_BYTES if size > MAX_FILE_BYTES else MAX_SOURCE_BYTES)
            raise InputError(f"{self.origin} holds oversized LaTeX sources (over {limit} at {name}): pass the PDF")
        if len(self.files) >= MAX_SOURCE_FILES:
            raise InputError(f"{self.origin} holds over {MAX_SOURCE_FILES} LaTeX files: pass the main file or the PDF")
        # A file may grow between the size check and the read; never read more than the cap.
        self.files[name] = read_text(load()[: MAX_FILE_BYTES + 1])
        if path not in self.paths_read:
            self.paths_read.append(path)

    def find(self, name: str) -> tuple[bool, str | None]:
        """Whether the source ``name`` (already allowed by ``refusal``) exists, reading it if needed; else why not."""
        if name in self.files:
            return True, None
        if self.root is None:
            return False, None
        file = self.root / name
        try:
            real = file.resolve(strict=True)
        except (OSError, RuntimeError):
            return False, None
        if not real.is_relative_to(self.root) or refusal(real.relative_to(self.root).as_posix()):
            return False, "a link out of the paper"
        if not real.is_file():
            return False, None
        self.add(name, real.stat().st_size, real.read_bytes, real)
        return True, None

    def has_other(self, name: str) -> bool:
        """Whether a non-source file ``name`` is there (so a refused ``\\input`` of it is worth a note)."""
        if name in self.others:
            return True
        return self.root is not None and refusal(name) == NOT_SOURCE and (self.root / name).is_file()

    def resolve(self, target: str, current: str) -> tuple[str | None, str | None]:
        """The source ``\\input{target}`` in ``current`` reads, or None and why it is refused (None: missing).

        LaTeX tries the name as given, then with ``.tex``; relative to the main folder, and (as many authors
        expect) to the including file's folder.
        """
        name = target.strip().strip('"')
        if not name:
            return None, None
        refused: str | None = None
        for base in ("", posixpath.dirname(current)):
            for option in (name, f"{name}.tex"):
                candidate = posixpath.join(base, option)
                reason = refusal(candidate)
                clean = posixpath.normpath(candidate)
                if reason is None:
                    found, reason = self.find(clean)
                    if found:
                        return clean, None
                elif reason == NOT_SOURCE and not self.has_other(clean):
                    reason = None
                refused = refused or reason
        return None, refused


def _entries_cap(origin: Path, what: str) -> InputError:
    return InputError(
        f"{origin} {what} over {MAX_ENTRIES} files or {MAX_ARCHIVE_BYTES // 1024**3} GB (a decompression bomb?): "
        "pass the main .tex file or the PDF"
    )


def read_tarball(path: Path) -> SourceTree:
    """Read the LaTeX sources of a tarball (or arXiv's gzipped single file) without extracting it."""
    tree = SourceTree(path)
    entries = unpacked = skipped = 0
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                entries += 1
                unpacked += max(member.size, 0)
                # Checked from the header, before the member is decompressed on the way to the next one.
                if entries > MAX_ENTRIES or unpacked > MAX_ARCHIVE_BYTES:
                    raise _entries_cap(path, "unpacks to")
                if member.isdir():
                    continue
                reason = refusal(member.name)
                if not member.isfile() or (reason and reason != NOT_SOURCE):
                    skipped += 1  # a hard or symbolic link, a device, or a hidden, absolute or ``..`` name
                    continue
                name = posixpath.normpath(member.name)
                if reason == NOT_SOURCE:
                    tree.others.add(name)
                    continue
                handle = archive.extractfile(member)
                if handle is not None:
                    tree.add(name, member.size, handle.read, path)
    except tarfile.ReadError:
        return _read_gzipped_single(path)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{path} is a corrupt or truncated archive ({exc}): download the source again") from exc
    if skipped:
        tree.notes.append(f"skipped {skipped} tarball members (links, devices, hidden or outside paths)")
    return tree


def _read_gzipped_single(path: Path) -> SourceTree:
    """arXiv serves single-file sources as a gzipped .tex that is not a tar archive."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path} is neither a tar archive nor gzipped LaTeX: pass a .tar.gz of the source") from exc
    if "\\" not in read_text(data[:65536]):
        raise InputError(f"{path} has no .tex files: pass an arXiv source tarball or the PDF")
    tree = SourceTree(path)
    tree.add("main.tex", len(data), lambda: data, path)
    return tree


def read_folder(root: Path) -> SourceTree:
    """Read the LaTeX sources under ``root``: no hidden folders or files, no links leaving it."""
    tree = SourceTree(root)
    real_root = root.resolve()
    entries = skipped = 0
    # os.walk does not follow linked folders; hidden folders (.git, .venv) are pruned before the walk enters.
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for filename in sorted(names):
            entries += 1
            if entries > MAX_ENTRIES:
                raise _entries_cap(root, "holds")
            file = Path(folder) / filename
            name = file.relative_to(root).as_posix()
            reason = refusal(name)
            if reason == NOT_SOURCE:
                tree.others.add(name)
                continue
            if reason:
                continue
            real = file.resolve()
            if not real.is_relative_to(real_root) or refusal(real.relative_to(real_root).as_posix()):
                skipped += 1
                continue
            if real.is_file():
                tree.add(name, real.stat().st_size, real.read_bytes, real)
    if skipped:
        tree.notes.append(f"skipped {skipped} links leading out of {root.name} or to non-LaTeX files")
    return tree
