"""The repository as data: modified lines, the entry point, the files an error names."""

from __future__ import annotations

from pathlib import Path

from papercoder.repo.files import entry_point, files_in_error, modified_lines, snapshot


def test_modified_lines() -> None:
    old = {"a.py": "1\n2\n3\n", "b.py": "x\n"}
    assert modified_lines(old, old) == 0
    assert modified_lines(old, {"a.py": "1\nTWO\n3\n", "b.py": "x\n"}) == 1  # a replaced line
    assert modified_lines(old, {"a.py": "1\n2\n2b\n3\n", "b.py": "x\n"}) == 1  # an inserted line
    assert modified_lines(old, {"a.py": "1\n3\n", "b.py": "x\n"}) == 1  # a deleted line
    assert modified_lines(old, {**old, "c.py": "new\nfile\n"}) == 2  # a created file


def test_entry_point() -> None:
    assert entry_point({"model.py": "", "train.py": "", "main.py": ""}) == "main.py"
    guarded = "if __name__ == '__main__':\n    run()\n"
    assert entry_point({"a.py": guarded, "b.py": guarded, "c.py": ""}, ["b.py", "a.py", "c.py"]) == "a.py"
    assert entry_point({"a.py": "", "b.py": ""}, ["b.py", "a.py"]) == "a.py"
    assert entry_point({"config.yaml": ""}) is None


def test_files_in_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    for rel in ("main.py", "model.py", "pkg/data.py", "utils.py"):
        (repo / rel).write_text("x = 1\n")
    output = (
        "Traceback (most recent call last):\n"
        f'  File "{repo}/main.py", line 3, in <module>\n'
        '  File "/usr/lib/python3.11/json/__init__.py", line 1, in load\n'
        '  File "pkg/data.py", line 9, in load\n'
        "ModuleNotFoundError: No module named 'model'\n"
        "ImportError: cannot import name 'helper' from 'utils' (/somewhere/utils.py)\n"
    )
    files = snapshot(repo)
    assert files_in_error(output, repo, files) == ["main.py", "pkg/data.py", "model.py", "utils.py"]
