"""Coding that scales: ``--coding-order auto`` switches from the sequential order to the dag order with interfaces
once the earlier files pass a share of the window, and a prompt that would overflow the window gets interfaces of
the oldest files before any file is left out; ``coding/context.json`` records both."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any, Literal

import papercoder
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.paper.tokens import count_tokens
from papercoder.pipeline.coding import AUTO_SHARE, DAG_INDIRECT_SHARE
from papercoder.pipeline.interfaces import interface
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest
from tests.scenario import Paper2CodeScript, many_files_script

COUNT = 8  # mod00.py … mod07.py, then main.py


def padded(count: int) -> Paper2CodeScript:
    """``many_files_script`` with long function bodies: each file ~700 tokens whole, a fraction as its interface."""
    script = many_files_script(count)
    for path, code in list(script.code.items()):
        if path == "main.py":
            continue
        helpers = "".join(
            f'\n\ndef helper_{k}(x: int) -> int:\n    """Step {k}."""\n'
            + "".join(f"    x = (x * {k + j + 3} + {j}) % 1000003\n" for j in range(6))
            + "    return x\n"
            for k in range(8)
        )
        script.code[path] = code + helpers
    # A logic design that names what each file imports, as a planner does: the dag order reads the chain from it.
    modules = [p.removesuffix(".py") for p in script.files[:-1]]
    entries = [[f"{m}.py", f"Defines f{i}" + (f"; imports f{i - 1} from {modules[i - 1]}." if i else ".")]
               for i, m in enumerate(modules)]  # fmt: skip
    entries.append(["main.py", "Entry point; imports from " + ", ".join(modules) + "."])
    design = json.loads(script.logic_text.removeprefix("```json\n").removesuffix("\n```"))
    design["Logic Analysis"] = entries
    script.logic_text = "```json\n" + json.dumps(design) + "\n```"
    return script


def run(
    script: Paper2CodeScript, out: Path, order: Literal["auto", "sequential", "dag"], window: int | None
) -> tuple[dict[str, Any], dict[str, Any], list[RecordedRequest]]:
    """Run the pipeline; the manifest, ``coding/context.json`` and the coding requests in arrival order."""
    with FakeOpenAIServer(script) as server:
        model = OpenAICompatModel(
            "fake-model", base_url=server.base_url, api_key=TEST_KEY, max_retries=0, context_window=window
        )

        async def go() -> None:
            try:  # a model object given to the library is the caller's to close
                await papercoder.run_async(EXAMPLE_PAPER, out, model=model, coding_order=order)
            finally:
                await model.aclose()

        asyncio.run(go())
        server.raise_errors()
        coding = [r for r in server.chat_requests if r.headers["x-papercoder-step"].startswith("coding/")]
    manifest = json.loads((out / "manifest.json").read_text())
    return manifest, json.loads((out / "coding/context.json").read_text()), coding


def prompt_tokens(request: RecordedRequest) -> int:
    return sum(count_tokens(str(m.get("content", ""))) for m in request.messages)


def attached(request: RecordedRequest) -> list[str]:
    return re.findall(r"^----- (\S+) -----", request.messages[-1]["content"], re.M)


def test_auto_switches_to_dag_with_interfaces_when_the_earlier_files_pass_a_share_of_the_window(
    tmp_path: Path,
) -> None:
    script = padded(COUNT)
    files = script.files
    full = {p: count_tokens(script.code[p]) for p in files}
    window = 12_000
    limit = int(AUTO_SHARE * window)
    # The first file whose earlier files pass the limit is where auto switches (here: part-way through the plan).
    switch = next(i for i in range(len(files)) if sum(full[p] for p in files[:i]) > limit)
    assert 1 < switch < len(files) - 1
    manifest, record, coding = run(script, tmp_path / "auto", "auto", window)
    assert manifest["status"] == "done" and manifest["settings"]["coding_order"] == "auto"
    assert record["switched_to_dag_at"] == files[switch] and record["auto_limit_tokens"] == limit
    for i, path in enumerate(files):
        entry = record["files"][path]
        if i < switch:  # the paper's method: every earlier file, whole
            assert entry == {
                "order": "sequential",
                "full": files[:i],
                "interface": [],
                "fitted_as_interface": [],
                "dropped": [],
                "indirect_left_out": [],
            }
        else:  # its dependencies, as interfaces: the direct one, and the indirect ones within their budget
            assert entry["order"] == "dag" and entry["full"] == [] and entry["dropped"] == []
            assert sorted(entry["interface"] + entry["indirect_left_out"]) == files[:i]
            assert files[i - 1] in entry["interface"]
    by_file = {r.headers["x-papercoder-step"].removeprefix("coding/"): r for r in coding}
    later = by_file[files[-1]].messages[-1]["content"]
    assert "as their interfaces" in later and interface("mod00.py", script.code["mod00.py"]).strip() in later
    assert "x = (x * 3 + 0) % 1000003" not in later  # no function body of an earlier file
    assert max(prompt_tokens(r) for r in coding) < window
    # The coding prompts of the modules shrink at the switch: the largest is the last sequential one.
    sizes = [prompt_tokens(by_file[p]) for p in files[:-1]]
    assert sizes.index(max(sizes)) == switch - 1


def test_auto_on_a_plan_that_fits_is_the_sequential_order_call_for_call(tmp_path: Path) -> None:
    script = padded(COUNT)
    _, record, auto = run(script, tmp_path / "auto", "auto", None)  # unknown window: 128k assumed
    _, seq_record, sequential = run(padded(COUNT), tmp_path / "seq", "sequential", None)
    assert record["switched_to_dag_at"] is None
    assert all(entry["order"] == "sequential" for entry in record["files"].values())
    assert [r.messages for r in auto] == [r.messages for r in sequential]
    assert record["files"] == seq_record["files"] and seq_record["auto_limit_tokens"] is None


def test_an_overflowing_prompt_gets_interfaces_before_any_file_is_left_out(tmp_path: Path) -> None:
    script = padded(COUNT)
    files = script.files
    manifest, record, coding = run(script, tmp_path / "fit", "sequential", 6_500)
    main = record["files"]["main.py"]
    assert main["order"] == "sequential" and main["dropped"] == []
    assert main["fitted_as_interface"] and main["fitted_as_interface"] == files[: len(main["fitted_as_interface"])]
    assert main["full"] == files[len(main["fitted_as_interface"]) : -1]  # the newest stay whole
    assert all(r["dropped"] == [] for r in record["files"].values())
    last = coding[-1]
    assert last.headers["x-papercoder-step"] == "coding/main.py" and attached(last) == files[:-1]
    assert prompt_tokens(last) < 6_500
    assert f"----- {main['fitted_as_interface'][0]} ----- (its interface only" in last.messages[-1]["content"]
    warned = "\n".join(manifest["warnings"])
    assert f"coding main.py: attached {files[0]} as its interface to fit the model's context window" in warned
    assert "out of its context" not in warned


def test_files_are_left_out_only_once_every_one_is_an_interface(tmp_path: Path) -> None:
    script = padded(COUNT)
    manifest, record, coding = run(script, tmp_path / "tight", "sequential", 3_600)
    main = record["files"]["main.py"]
    assert main["dropped"] and main["full"] == [] and main["dropped"] == script.files[: len(main["dropped"])]
    assert main["fitted_as_interface"] == script.files[len(main["dropped"]) : -1]
    assert prompt_tokens(coding[-1]) < 3_600
    assert "left mod00.py out of its context" in "\n".join(manifest["warnings"])


def test_dag_attaches_indirect_dependencies_nearest_first_up_to_a_share_of_the_window(tmp_path: Path) -> None:
    script = padded(COUNT)
    files = script.files
    window = 16_000
    budget = int(DAG_INDIRECT_SHARE * window)
    _, record, coding = run(script, tmp_path / "dag", "dag", window)
    sizes = {p: count_tokens(interface(p, script.code[p])) for p in files}
    for i, path in enumerate(files[:-1]):
        entry = record["files"][path]
        kept, left = entry["interface"], entry["indirect_left_out"]
        assert kept + left == [] if i == 0 else sorted(kept + left) == files[:i]
        if i:
            assert files[i - 1] in kept  # the direct dependency, always
            indirect = [p for p in kept if p != files[i - 1]]
            assert sum(sizes[p] for p in indirect) <= budget  # the rest within the budget ...
            assert indirect == files[i - 1 - len(indirect) : i - 1]  # ... nearest first
    assert record["files"]["mod07.py"]["indirect_left_out"]  # a long chain does outgrow the budget
    assert record["files"]["main.py"]["interface"] == files[:-1]  # main imports every module directly
    by_file = {r.headers["x-papercoder-step"].removeprefix("coding/"): r for r in coding}
    assert attached(by_file["mod07.py"]) == record["files"]["mod07.py"]["interface"]
