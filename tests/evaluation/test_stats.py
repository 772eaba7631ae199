"""Table-1 statistics of a small folder, with the expected numbers computed here."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from papercoder.evaluation.stats import count_functions, repo_stats
from papercoder.paper.tokens import count_tokens
from tests.evaluation.test_cli import make_app

FILES = {
    "main.py": "import model\n\n\ndef main() -> None:\n    model.run()\n",
    "pkg/model.py": (
        "class Net:\n    def __init__(self):\n        self.x = 1\n\n    async def forward(self):\n"
        "        def inner():\n            return 2\n        return inner()\n\n\ndef run():\n    return Net()\n"
    ),
    "broken.py": "def oops(:\n    pass\n",
    "scripts/train.sh": "python main.py --epochs 3\n",
    "config.yaml": "lr: 0.01\nepochs: 3\n",
}
IGNORED = {
    "README.md": "# Readme\n",  # documentation: neither tokens nor files
    "data/table.csv": "a,b\n1,2\n",
    "__pycache__/model.cpython-311.py": "def cached(): pass\n",
    ".hidden/secret.py": "def hidden(): pass\n",
}


def build(root: Path) -> None:
    for rel, text in {**FILES, **IGNORED}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_repo_stats_exact_counts(tmp_path: Path) -> None:
    build(tmp_path)
    stats = repo_stats(tmp_path)
    assert stats.tokens == sum(count_tokens(text) for text in FILES.values())
    assert stats.files == 4  # main.py, pkg/model.py, broken.py, scripts/train.sh (config.yaml is not code)
    # main; __init__, forward (async), inner (nested), run; broken.py does not parse and counts 0.
    assert stats.functions == 5
    assert stats.unparsable == ["broken.py"]
    assert sorted(stats.source_files) == sorted(FILES)


def test_count_functions() -> None:
    assert count_functions("def a():\n    def b(): pass\nclass C:\n    async def d(self): pass\n") == 3
    assert count_functions("lambda: 1\n") == 0
    assert count_functions("def (") is None


def test_stats_command(tmp_path: Path) -> None:
    build(tmp_path)
    result = CliRunner().invoke(make_app(), ["stats", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"functions": 5' in result.output
