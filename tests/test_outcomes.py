"""How a run ends, through the CLI against the loopback fake server: done, or done-with-problems (exit 4) when
problems remain after the repair round; mechanical requirement fixes; requirements.txt sanitising."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.errors import EXIT_PROBLEMS
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import CODE, FILES, LOGIC_TEXT, Paper2CodeScript

runner = CliRunner()
BROKEN = "def broken(:\n"  # a syntax error, prepended to every file
# The repair a model answers for BROKEN: one edit per file, the bad line replaced by a comment.
FIX_BROKEN = "\n".join(f"{f}\n<<<<<<< SEARCH\n{BROKEN}=======\n# fixed\n>>>>>>> REPLACE\n" for f in FILES)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"OPENAI_API_KEY": TEST_KEY, "COLUMNS": "200"})
    return result.exit_code, result.output


def run_cli(server: FakeOpenAIServer, out: Path, *extra: str) -> tuple[int, str]:
    return invoke(
        "run", str(EXAMPLE_PAPER), "--out", str(out), "--model", "fake-model", "--base-url", server.base_url, *extra
    )


def broken_script(repair: str | None = None) -> Paper2CodeScript:
    script = Paper2CodeScript(code={f: BROKEN + CODE[f] for f in FILES})
    if repair is not None:
        script.replies["repair/checks"] = repair
    return script


def with_packages(packages: list[str], **code: str) -> Paper2CodeScript:
    logic = LOGIC_TEXT.replace('["numpy>=1.24", "pyyaml>=6",]', json.dumps(packages))
    assert logic != LOGIC_TEXT
    return Paper2CodeScript(logic_text=logic, code={**CODE, **code})


def read(out: Path, name: str) -> Any:
    return json.loads((out / name).read_text())


@pytest.mark.usefixtures("clean_env")
def test_syntax_errors_left_by_the_repair_round_end_done_with_problems(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "broken"
    script = broken_script()  # the repair answer holds no edit
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, out, "--json")
        assert code == EXIT_PROBLEMS == 4, output
        data = json.loads(output[output.index("{") :])
        made = len(server.requests)
        # Resuming the same run reaches the same outcome from the cache, now with the closing table and line.
        code, output = run_cli(server, out)
        assert code == 4, output
        assert len(server.requests) == made
    assert script.steps.count("repair/checks") == 1
    assert data["status"] == "done-with-problems"
    assert sorted(data["problems"]) == sorted(f"{f}:1: syntax: SyntaxError: invalid syntax" for f in FILES)
    manifest = read(out, "manifest.json")
    assert manifest["status"] == "done-with-problems" and manifest["problems"] == data["problems"]
    checks = read(out, "checks.json")
    assert checks["passed"] is False and [p["kind"] for p in checks["problems"]] == ["syntax"] * 3
    assert checks["repair"]["applied"] == 0
    # The closing line names the count and where to look; the table's caption says the status, not "done".
    lines = output.splitlines()
    assert any(line.startswith("done-with-problems 3 files in") for line in lines), output
    assert f"3 problems left after the repair round: see {out / 'checks.json'}" in " ".join(output.split())
    assert not any(line.startswith("done ") for line in lines)
    assert re.search(r"run done-with-problems · 3 problems left: see checks\.json", output), output

    code, listing = invoke("runs", str(tmp_path / "runs"))
    assert code == 0 and re.search(r"│ broken +│ done-with-problems +│", listing), listing
    html = (out / "report.html").read_text()
    assert '<span class="badge status-done-with-problems">done-with-problems</span>' in html
    assert "3 problems left after" in html and "main.py:1: syntax: SyntaxError: invalid syntax" in html
    css = (Path(__file__).parents[1] / "src/papercoder/report/assets/report.css").read_text()
    assert (
        ".status-done-with-problems {" in css and "var(--good)" not in css.split(".status-done-with-problems")[1][:80]
    )


@pytest.mark.usefixtures("clean_env")
def test_a_repair_that_fixes_the_syntax_errors_ends_done(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer(broken_script(FIX_BROKEN)) as server:
        code, output = run_cli(server, out, "--json")
    assert code == 0, output
    data = json.loads(output[output.index("{") :])
    assert data["status"] == "done" and data["problems"] == []
    checks = read(out, "checks.json")
    assert [f["kind"] for f in checks["findings"]] == ["syntax"] * 3
    assert checks["repair"]["applied"] == 3 and checks["remaining"] == [] and checks["passed"] is True
    assert (out / "repo/main.py").read_text() == "# fixed\n" + CODE["main.py"]


@pytest.mark.usefixtures("clean_env")
def test_a_missing_third_party_import_is_added_without_a_model_call(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = with_packages(["pyyaml>=6"], **{"model.py": "import sklearn\n" + CODE["model.py"]})
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, out)
        requests = len(server.requests)
    assert code == 0, output
    assert "repair/checks" not in script.steps
    assert requests == 4 + 3 + 3 + 1  # planning, analyses, coding, reproduce.sh: no repair call
    assert (out / "repo/requirements.txt").read_text() == "pyyaml>=6\nscikit-learn\n"
    checks = read(out, "checks.json")
    assert [f["kind"] for f in checks["findings"]] == ["requirements"]
    assert checks["mechanical"] == [{"finding": checks["findings"][0], "fix": "added scikit-learn to requirements.txt"}]
    assert checks["repair"] is None and checks["remaining"] == [] and checks["passed"] is True


@pytest.mark.usefixtures("clean_env")
def test_an_uncertain_import_stays_a_finding_that_is_no_problem(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = with_packages(["numpy>=1.24", "pyyaml>=6"], **{"model.py": "import fancylib\n" + CODE["model.py"]})
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, out, "--json")
    assert code == 0, output  # reported, and the repair round was asked, but the code can run: done
    assert script.steps.count("repair/checks") == 1
    checks = read(out, "checks.json")
    assert checks["mechanical"] == [] and [f["kind"] for f in checks["remaining"]] == ["requirements"]
    assert checks["problems"] == [] and json.loads(output[output.index("{") :])["status"] == "done"
    assert "fancylib" not in (out / "repo/requirements.txt").read_text()


@pytest.mark.usefixtures("clean_env")
def test_requirements_keep_specifiers_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    entries = ["--extra-index-url=http://x", "-r /etc/passwd", "git+https://github.com/x/y.git", "./local"]
    script = with_packages(["numpy>=1.24", *entries, "pyyaml>=6"])
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, out)
    assert code == 0, output
    assert (out / "repo/requirements.txt").read_text() == "numpy>=1.24\npyyaml>=6\n"
    checks = read(out, "checks.json")
    dropped = [f for f in checks["findings"] if f["path"] == "requirements.txt"]
    assert [f["kind"] for f in dropped] == ["requirements"] * 4
    for entry, finding in zip(entries, dropped, strict=True):
        assert finding["message"].startswith(f"left `{entry}` out of requirements.txt: ")
    assert "pip option" in dropped[0]["message"] and "URL" in dropped[2]["message"] and "path" in dropped[3]["message"]
    # Reported, not sent to a repair round (nothing is left to repair), and no problem: the run is done.
    assert "repair/checks" not in script.steps and checks["problems"] == []
    warnings = "\n".join(read(out, "manifest.json")["warnings"])
    assert all(f"left out `{entry}`" in warnings for entry in entries)


@pytest.mark.usefixtures("clean_env")
def test_an_answer_headed_for_another_file_is_a_problem(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = Paper2CodeScript()
    script.replies["coding/utils.py"] = "**model.py**\n```python\n" + CODE["model.py"] + "```\n"
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, out, "--json")
    assert code == 4, output
    data = json.loads(output[output.index("{") :])
    expected = "utils.py: misdirected: the answer for utils.py is headed for model.py (its header names model.py)"
    assert data["status"] == "done-with-problems" and data["problems"][0].startswith(expected), data["problems"]
    assert read(out, "coding/findings.json")[0]["kind"] == "misdirected"
    warnings = "\n".join(read(out, "manifest.json")["warnings"])
    assert "coding utils.py: the answer is headed for model.py, not utils.py" in warnings
    assert script.steps.count("repair/checks") == 1  # shown to the repair round, which changed nothing
