"""Writes that reach the disk when the run needs them to: in place at once, flushed together before a manifest
that vouches for them, and a disk that refuses the flush is one line naming the folder."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from papercoder import fsutil
from papercoder.errors import StorageError
from papercoder.run_dir import Manifest, ModelInfo, RunDir
from papercoder.settings import PaperInfo, RunSettings


class FsyncRecorder:
    """A test double for ``fsutil._fsync``: records each path flushed, then flushes it for real."""

    def __init__(self) -> None:
        self.flushed: list[str] = []
        self.real = fsutil._fsync

    def __call__(self, path: Path) -> None:
        self.flushed.append(path.name)
        self.real(path)


def manifest() -> Manifest:
    return Manifest(
        papercoder_version="0",
        created_at="now",
        model=ModelInfo(name="m", provider="fake"),
        settings=RunSettings(),
        paper=PaperInfo(path="p.md", source="p.md", text_sha256="0"),
    )


def test_artifacts_are_in_place_at_once_and_flushed_before_a_durable_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = FsyncRecorder()
    monkeypatch.setattr(fsutil, "_fsync", recorder)
    run = RunDir(tmp_path)
    run.create()
    for name in ("a.py", "b.py", "c.py"):
        run.write(f"repo/{name}", f"# {name}\n")
    assert run.read("repo/b.py") == "# b.py\n"  # readable before any flush
    run.save_manifest(manifest(), durable=False)  # a progress save flushes nothing
    assert recorder.flushed == []
    run.save_manifest(manifest())
    assert sorted(recorder.flushed) == ["a.py", "b.py", "c.py", "manifest.json"]
    assert not list(tmp_path.rglob("*.tmp"))
    run.save_manifest(manifest())  # nothing written since: nothing more to flush
    assert len(recorder.flushed) == 4


def test_a_file_removed_before_the_flush_is_no_error(tmp_path: Path) -> None:
    flusher = fsutil.Flusher()
    fsutil.atomic_write_text(tmp_path / "gone.txt", "x", flusher)
    (tmp_path / "gone.txt").unlink()
    flusher.wait()


def test_a_disk_that_refuses_the_flush_is_one_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk_double(path: Path) -> None:
        """A test double for a disk that fills up when the written blocks are allocated, at the flush."""
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil, "_fsync", full_disk_double)
    flusher = fsutil.Flusher()
    for name in ("a", "b", "c", "d"):  # enough for the threads
        fsutil.atomic_write_text(tmp_path / f"{name}.txt", name, flusher)
    with pytest.raises(StorageError, match=rf"cannot write a.txt in {tmp_path}: the disk is full") as info:
        flusher.wait()
    assert "\n" not in str(info.value)
