"""The generated repository's README: written from the plan and analyses, with no model call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercoder.paper.citations import cited_sections, split_title
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.scenario import ARCHITECTURE, Paper2CodeScript
from tests.test_pipeline_e2e import run_cli

TITLES = ["1 Introduction", "2 Method", "3 Experimental Setup", "3.1 Data", "A.1 Proofs", "Related work"]


def test_split_title() -> None:
    assert split_title("3.1 Data") == ("3.1", "Data")
    assert split_title("A Study of Things") == (None, "A Study of Things")


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("Implements Section 3.1.", [3]),
        ("See Sec. 3.4 for the schedule.", [2]),  # no 3.4 in the paper: its parent
        ("As §2 says, and the experimental setup.", [1, 2]),
        ("Proofs in Section A.1; cf. related work.", [4, 5]),
        ("Our method and results.", []),  # one-word short titles are too common to count by name
    ],
)
def test_cited_sections(text: str, cited: list[int]) -> None:
    assert cited_sections(text, TITLES) == cited


@pytest.mark.usefixtures("clean_env")
def test_readme_says_what_each_file_implements_and_how_to_run_it(tmp_path: Path) -> None:
    script = Paper2CodeScript(
        architecture=dict(ARCHITECTURE, **{"Anything UNCLEAR": "The paper gives no learning-rate schedule."}),
        replies={"analysis/model.py": "Implements the scores of Section 2 and the setup of the Experimental Setup."},
    )
    out = tmp_path / "run"
    with FakeOpenAIServer(script) as server:
        code, output = run_cli(server, EXAMPLE_PAPER, out)
        calls = len(server.chat_requests)
    assert code == 0, output
    readme = (out / "repo/README.md").read_text()
    assert readme.startswith("# Temperature-Scaled Prototype Networks for Small Tabular Datasets\n")
    assert "| `model.py` | PrototypeNet; imports load_config from utils. | 2 Method, 3 Experimental Setup |" in readme
    assert "| `utils.py` | Loads config.yaml. | — |" in readme
    assert "pip install -r requirements.txt" in readme and "`numpy>=1.24`, `pyyaml>=6`" in readme
    assert "`bash reproduce.sh --smoke`" in readme and "PAPERCODER_SMOKE=1" in readme
    assert "The paper gives no learning-rate schedule." in readme
    assert "## Known problems" not in readme
    assert calls == 4 + 3 + 3 + 1  # planning, analyses, coding, reproduce.sh: the README costs no call
    manifest = json.loads((out / "manifest.json").read_text())
    assert "README.md" in manifest["repo_sha256"]  # recorded like every file the pipeline wrote
