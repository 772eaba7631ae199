"""safe_repo_path, dedupe_paths and is_source_file on file names as models write them."""

from __future__ import annotations

import pytest

from papercoder.parsing.paths import dedupe_paths, is_source_file, safe_repo_path


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("model.py", "model.py"),
        ("src/models/transformer.py", "src/models/transformer.py"),
        (".gitignore", ".gitignore"),
        (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
        ("configs/.env.example", "configs/.env.example"),
        ("my file.py", "my file.py"),
    ],
)
def test_fine_names_pass_unchanged(name: str, path: str) -> None:
    assert safe_repo_path(name) == (path, None)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("./model.py", "model.py"),
        ("././src/./model.py", "src/model.py"),
        ("src//model.py", "src/model.py"),
        ("a//b.py", "a/b.py"),
        ("src\\data\\loader.py", "src/data/loader.py"),
        ("`model.py`", "model.py"),
        ("'model.py'", "model.py"),
        ('"model.py"', "model.py"),
        ("\u201cmodel.py\u201d", "model.py"),
        ("**model.py**", "model.py"),
        ("**`model.py`**", "model.py"),
        ("- model.py", "model.py"),
        ("* model.py", "model.py"),
        ("1. model.py", "model.py"),
        ("12) model.py", "model.py"),
        ("- `src/model.py`", "src/model.py"),
        ("model.py:", "model.py"),
        ("  model.py \n", "model.py"),
        ("\tmodel.py", "model.py"),
        ("model.py # the model", "model.py"),
        ("model.py: defines the Model class", "model.py"),
        ("- `model.py` - the model", "model.py"),
        ("**src/train.py** (entry point)", "src/train.py"),
    ],
)
def test_names_are_normalised_with_a_warning(name: str, path: str) -> None:
    got, warning = safe_repo_path(name)
    assert got == path
    assert warning is not None and repr(name) in warning and repr(path) in warning and "\n" not in warning


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../../etc/passwd", "'..'"),
        ("a/../../b.py", "'..'"),
        ("src/..", "'..'"),
        ("..\\..\\x.py", "'..'"),
        ("/abs.py", "absolute"),
        ("/etc/passwd", "absolute"),
        ("C:\\x.py", "absolute"),
        ("c:/x.py", "absolute"),
        ("C:x.py", "absolute"),
        ("\\\\server\\share\\x.py", "absolute"),
        ("~/x.py", "absolute"),
        ("`/abs.py`", "absolute"),
        ("", "empty"),
        ("   ", "empty"),
        ("``", "empty"),
        ("./", "directory"),
        (".", "empty"),
        ("data/", "directory"),
        ("src\\", "directory"),
        ("bad\x00name.py", "control"),
        ("a\nb.py", "control"),
        ("x\x1b[31m.py", "control"),
        (".git/config", ".git"),
        ("src/.git/hooks/pre-commit", ".git"),
        (".GIT/HEAD", ".git"),
        (".git", ".git"),
        (".venv/lib/x.py", "hidden folder"),
        ("src/.cache/x.py", "hidden folder"),
        ("a/" * 130 + "x.py", "255"),
    ],
)
def test_unsafe_names_are_refused(name: str, why: str) -> None:
    got, reason = safe_repo_path(name)
    assert got is None
    assert reason is not None and why in reason and "\n" not in reason and len(reason) < 200


def test_exactly_255_characters_is_allowed() -> None:
    name = "pkg/" * 50 + "a" * 52 + ".py"
    assert len(name) == 255 and safe_repo_path(name) == (name, None)


@pytest.mark.parametrize("name", ["modèle.py", "données/modèle.py", "é" * 98 + ".py", "a" * 197 + ".py"])
def test_non_ascii_names_up_to_200_bytes_a_component_are_allowed(name: str) -> None:
    assert safe_repo_path(name) == (name, None)


@pytest.mark.parametrize("name", ["a" * 198 + ".py", "é" * 99 + ".py", "src/" + "b" * 240 + "/x.py"])
def test_a_component_over_200_bytes_is_refused(name: str) -> None:
    # Legal alone (under 255), but the run writes analysis/<name>.md through .<name>.md.XXXXXXXX.tmp.
    got, reason = safe_repo_path(name)
    assert got is None and reason is not None and "longer than 200 bytes" in reason


def test_dedupe_keeps_first_and_warns() -> None:
    names = ["model.py", "./model.py", "Model.py", "../x.py", "train.py", "train.py", "- utils.py", "utils.py"]
    kept, warnings = dedupe_paths(names)
    assert kept == ["model.py", "train.py", "utils.py"]
    assert len(warnings) == 6
    joined = "\n".join(warnings)
    for fragment in ["'./model.py'", "'Model.py'", "up to case", "'../x.py'", "duplicate 'train.py'", "'- utils.py'"]:
        assert fragment in joined


@pytest.mark.parametrize(
    ("names", "kept"),
    [
        ([], []),
        (["A.py", "a.py"], ["A.py"]),
        (["src/Model.py", "SRC/model.py", "src/model.PY"], ["src/Model.py"]),
        (["a.py", "a//b.py", "a/b.py"], ["a.py", "a/b.py"]),
        (["/etc/x", "C:\\x.py", ".git/config"], []),
    ],
)
def test_dedupe_cases(names: list[str], kept: list[str]) -> None:
    assert dedupe_paths(names)[0] == kept


def test_dedupe_clean_input_has_no_warnings() -> None:
    assert dedupe_paths(["main.py", "model.py", "config.yaml"]) == (["main.py", "model.py", "config.yaml"], [])


@pytest.mark.parametrize(
    "path",
    [
        "model.py",
        "pkg/__init__.py",
        "config.yaml",
        "configs/base.yml",
        "package.json",
        "pyproject.toml",
        "setup.cfg",
        "pytest.ini",
        "requirements.txt",
        "README.md",
        "scripts/run.sh",
        "kernels/attn.cu",
        "Makefile",
        "Dockerfile",
        "LICENSE",
        ".gitignore",
        "MODEL.PY",
    ],
)
def test_source_files(path: str) -> None:
    assert is_source_file(path)


@pytest.mark.parametrize(
    "path",
    [
        "weights.pt",
        "checkpoints/model.ckpt",
        "model.safetensors",
        "figure.png",
        "plots/loss.pdf",
        "data.csv",
        "data/train.jsonl",
        "features.npy",
        "archive.zip",
        "notebook.ipynb",
        "src/",
        "data",
        "",
    ],
)
def test_not_source_files(path: str) -> None:
    assert not is_source_file(path)
