"""Static checks on planted repositories: nothing is executed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from papercoder.repo.checks import covers, requirement_names, static_checks
from papercoder.repo.configkeys import config_findings


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


CLEAN = {
    "config.yaml": "model:\n  hidden: 64\ntraining:\n  epochs: 3\n",
    "requirements.txt": "numpy>=1.24\nPyYAML==6.0\nscikit-learn\n",
    "utils.py": "import yaml\n\n\ndef load_config(path):\n    with open(path) as fh:\n"
    "        return yaml.safe_load(fh)\n",
    "pkg/__init__.py": "from pkg.layers import Dense\n",
    "pkg/layers.py": "import numpy as np\n\n\nclass Dense:\n    pass\n",
    "main.py": "import os\nimport sklearn.linear_model\nfrom pkg import Dense, layers\nfrom utils import load_config\n"
    "from . import utils as u\n\ntry:\n    import torch\nexcept ImportError:\n    torch = None\n\n"
    "cfg = load_config('config.yaml')\nmodel_cfg = cfg['model']\n"
    "print(model_cfg['hidden'], cfg['training'].get('epochs'))\n"
    "print(cfg.get('seed', 0), os.environ.get('HOME'))\n",
}


def test_clean_repository_has_no_findings(tmp_path: Path) -> None:
    assert static_checks(write(tmp_path, CLEAN)) == []


def test_each_kind_of_finding(tmp_path: Path) -> None:
    files = dict(CLEAN)
    files["broken.py"] = "def f(:\n    pass\n"
    files["main.py"] = (
        "from utils import load_cfg\nfrom pkg.layer import Dense\nimport modle\nimport torch\n"
        "from utils import load_config\n"
        "cfg = load_config('config.yaml')\nprint(cfg['training']['batch_size'], cfg['model']['hidden'])\n"
    )
    found = [(f.kind, f.path, f.line, f.message) for f in static_checks(write(tmp_path, files))]
    kinds = [k for k, *_ in found]
    assert kinds == ["syntax", "import", "import", "config", "requirements", "requirements"]
    text = "\n".join(m for *_, m in found)
    assert "defines no load_cfg (did you mean load_config?)" in text
    assert "imports pkg.layer, which is no module of the repository" in text
    assert "third-party module modle (package modle)" in text  # no repository module is close: a package
    assert "config.yaml defines no batch_size under training; training has: epochs" in text
    assert "third-party module torch (package torch), but requirements.txt does not list it" in text
    assert found[0][:3] == ("syntax", "broken.py", 1)


def test_missing_or_broken_config_yaml(tmp_path: Path) -> None:
    files = dict(CLEAN, **{"config.yaml": "model: [unclosed\n"})
    found = static_checks(write(tmp_path, files))
    assert [(f.kind, f.path) for f in found] == [("syntax", "config.yaml")]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # A parameter named like a config may hold any part of the file.
        ("def f(cfg):\n    return cfg['hidden']\n", []),
        ("def f(cfg):\n    return cfg['hidden_size']\n", ["hidden_size"]),
        # Bound to the loaded file: strict from the top.
        ("import yaml\ncfg = yaml.safe_load(open('c'))\nx = cfg['hidden']\n", ["hidden"]),
        ("import yaml\ncfg = yaml.safe_load(open('c'))\nm = cfg['model']\nx = m['depth']\n", ["model.depth"]),
        # Optional reads and other dicts are not reported.
        ("import yaml\ncfg = yaml.safe_load(open('c'))\nx = cfg.get('missing', 1)\n", []),
        ("d = {}\nx = d['anything']\n", []),
        ("def f(self):\n    return self.config['model']['width']\n", ["model.width"]),
    ],
)
def test_config_reads(code: str, expected: list[str]) -> None:
    config = {"model": {"hidden": 64}}
    messages = [m for _, m in config_findings(ast.parse(code), config)]
    assert len(messages) == len(expected), messages
    for message, key in zip(messages, expected, strict=True):
        assert f"reads config key {key}," in message


def test_requirement_names_and_import_aliases() -> None:
    names = requirement_names(
        "# comment\nNumPy>=1.2 # pinned\n-r other.txt\ngit+https://x/y.git#egg=My_Pkg\nopencv-python\n"
    )
    assert names == {"numpy", "my-pkg", "opencv-python"}
    assert covers("cv2", names) and covers("numpy", names) and not covers("torch", names)


def test_absurdly_nested_code_is_a_syntax_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text("x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n")
    (tmp_path / "main.py").write_text("import deep\n")
    findings = static_checks(tmp_path)
    assert [(f.kind, f.path) for f in findings if f.kind == "syntax"] == [("syntax", "deep.py")]
