"""When the model's reproduce.sh is kept (``papercoder.repo.script``) and when it is replaced by the standard one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercoder.pipeline.reproduce import fallback_script
from papercoder.repo.script import python_runs, script_problem
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import Paper2CodeScript
from tests.test_pipeline_e2e import run_cli

FILES = {
    "main.py": "print(1)\n",
    "train.py": "print(2)\n",
    "pkg/__init__.py": "",
    "pkg/evaluate.py": "",
    "requirements.txt": "numpy>=1.24\n",
}
SMOKE = "PAPERCODER_SMOKE"
HEAD = (
    '#!/usr/bin/env bash\nset -euo pipefail\ncd "$(dirname "$0")"\n'
    '[ "${1:-}" = "--smoke" ] && export PAPERCODER_SMOKE=1\n'
)
INSTALL = "python3 -m venv .venv\n. .venv/bin/activate\npip install -r requirements.txt\n"


@pytest.mark.parametrize(
    "line",
    [
        "python3 train.py --epochs 30",  # not main.py, not the literal "python main.py"
        ".venv/bin/python -u main.py",
        'exec "$VENV/bin/python" ./main.py "$@"',
        "CUDA_VISIBLE_DEVICES=0 time python3.11 -W ignore train.py && python -m pkg.evaluate",
        "python \\\n  main.py",
    ],
)
def test_a_sound_script_is_kept(line: str) -> None:
    assert script_problem(HEAD + INSTALL + line + "\n", FILES, SMOKE) is None


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("", "no script"),
        (HEAD + INSTALL + "python main.py\npython evaluate.py\n", "runs evaluate.py, which the repository does not"),
        (HEAD + INSTALL + "python -c 'print(1)'\n", "runs no Python file"),
        (HEAD + "python3 -m venv .venv\npython main.py\n", "does not install requirements.txt"),
        ("#!/usr/bin/env bash\n" + INSTALL + "python main.py\n", "ignores --smoke"),
        (HEAD + INSTALL + "if true; then\npython main.py\n", "not valid bash"),
    ],
)
def test_an_unsound_script_says_why(script: str, why: str) -> None:
    problem = script_problem(script, FILES, SMOKE)
    assert problem is not None and why in problem


def test_python_runs_reads_modules_and_files() -> None:
    runs = python_runs("python -m venv .venv\npython -m pip install -r r.txt; python3 main.py | tee log\n")
    assert runs == [("module", "venv"), ("module", "pip"), ("file", "main.py")]


def test_the_standard_script_is_sound() -> None:
    assert script_problem(fallback_script("main.py"), FILES, SMOKE) is None


@pytest.mark.usefixtures("clean_env")
def test_pipeline_keeps_a_sound_script_without_python_main_py(tmp_path: Path) -> None:
    own = HEAD + INSTALL + "echo 'training'\npython3 -u main.py --seed 0\n"
    script = Paper2CodeScript(replies={"repo/reproduce": "```bash\n" + own + "```\n"})
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, EXAMPLE_PAPER, out)
    assert code == 0, output
    assert (out / "repo/reproduce.sh").read_text() == own
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert not any(w.startswith("reproduce.sh") for w in warnings)
