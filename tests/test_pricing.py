"""Cost for every model: prices the user gives, and what the provider reports it billed (``usage.cost``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.llm.base import Usage
from papercoder.llm.budget import Budget
from papercoder.llm.pricing import Price, clear_prices, cost_usd, load_prices, price_for, set_price
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import Paper2CodeScript
from tests.test_pipeline_failures import invoke, run_args


@pytest.fixture(autouse=True)
def no_user_prices() -> Iterator[None]:
    clear_prices()
    yield
    clear_prices()


def test_a_user_price_is_used_for_a_model_the_table_does_not_know() -> None:
    assert price_for("my-org/llama-70b") is None
    set_price("my-org/llama-70b", 0.5, 2.0)
    assert price_for("my-org/llama-70b") == Price(0.5, 0.5, 2.0)
    assert price_for("llama-70b") == Price(0.5, 0.5, 2.0)  # the bare name too
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000, cached_tokens=0)
    assert cost_usd("my-org/llama-70b", usage) == pytest.approx(0.5 + 1.0)
    set_price("gpt-4.1", 1.0, 1.0, cached_input_usd=0.1)  # a negotiated price wins over the list price
    assert price_for("openai/gpt-4.1") == Price(1.0, 0.1, 1.0)


def test_prices_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "prices.yaml"
    yaml_file.write_text(
        "qwen2.5-coder:14b: {input: 0.2, output: 0.6}\nmine: {input: 1, output: 3, cached_input: 0.25}\n"
    )
    assert load_prices(yaml_file) == {"qwen2.5-coder:14b": Price(0.2, 0.2, 0.6), "mine": Price(1.0, 0.25, 3.0)}
    assert price_for("mine") == Price(1.0, 0.25, 3.0)
    json_file = tmp_path / "prices.json"
    json_file.write_text(json.dumps({"other": {"input": 2, "output": 4}}))
    assert load_prices(json_file)["other"] == Price(2.0, 2.0, 4.0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- just a list\n", "maps model names"),
        ("m: {input: cheap, output: 1}\n", "needs numbers for input and output"),
        ("m: {input: 1}\n", "needs numbers for input and output"),
        ("m: {input: -1, output: 1}\n", "must not be negative"),
        ("m: [unclosed\n", "cannot read prices file"),
    ],
)
def test_bad_prices_files_are_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=fragment) as info:
        load_prices(path)
    assert "\n" not in str(info.value)


def test_a_reported_cost_wins_and_adds_up() -> None:
    a = Usage(prompt_tokens=10, completion_tokens=5, reported_cost_usd=0.002)
    b = Usage(prompt_tokens=10, completion_tokens=5, reported_cost_usd=0.003)
    assert cost_usd("unknown-model", a) == 0.002
    assert cost_usd("gpt-4.1", a) == 0.002  # what was billed, not the list price
    assert (Usage() + a + b).reported_cost_usd == pytest.approx(0.005)
    assert (Usage() + Usage()).reported_cost_usd is None


def test_reported_costs_project_the_next_call_for_a_model_without_a_price() -> None:
    budget = Budget("unknown-model", max_cost_usd=0.01)
    budget.check(1000, 100, "first")  # nothing known yet: the call is made
    budget.spend(Usage(prompt_tokens=1000, completion_tokens=100, reported_cost_usd=0.006), 0.006)
    with pytest.raises(Exception, match=r"--max-cost 0.01: step 'second' could cost up to \$0.0060 after \$0.0060"):
        budget.check(1000, 100, "second")


def test_a_judge_call_is_checked_at_the_judges_price() -> None:
    """One budget covers a run and its grading; a call is projected at the price of the model that makes it."""
    set_price("cheap-generator", 0.1, 0.1)
    set_price("dear-judge", 100.0, 100.0)
    budget = Budget("cheap-generator", max_cost_usd=0.05)
    budget.check(1000, 100, "coding/main.py")  # $0.00011 at the generator's price
    budget.check(1000, 100, "grade/leaf-1", model="cheap-generator")
    with pytest.raises(Exception, match=r"step 'grade/leaf-1' could cost up to \$0.1100"):
        budget.check(1000, 100, "grade/leaf-1", model="dear-judge")


@dataclasses.dataclass
class Billing:
    """The scripted run, each answer billed like OpenRouter does: ``usage.cost`` in USD."""

    script: Paper2CodeScript
    each: float

    def __call__(self, request: RecordedRequest) -> Reply:
        return dataclasses.replace(self.script(request), cost=self.each)


@pytest.mark.usefixtures("clean_env")
def test_a_run_on_a_model_without_a_price_records_the_reported_cost(tmp_path: Path) -> None:
    with FakeOpenAIServer(Billing(Paper2CodeScript(), 0.001)) as server:
        code, output = invoke(run_args(server, EXAMPLE_PAPER, tmp_path / "run"))
        calls = len(server.requests)
    assert code == 0, output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    costs = [s["cost_usd"] for s in manifest["stages"].values() if s["calls"]]
    assert None not in costs and sum(costs) == pytest.approx(0.001 * calls)
    assert f"cost ${0.001 * calls:.4f}" in output or f"{0.001 * calls:.3f}" in output


@pytest.mark.usefixtures("clean_env")
def test_max_cost_stops_a_model_without_a_price_on_its_reported_costs(tmp_path: Path) -> None:
    with FakeOpenAIServer(Billing(Paper2CodeScript(), 0.01)) as server:
        code, output = invoke([*run_args(server, EXAMPLE_PAPER, tmp_path / "run"), "--max-cost", "0.035"])
        calls = len(server.requests)
    assert code == 3, output
    assert "--max-cost 0.04" in output or "--max-cost 0.03" in output
    assert 1 <= calls <= 4


@pytest.mark.usefixtures("clean_env")
def test_run_with_prices_for_an_unknown_model_counts_its_cost(tmp_path: Path) -> None:
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        code, output = invoke(
            [*run_args(server, EXAMPLE_PAPER, tmp_path / "run"), "--price-input", "1", "--price-output", "2"]
        )
    assert code == 0, output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    usage = [s for s in manifest["stages"].values() if s["calls"]]
    expected = sum(((s["usage"]["prompt_tokens"]) * 1 + s["usage"]["completion_tokens"] * 2) / 1_000_000 for s in usage)
    assert sum(s["cost_usd"] for s in usage) == pytest.approx(expected)
    assert "price" not in json.dumps(manifest["settings"])  # prices bill the calls; they do not change the run


@pytest.mark.usefixtures("clean_env")
def test_half_a_price_pair_is_one_line(tmp_path: Path) -> None:
    with FakeOpenAIServer(Paper2CodeScript()) as server:
        code, output = invoke([*run_args(server, EXAMPLE_PAPER, tmp_path / "run"), "--price-input", "1"])
        assert server.requests == []
    assert code == 2 and output.count("\n") == 1 and "--price-input and --price-output go together" in output


@pytest.mark.usefixtures("clean_env")
def test_estimate_uses_a_prices_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("my-local-model: {input: 3, output: 15}\n")
    args = ["run", str(EXAMPLE_PAPER), "--estimate", "--json", "--model", "my-local-model"]
    code, output = invoke([*args, "--base-url", "http://127.0.0.1:9/v1", "--prices", str(prices)])
    assert code == 0, output
    assert json.loads(output)["cost_usd"] > 0
    clear_prices()  # one CLI process each in real use: the next command knows no price
    code, output = invoke([*args, "--base-url", "http://127.0.0.1:9/v1"])
    assert json.loads(output)["cost_usd"] is None
