"""Requirements with no release for the Python in use become findings with a range that installs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import papercoder.pipeline  # noqa: F401  (papercoder.repo.checks is imported through the pipeline package)
from papercoder.repo.checks import static_checks
from papercoder.repo.pycompat import install_problems
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import LOGIC_TEXT, Paper2CodeScript
from tests.test_pipeline_e2e import run_cli

OLD_TORCH = sys.version_info >= (3, 11)  # torch==1.8.1 has no wheel for this Python (papercoder needs 3.11+)


@pytest.mark.parametrize(
    ("requirement", "python", "suggested"),
    [
        ("torch==1.8.1", (3, 11), "torch>=2.0"),
        ("torch<1.9", (3, 11), "torch>=2.0"),
        ("tensorflow==2.4.0", (3, 11), "tensorflow>=2.12"),
        ("numpy==1.19.5", (3, 12), "numpy>=1.26.0"),
        ("scipy~=1.5.0", (3, 11), "scipy>=1.9.2"),
        ("numpy>=2.1", (3, 9), "numpy>=1.19.3,<2.1"),
        ("torch==2.1", (3, 7), "torch<2.0"),
    ],
)
def test_a_pin_that_cannot_install_is_named_with_a_range(
    requirement: str, python: tuple[int, int], suggested: str
) -> None:
    [(line, message)] = install_problems(f"pyyaml>=6\n{requirement}\n", python)
    assert line == 2
    assert f"cannot install on Python {python[0]}.{python[1]}" in message and f"use `{suggested}`" in message


@pytest.mark.parametrize(
    "requirement",
    [
        "torch>=1.8",  # admits 2.x
        "torch>=1.0,!=2.0.0",
        "numpy==2.2.0",
        "torch==1.8.1; python_version < '3.9'",  # not installed on 3.11 at all
        "somepackage==0.0.1",  # unknown package: never guessed
        "torch",
    ],
)
def test_what_can_install_or_is_unknown_is_no_finding(requirement: str) -> None:
    assert install_problems(requirement, (3, 11)) == []


def test_a_python_newer_than_the_table_is_not_flagged() -> None:
    assert install_problems("torch==1.8.1", (3, 30)) == []


def test_static_checks_report_it_on_requirements_txt(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import torch\n")
    (tmp_path / "requirements.txt").write_text("torch==1.8.1\n")
    findings = [f for f in static_checks(tmp_path) if f.path == "requirements.txt"]
    assert len(findings) == int(OLD_TORCH)
    if OLD_TORCH:
        assert findings[0].kind == "requirements" and findings[0].line == 1 and "torch>=2.0" in findings[0].message
        assert not findings[0].matters  # reported and repaired, but alone it leaves the run done


@pytest.mark.usefixtures("clean_env")
def test_the_repair_round_gets_the_finding(tmp_path: Path) -> None:
    logic = LOGIC_TEXT.replace('"numpy>=1.24"', '"torch==1.8.1"')
    script = Paper2CodeScript(logic_text=logic)
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, EXAMPLE_PAPER, out)
        repairs = [r for r in server.chat_requests if r.headers.get("x-papercoder-step") == "repair/checks"]
    assert code == 0, output
    checks = json.loads((out / "checks.json").read_text())
    messages = [f["message"] for f in checks["findings"] if f["path"] == "requirements.txt"]
    assert len(messages) == 1 and "use `torch>=2.0`" in messages[0]
    [repair] = repairs
    prompt = json.dumps(repair.body["messages"])
    assert "cannot install on Python" in prompt and "torch==1.8.1" in prompt
