"""Edits as real models write them, applied to a repository on disk (``parsing/edit_apply.apply_to_repo``)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO, Any

import pytest

from papercoder.errors import StorageError
from papercoder.parsing.edit_apply import apply_to_repo
from papercoder.parsing.edits import parse_edits

MODEL = "import torch\n\n\nclass Net:\n    def forward(self, x):\n        y = x * 2\n        return y\n"


def repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for rel, text in files.items():
        (repo / rel).write_bytes(text.encode())
    return repo


def test_fenced_crlf_answer_with_indentation_drift(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"model.py": MODEL})
    answer = (
        "Sure! Here is the fix:\r\n\r\n```diff\r\n// model.py\r\n<<<<<<< SEARCH\r\ny = x * 2\r\nreturn y\r\n"
        "=======\r\ny = x * 3\r\nreturn y\r\n>>>>>>> REPLACE\r\n```\r\n\r\nLet me know if that helps.\r\n"
    )
    result = apply_to_repo(repo, parse_edits(answer))
    assert result.ok and result.files
    assert (repo / "model.py").read_text() == MODEL.replace("x * 2", "x * 3")


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"model.py": MODEL.replace("\n", "\r\n")})
    answer = "model.py\n<<<<<<< SEARCH\n        y = x * 2\n=======\n        y = x + 1\n>>>>>>> REPLACE\n"
    assert apply_to_repo(repo, parse_edits(answer)).ok
    assert (repo / "model.py").read_bytes() == MODEL.replace("x * 2", "x + 1").replace("\n", "\r\n").encode()


def test_ambiguous_and_missing_blocks_are_reported_not_applied(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a.py": "x = 1\nx = 1\n", "b.py": "y = 2\n"})
    answer = (
        "```python\na.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n"
        "```python\nb.py\n<<<<<<< SEARCH\nz = 3\n=======\nz = 4\n>>>>>>> REPLACE\n```\n"
    )
    result = apply_to_repo(repo, parse_edits(answer))
    assert not result.applied and not result.files
    assert "matched 2 places (lines 1, 2)" in result.failures[0].message
    assert "matched nothing" in result.failures[1].message
    assert (repo / "a.py").read_text() == "x = 1\nx = 1\n" and (repo / "b.py").read_text() == "y = 2\n"


def test_paths_outside_the_repo_are_refused(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a.py": "x = 1\n"})
    (tmp_path / "outside.py").write_text("secret = 1\n")
    os.symlink(tmp_path / "outside.py", repo / "link.py")
    answer = "".join(
        f"{path}\n<<<<<<< SEARCH\n{search}=======\nhacked = 1\n>>>>>>> REPLACE\n"
        for path, search in (("../outside.py", "secret = 1\n"), ("/etc/passwd", ""), ("link.py", "secret = 1\n"))
    )
    result = apply_to_repo(repo, parse_edits(answer))
    assert not result.applied and len(result.failures) == 3
    assert all("refused" in f.message for f in result.failures)
    assert (tmp_path / "outside.py").read_text() == "secret = 1\n"


def test_a_full_disk_while_applying_edits_is_one_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model.py").write_text("lr = 1\n")
    real_open = Path.open

    def full_disk_double(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
        """A test double for a full disk: every write fails with ENOSPC, reads work."""
        if "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full_disk_double)
    edits = parse_edits("model.py\n<<<<<<< SEARCH\nlr = 1\n=======\nlr = 0.1\n>>>>>>> REPLACE\n")
    with pytest.raises(StorageError, match=r"cannot write model.py in .*: the disk is full") as info:
        apply_to_repo(tmp_path, edits)
    assert "\n" not in str(info.value)
    assert (tmp_path / "model.py").read_text() == "lr = 1\n"
