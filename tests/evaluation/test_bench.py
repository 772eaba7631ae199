"""``papercoder bench`` end to end: three tiny papers in two groups, every method, both judge modes, a failure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.evaluation.bench import discover, parse_methods, parse_modes
from papercoder.paper.tokens import count_tokens
from papercoder.parsing.code_extract import extract_code
from tests.conftest import TEST_KEY
from tests.evaluation.helpers import judge_json
from tests.evaluation.test_cli import make_app, runner
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import CODE, CONFIG, REPRODUCE, Paper2CodeScript

PAPERS = {"iclr/alpha.md": "Alpha", "iclr/beta.md": "Beta", "icml/gamma.md": "Gamma"}
MARKERS = {
    "papercoder": "class PrototypeNet",
    "paper": "class PaperBaseline",
    "abstract": "class AbstractBaseline",
    "oracle": "class GoldNet",
}
# The two judge samples for (method, paper, mode).
SCORES = {
    ("papercoder", "Alpha", "ref-free"): [5, 5],
    ("papercoder", "Beta", "ref-free"): [4, 3],
    ("papercoder", "Gamma", "ref-free"): [4, 4],
    ("paper", "Alpha", "ref-free"): [3, 3],
    ("paper", "Gamma", "ref-free"): [3, 2],
    ("abstract", "Alpha", "ref-free"): [2, 2],
    ("abstract", "Beta", "ref-free"): [2, 1],
    ("abstract", "Gamma", "ref-free"): [1, 1],
    ("oracle", "Alpha", "ref-free"): [5, 5],
    ("papercoder", "Alpha", "ref-based"): [4, 4],
    ("paper", "Alpha", "ref-based"): [2, 2],
    ("abstract", "Alpha", "ref-based"): [1, "one"],
}


def paper_text(title: str) -> str:
    return (
        f"# {title} Paper\n\n## Abstract\n\nWe classify with prototypes ({title}).\n\n## Method\n\n"
        "An MLP embeds inputs; logits are negative distances to learned prototypes.\n"
    )


class BenchScript(Paper2CodeScript):
    """The pipeline script, plus the baselines' one-shot answers and the judge's samples."""

    def __call__(self, request: RecordedRequest) -> Reply | list[Reply]:  # type: ignore[override]
        step = request.headers.get("x-papercoder-step", "")
        prompt = request.last_user_content
        title = next((t for t in PAPERS.values() if f"{t} Paper" in prompt), "")
        if step.startswith("baseline/"):
            with self._lock:
                self.steps.append(step)
            if step == "baseline/paper" and title == "Beta":
                return Reply(content="Sorry, I only describe the code in words.")
            cls = "PaperBaseline" if step == "baseline/paper" else "AbstractBaseline"
            return Reply(
                content=f"### File: main.py\n```python\nclass {cls}:\n    def run(self):\n"
                f"        pass\n```\n### File: ../evil.py\n```\nx = 1\n```\n"
            )
        if step.startswith("eval/"):
            with self._lock:
                self.steps.append(step)
            repo = prompt.split("# The repository under review", 1)[1]
            method = next(m for m, marker in MARKERS.items() if marker in repo)
            scores = SCORES[(method, title, step.split("/")[1])]
            return [Reply(content=judge_json(s)) for s in scores]
        return super().__call__(request)


def make_dataset(root: Path) -> Path:
    for rel, title in PAPERS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(paper_text(title))
    gold = root / "iclr" / "alpha_gold"
    gold.mkdir()
    (gold / "net.py").write_text("class GoldNet:\n    def forward(self):\n        pass\n")
    (root / "README.md").write_text("# my dataset\n")
    return root


@pytest.mark.usefixtures("clean_env")
def test_bench_table(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path / "data")
    out = tmp_path / "bench"
    script = BenchScript()
    args = [
        "bench",
        str(dataset),
        "--methods",
        "papercoder,paper,abstract,oracle",
        "--eval",
        "ref-free,ref-based",
        "-n",
        "2",
        "--out",
        str(out),
        "--model",
        "fake-model",
        "--concurrency",
        "3",
    ]
    with FakeOpenAIServer(script) as srv:
        result = runner.invoke(make_app(), [*args, "--base-url", srv.base_url], env={"OPENAI_API_KEY": TEST_KEY})
        assert result.exit_code == 0, result.output
        first_requests = len(srv.chat_requests)
        srv.raise_errors()

    rows = {(r["method"], r["group"], r["mode"]): r for r in csv.DictReader((out / "results.csv").open())}
    assert len(rows) == 4 * 2 * 2

    def cell(method: str, group: str, mode: str) -> tuple[str, str, str, str, str]:
        r = rows[(method, group, mode)]
        return r["mean"], r["std"], r["papers"], r["failed"], r["skipped"]

    # papercoder iclr: alpha 5.0, beta 3.5 → mean 4.25, population std 0.75.
    assert cell("papercoder", "iclr", "ref-free") == ("4.25", "0.75", "2", "0", "0")
    assert cell("papercoder", "icml", "ref-free") == ("4.0", "0.0", "1", "0", "0")
    # The paper baseline failed on beta: alpha alone counts, the failure is recorded.
    assert cell("paper", "iclr", "ref-free") == ("3.0", "0.0", "1", "1", "0")
    assert cell("paper", "icml", "ref-free") == ("2.5", "0.0", "1", "0", "0")
    assert cell("abstract", "iclr", "ref-free") == ("1.75", "0.25", "2", "0", "0")
    assert cell("oracle", "iclr", "ref-free") == ("5.0", "0.0", "1", "0", "1")  # beta has no gold
    assert cell("oracle", "icml", "ref-free") == ("", "", "0", "0", "1")
    # Reference-based: only alpha has a gold repository; the invalid sample "one" is dropped.
    assert cell("papercoder", "iclr", "ref-based") == ("4.0", "0.0", "1", "0", "1")
    assert cell("abstract", "iclr", "ref-based") == ("1.0", "0.0", "1", "0", "1")
    assert cell("paper", "iclr", "ref-based") == ("2.0", "0.0", "1", "0", "1")  # beta failed, but has no gold
    assert cell("papercoder", "icml", "ref-based") == ("", "", "0", "0", "1")
    assert cell("oracle", "iclr", "ref-based") == ("", "", "0", "0", "2")

    # Statistics: the pipeline's three files, reproduce.sh and config.yaml; the baselines' single main.py.
    script = extract_code(REPRODUCE, filename="reproduce.sh")
    expected_tokens = sum(count_tokens(c) for c in CODE.values()) + count_tokens(CONFIG) + count_tokens(script)
    papercoder = rows[("papercoder", "iclr", "ref-free")]
    assert (float(papercoder["tokens"]), float(papercoder["files"]), float(papercoder["functions"])) == (
        expected_tokens,
        4.0,
        3.0,
    )
    abstract = rows[("abstract", "iclr", "ref-free")]
    assert (float(abstract["files"]), float(abstract["functions"])) == (1.0, 1.0)

    table = (out / "results.md").read_text()
    assert "| Method | ref-free iclr | ref-free icml | ref-based iclr | ref-based icml | # Tokens |" in table
    assert "| papercoder | 4.25 (0.75) | 4.00 (0.00) | 4.00 (0.00) | N/A |" in table
    assert "| paper | 3.00 (0.00) [1 failed] | 2.50 (0.00) |" in table
    assert "iclr/beta [paper]: StageError" in table
    papers = list(csv.DictReader((out / "papers.csv").open()))
    assert len(papers) == 3 * 4 * 2
    beta = next(p for p in papers if (p["paper"], p["method"], p["mode"]) == ("beta", "paper", "ref-free"))
    assert beta["mean"] == "" and "StageError" in beta["error"]
    saved = json.loads((out / "iclr" / "alpha" / "abstract" / "eval" / "ref-based.json").read_text())
    assert (saved["valid"], saved["n"], saved["scores"]) == (1, 2, [1])
    assert not (out / "iclr" / "alpha" / "paper" / "evil.py").exists()
    assert "papercoder" in result.output and "4.25 (0.75)" in result.output

    # Resumable: a second run re-asks only the failed baseline (its bad answer is not cached).
    with FakeOpenAIServer(BenchScript()) as srv:
        again = runner.invoke(make_app(), [*args, "--base-url", srv.base_url], env={"OPENAI_API_KEY": TEST_KEY})
        assert again.exit_code == 0, again.output
        assert [r.headers["x-papercoder-step"] for r in srv.chat_requests] == ["baseline/paper"]
    assert first_requests > 20
    assert (out / "results.md").read_text() == table


def test_discover_layout(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    for rel in [
        "top.md",
        "top_gold/a.py",
        "g1/p.md",
        "g1/gold/p/x.py",
        "g1/q.pdf",
        "gold/top/x.py",
        "g2/.hidden.md",
        "g2/_draft.md",
        "g2/rubric.json",
        "g2/r.tex",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    entries = {(e.group, e.name): e for e in discover(root)}
    assert sorted(entries) == [("ds", "top"), ("g1", "p"), ("g1", "q"), ("g2", "r")]
    assert entries[("ds", "top")].gold == root / "top_gold"
    assert entries[("g1", "p")].gold == root / "g1" / "gold" / "p"
    assert entries[("g1", "q")].gold is None
    (root / "g1" / "p.txt").write_text("x")
    with pytest.raises(InputError, match="share the name"):
        discover(root)


def test_option_parsing() -> None:
    assert parse_methods("papercoder, paper,papercoder") == ["papercoder", "paper"]
    assert parse_modes("ref-based,ref-free") == ["ref-based", "ref-free"]
    with pytest.raises(InputError, match="chatdev"):
        parse_methods("papercoder,chatdev")
    with pytest.raises(InputError):
        parse_modes("both")
