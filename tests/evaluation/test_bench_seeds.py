"""``bench --seeds K``: one run dir per seed, the seed sent with every call (so answers and cache keys differ), each
seed a sample of the table, and the seeded runs resumable."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from papercoder.llm.base import CallSettings
from papercoder.llm.cache import cache_key
from tests.conftest import TEST_KEY
from tests.evaluation.helpers import judge_json
from tests.evaluation.test_bench import BenchScript, paper_text
from tests.evaluation.test_cli import make_app, runner
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply


class SeedScript(BenchScript):
    """Judges a seed's repository by its seed: seed 1 scores 2, seed 2 scores 4 (the answers differ per seed)."""

    def __call__(self, request: RecordedRequest) -> Reply | list[Reply]:  # type: ignore[override]
        step = request.headers.get("x-papercoder-step", "")
        if step.startswith("baseline/"):
            seed = request.body.get("seed")
            return Reply(content=f"### File: main.py\n```python\nclass PaperBaseline:\n    seed = {seed}\n```\n")
        if step == "eval/ref-free":
            seed = 1 if "seed = 1" in request.last_user_content else 2
            return [Reply(content=judge_json(2 * seed)) for _ in range(2)]
        return super().__call__(request)


@pytest.mark.usefixtures("clean_env")
def test_seeds_run_dirs_calls_and_table(tmp_path: Path) -> None:
    dataset = tmp_path / "data"
    dataset.mkdir()
    (dataset / "alpha.md").write_text(paper_text("Alpha"))
    out = tmp_path / "bench"
    args = ["bench", str(dataset), "--methods", "paper", "-n", "2", "--seeds", "2", "--out", str(out)]
    args += ["--model", "fake-model"]
    with FakeOpenAIServer(SeedScript()) as srv:
        done = runner.invoke(make_app(), [*args, "--base-url", srv.base_url], env={"OPENAI_API_KEY": TEST_KEY})
        assert done.exit_code == 0, done.output
        srv.raise_errors()
        sent = sorted((r.headers["x-papercoder-step"], r.body.get("seed")) for r in srv.chat_requests)
    # The generating calls carry their seed; the judge's do not (its prompts differ because the repositories do).
    assert sent == [("baseline/paper", 1), ("baseline/paper", 2), ("eval/ref-free", None), ("eval/ref-free", None)]
    for seed in (1, 2):
        main = out / "data" / "alpha" / "paper" / f"seed-{seed}" / "repo" / "main.py"
        assert f"seed = {seed}" in main.read_text()
    row = next(csv.DictReader((out / "results.csv").open()))
    assert (row["mean"], row["std"], row["papers"]) == ("3.0", "1.0", "2")  # seeds 2 and 4: two samples
    papers = list(csv.DictReader((out / "papers.csv").open()))
    assert [(p["seed"], p["mean"]) for p in papers] == [("1", "2.0"), ("2", "4.0")]
    assert "| data | alpha (seed 2) | paper |" in (out / "results.md").read_text()

    with FakeOpenAIServer(SeedScript()) as srv:  # resumed: both seeds come from their run dirs
        again = runner.invoke(make_app(), [*args, "--base-url", srv.base_url], env={"OPENAI_API_KEY": TEST_KEY})
        assert again.exit_code == 0, again.output
        assert srv.chat_requests == []


def test_seed_is_in_the_cache_key_only_when_set() -> None:
    messages = [{"role": "user", "content": "hi"}]
    plain = CallSettings()
    # An unset seed leaves the key as it was before seeds existed, so older caches stay valid.
    assert "seed" not in plain.cache_fields()
    keys = {cache_key("m", messages, s) for s in (plain, CallSettings(seed=0), CallSettings(seed=1))}  # type: ignore[arg-type]
    assert len(keys) == 3
