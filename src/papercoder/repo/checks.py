"""Static checks of a generated repository; nothing in it is executed.

Five kinds of finding:

* ``syntax``: a ``.py`` file that does not parse (or a ``config.yaml`` that is not a YAML mapping);
* ``empty``: a ``.py`` file with no code (``__init__.py`` may be empty);
* ``import``: an import of a repository module that resolves to no file, or a name the module does not define
  (top-level functions, classes, assignments and imports count; ``from pkg import mod`` with ``pkg/mod.py`` counts;
  a module with ``from x import *`` or a module-level ``__getattr__`` is taken to define everything), or a name a
  file uses as an attribute of an imported repository module (``model.Encoder``) that the module does not define
  (``papercoder.repo.module_attrs``);
* ``config``: a key read from ``config.yaml`` that the file does not define (see ``papercoder.repo.configkeys``),
  or a setting of its ``unstated`` group without the comment that says why it was chosen (``repo.configgroups``);
* ``requirements``: a third-party import that ``requirements.txt`` does not cover (standard library from
  ``sys.stdlib_module_names``; usual import→package names such as ``sklearn``→``scikit-learn`` are known), or a
  requirement with no release for the Python in use (``torch==1.8.1`` on 3.11; ``papercoder.repo.pycompat``).

Imports inside ``try`` blocks that handle ``ImportError`` and under ``if TYPE_CHECKING`` are optional: no finding.
The import checks live in ``papercoder.repo.import_checks``, the ``Finding`` type in ``papercoder.repo.findings``.

Syntax, empty and import findings are problems (``Finding.matters``): the code cannot run as written, and a run
that ends with one is ``done-with-problems``. Config and requirements findings are reported, not problems.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from papercoder.repo.configgroups import group_findings
from papercoder.repo.configkeys import config_findings
from papercoder.repo.findings import Finding
from papercoder.repo.import_checks import ModuleIndex, import_findings
from papercoder.repo.pycompat import install_problems
from papercoder.repo.walk import read_text, walk_files

# Import name → the distributions that provide it (normalised names), where they differ.
IMPORT_TO_PACKAGES: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "skimage": ("scikit-image",),
    "yaml": ("pyyaml",),
    "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"),
    "PIL": ("pillow", "pillow-simd"),
    "torch": ("torch", "pytorch"),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
    "dotenv": ("python-dotenv",),
    "attr": ("attrs",),
    "Crypto": ("pycryptodome", "pycryptodomex"),
    "jwt": ("pyjwt",),
    "git": ("gitpython",),
    "Levenshtein": ("python-levenshtein", "levenshtein"),
    "OpenGL": ("pyopengl",),
    "serial": ("pyserial",),
    "usb": ("pyusb",),
    "magic": ("python-magic",),
    "docx": ("python-docx",),
    "pptx": ("python-pptx",),
    "fitz": ("pymupdf",),
    "Bio": ("biopython",),
    "gym": ("gym", "gymnasium"),
    "tensorflow_datasets": ("tensorflow-datasets",),
    "tf_keras": ("tf-keras",),
    "google": ("protobuf",),
    "jax": ("jax", "jaxlib"),
    "sentence_transformers": ("sentence-transformers",),
    "pytorch_lightning": ("pytorch-lightning", "lightning"),
    "lightning": ("lightning", "pytorch-lightning"),
    "torch_geometric": ("torch-geometric",),
    "faiss": ("faiss-cpu", "faiss-gpu"),
    "umap": ("umap-learn",),
    "mpl_toolkits": ("matplotlib",),
    "igraph": ("python-igraph", "igraph"),
    "wx": ("wxpython",),
    "zmq": ("pyzmq",),
    "lxml": ("lxml",),
    "huggingface_hub": ("huggingface-hub",),
    "accelerate": ("accelerate",),
    "tensorboardX": ("tensorboardx",),
}


def normalise_package(name: str) -> str:
    """PEP 503 normalisation: lower case, runs of ``-_.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(text: str) -> set[str]:
    """The normalised distribution names a requirements.txt lists (options, URLs and comments skipped)."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", raw)
        if egg:
            names.add(normalise_package(egg.group(1)))
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and "://" not in line.split(" ")[0]:
            names.add(normalise_package(match.group(1)))
    return names


def covers(import_name: str, listed: set[str]) -> bool:
    """Whether a requirement in ``listed`` (normalised names) provides the top-level module ``import_name``."""
    wanted = {normalise_package(import_name), *IMPORT_TO_PACKAGES.get(import_name, ())}
    if import_name == "google" and any(n.startswith("google") for n in listed):
        return True
    return bool(wanted & listed)


def load_config_yaml(repo: Path) -> tuple[dict[str, Any] | None, Finding | None]:
    """The parsed ``config.yaml`` of ``repo`` (None when absent), or a syntax finding when it does not parse."""
    path = repo / "config.yaml"
    if not path.is_file():
        return None, None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, Finding("syntax", "config.yaml", line, f"config.yaml is not valid YAML ({exc.__class__.__name__})")
    except (OSError, UnicodeDecodeError):
        return None, Finding("syntax", "config.yaml", None, "config.yaml cannot be read as UTF-8 text")
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, Finding("syntax", "config.yaml", 1, f"config.yaml is a {type(data).__name__}, not a mapping")
    return data, None


def static_checks(repo: Path) -> list[Finding]:
    """Every finding in the repository folder ``repo`` (see the module docstring), in path and line order."""
    findings, third_party = _scan(repo)
    findings.extend(f for _, f in _missing(repo, third_party))
    req = repo / "requirements.txt"
    if req.is_file():  # pins with no release for this Python (``papercoder.repo.pycompat``)
        text = req.read_text(encoding="utf-8", errors="replace")
        findings.extend(Finding("requirements", "requirements.txt", n, m) for n, m in install_problems(text))
    order = {"syntax": 0, "empty": 1, "import": 2, "config": 3, "requirements": 4}
    return sorted(set(findings), key=lambda f: (order.get(f.kind, 9), f.path, f.line or 0, f.message))


def missing_requirements(repo: Path) -> list[tuple[str, Finding]]:
    """The third-party imports of ``repo`` that requirements.txt does not cover: (import name, its finding)."""
    return _missing(repo, _scan(repo)[1])


def _scan(repo: Path) -> tuple[list[Finding], dict[str, tuple[str, int]]]:
    """The findings but requirements ones, and each third-party import's first place (path, line)."""
    findings: list[Finding] = []
    trees: dict[str, ast.Module] = {}
    for rel, file in walk_files(repo):
        if file.suffix != ".py":
            continue
        text = read_text(file)
        if text is None:
            continue
        if not text.strip() and PurePosixPath(rel).name != "__init__.py":
            findings.append(Finding("empty", rel, None, "the file is empty"))
        try:
            trees[rel] = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            findings.append(Finding("syntax", rel, exc.lineno, f"SyntaxError: {exc.msg}"))
        except ValueError as exc:  # a NUL byte, for one
            findings.append(Finding("syntax", rel, None, f"does not parse: {exc}"))
        except (RecursionError, MemoryError):  # absurdly nested expressions: Python's own parser gives up too
            findings.append(Finding("syntax", rel, None, "does not parse: nested too deeply"))
    index = ModuleIndex(trees)
    third_party: dict[str, tuple[str, int]] = {}
    for rel, tree in trees.items():
        findings.extend(import_findings(rel, tree, index, third_party))
    config, problem = load_config_yaml(repo)
    if problem is not None:
        findings.append(problem)
    if config is not None:
        for rel, tree in trees.items():
            findings.extend(Finding("config", rel, line, message) for line, message in config_findings(tree, config))
        text = (repo / "config.yaml").read_text(encoding="utf-8", errors="replace")
        findings.extend(Finding("config", "config.yaml", line, message) for line, message in group_findings(text))
    return findings, third_party


def _missing(repo: Path, third_party: dict[str, tuple[str, int]]) -> list[tuple[str, Finding]]:
    if not third_party:
        return []
    req = repo / "requirements.txt"
    listed = requirement_names(req.read_text(encoding="utf-8", errors="replace")) if req.is_file() else set()
    findings: list[tuple[str, Finding]] = []
    for name, (path, line) in sorted(third_party.items()):
        if covers(name, listed):
            continue
        package = IMPORT_TO_PACKAGES.get(name, (normalise_package(name),))[0]
        where = "requirements.txt does not list it" if req.is_file() else "there is no requirements.txt"
        message = f"imports the third-party module {name} (package {package}), but {where}"
        findings.append((name, Finding("requirements", path, line, message)))
    return findings
