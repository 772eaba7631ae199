"""requirements.txt sanitising and the mechanical fix of a missing third-party import (pure, on planted repos)."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercoder.repo.checks import static_checks
from papercoder.repo.requirements import add_missing, certain_distribution, sanitise


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("--extra-index-url=http://x", "pip option"),
        ("-r /etc/passwd", "pip option"),
        ("-e .", "pip option"),
        ("--trusted-host example.com", "pip option"),
        ("git+https://github.com/x/y.git", "URL"),
        ("https://example.com/pkg.tar.gz", "URL"),
        ("file:///tmp/pkg", "URL"),
        ("pkg @ https://example.com/pkg.whl", "URL"),
        ("pkg @ file:relative/dir", "direct URL"),
        ("./local", "local path"),
        ("../sibling", "local path"),
        ("/abs/path", "local path"),
        ("dist/pkg-1.0-py3-none-any.whl", "local path"),
        ("standard library", "PEP 508"),
        ("numpy==", "PEP 508"),
        ("python>=3.10", "Python version"),
    ],
)
def test_what_is_no_specifier_is_left_out(entry: str, reason: str) -> None:
    kept, rejected = sanitise(["numpy>=1.24", entry])
    assert kept == ["numpy>=1.24"]
    assert [r.entry for r in rejected] == [entry] and reason in rejected[0].reason
    finding = rejected[0].finding()
    assert (finding.kind, finding.path, finding.matters) == ("requirements", "requirements.txt", False)


def test_specifiers_are_kept_cleaned_and_once() -> None:
    entries = [
        "`numpy>=1.24`",
        "'torch==2.1.0+cu118'",
        'scikit-learn[alldeps] >= 1.3; python_version >= "3.10"',
        "python-dateutil",  # starts with "python", is a package
        "`tqdm`  # progress bars",
        "pandas\nscipy",
        "numpy>=1.24",
        "# a comment",
        "",
    ]
    kept, rejected = sanitise(entries)
    assert rejected == []
    assert kept == [
        "numpy>=1.24",
        "torch==2.1.0+cu118",
        'scikit-learn[alldeps] >= 1.3; python_version >= "3.10"',
        "python-dateutil",
        "tqdm",
        "pandas",
        "scipy",
    ]


def test_certain_distributions() -> None:
    assert certain_distribution("sklearn") == "scikit-learn"
    assert certain_distribution("cv2") == "opencv-python"
    assert certain_distribution("yaml") == "pyyaml"
    assert certain_distribution("numpy") == "numpy"
    assert certain_distribution("rouge_score") == "rouge-score"
    assert certain_distribution("hydra") == "hydra-core"
    # A namespace, and an import nobody knows: no guess.
    assert certain_distribution("google") is None
    assert certain_distribution("fancylib") is None


def test_add_missing_fixes_the_certain_ones_only(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import numpy as np\nimport cv2\nimport fancylib\nimport yaml\n")
    (tmp_path / "requirements.txt").write_text("pyyaml>=6")  # no final newline
    fixes = add_missing(tmp_path)
    assert [f.fix for f in fixes] == ["added opencv-python to requirements.txt", "added numpy to requirements.txt"]
    assert [(f.finding.path, f.finding.line) for f in fixes] == [("main.py", 2), ("main.py", 1)]
    assert (tmp_path / "requirements.txt").read_text() == "pyyaml>=6\nopencv-python\nnumpy\n"
    left = static_checks(tmp_path)
    assert [(f.kind, f.line) for f in left] == [("requirements", 3)] and "fancylib" in left[0].message
    assert add_missing(tmp_path) == []  # nothing more to add


def test_add_missing_writes_a_requirements_file_when_there_is_none(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import torch\n")
    assert [f.fix for f in add_missing(tmp_path)] == ["added torch to requirements.txt"]
    assert (tmp_path / "requirements.txt").read_text() == "torch\n"
    assert static_checks(tmp_path) == []


def test_empty_source_files_are_problems(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "model.py").write_text("  \n")
    (tmp_path / "main.py").write_text("import pkg\n")
    found = static_checks(tmp_path)
    assert [(f.kind, f.path, f.matters) for f in found] == [("empty", "model.py", True)]
