"""Import edges between a repository's own Python files, found with ast, and their mermaid form."""

from __future__ import annotations

from papercoder.report.graph import import_graph, module_names, to_mermaid
from tests.report.fixtures import CODE


def test_flat_repository_edges() -> None:
    graph = import_graph({**CODE, "config.yaml": "a: 1\n"})
    assert graph.nodes == ["main.py", "model.py", "utils.py"]
    assert graph.edges == [("main.py", "model.py"), ("main.py", "utils.py"), ("model.py", "utils.py")]
    assert graph.unparsable == []


def test_packages_relative_and_nested_imports() -> None:
    sources = {
        "main.py": "import pkg.train\nfrom pkg import data\nimport numpy as np\nimport os.path\n",
        "pkg/__init__.py": "from .model import Net\n",
        "pkg/model.py": "from . import layers\nimport torch\n",
        "pkg/layers.py": "def f():\n    from .util import helper\n    return helper\n",
        "pkg/util.py": "from ..outside import x\n",
        "pkg/train.py": "from pkg.model import Net\nfrom .data import *\n",
        "pkg/data.py": "from pkg.util import helper\n",
    }
    graph = import_graph(sources)
    assert set(graph.edges) == {
        ("main.py", "pkg/train.py"),
        ("main.py", "pkg/data.py"),
        ("pkg/__init__.py", "pkg/model.py"),
        ("pkg/model.py", "pkg/layers.py"),
        ("pkg/layers.py", "pkg/util.py"),
        ("pkg/train.py", "pkg/model.py"),
        ("pkg/train.py", "pkg/data.py"),
        ("pkg/data.py", "pkg/util.py"),
    }


def test_src_layout_and_unparsable_files() -> None:
    sources = {"src/app/core.py": "x = 1\n", "run.py": "from app.core import x\n", "bad.py": "def (:\n"}
    graph = import_graph(sources)
    assert graph.edges == [("run.py", "src/app/core.py")]
    assert graph.unparsable == ["bad.py"]
    assert module_names("src/app/__init__.py") == ["src.app", "app"]


def test_mermaid_text_is_safe() -> None:
    graph = import_graph({'we"ird<name>.py': "import b\n", "b.py": ""})
    text = to_mermaid(graph)
    assert text is not None
    assert text.splitlines() == ["graph LR", '    n0["b.py"]', '    n1["we_ird_name_.py"]', "    n1 --> n0"]
    assert to_mermaid(import_graph({"README.md": "# hi"})) is None
