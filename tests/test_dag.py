"""``--coding-order dag``: the dependency graph read from the plan, the order and context of the coding calls the
server sees, fallbacks on cycles and unknown modules, and a repository identical to the sequential order's."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path
from typing import Any, Literal

import pytest

import papercoder
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.pipeline.dag import build_graph, module_names, python_imports
from papercoder.pipeline.interfaces import interface
from papercoder.pipeline.schemas import ArchitectureDesign, FileLogic, LogicDesign
from tests.conftest import EXAMPLE_PAPER, TEST_KEY
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from tests.scenario import ARCHITECTURE, Paper2CodeScript

# Task order puts data.py before tokenizer.py, which it imports: the dag order fixes that.
FILES = ["config.py", "data.py", "tokenizer.py", "layers.py", "model.py", "train.py", "main.py"]
LOGIC = {
    "config.py": "Loads config.yaml into a dict (load).",
    "data.py": "Batches of token ids; imports Tokenizer from tokenizer and reads the batch size from config.",
    "tokenizer.py": "A byte-pair Tokenizer; standard library only.",
    "layers.py": "MultiHead attention and the feed-forward block, in numpy.",
    "model.py": "The Transformer; imports MultiHead from layers.",
    "train.py": "The training loop: imports Transformer from model and batches from data.",
    "main.py": "Entry point: imports run from train.",
}
# Real imports: data.py does not import config.py after all, which the contexts of later files reflect.
CODE = {
    "config.py": "import yaml\n\n\ndef load(path: str) -> dict:\n    return yaml.safe_load(open(path))\n",
    "data.py": "from tokenizer import Tokenizer\n\n\ndef batches(size: int) -> list:\n    return [Tokenizer()]\n",
    "tokenizer.py": "class Tokenizer:\n    merges: list = []\n",
    "layers.py": "import numpy as np\n\n\nclass MultiHead:\n    heads = 8\n",
    "model.py": "from layers import MultiHead\n\n\nclass Transformer:\n    attention = MultiHead\n",
    "train.py": "from data import batches\nfrom model import Transformer\n\n\ndef run() -> None:\n    Transformer()\n",
    "main.py": "from train import run\n\nrun()\n",
}
DAG_CONTEXT = {
    "config.py": [],
    "data.py": ["config.py", "tokenizer.py"],
    "tokenizer.py": [],
    "layers.py": [],
    "model.py": ["layers.py"],
    "train.py": ["data.py", "tokenizer.py", "layers.py", "model.py"],
    "main.py": ["data.py", "tokenizer.py", "layers.py", "model.py", "train.py"],
}


def script(files: list[str], logic: dict[str, str], code: dict[str, str], diagram: str = "") -> Paper2CodeScript:
    """A scenario whose logic design has ``logic`` as entries and whose coding answers are ``code``."""
    design = {
        "Required packages": ["numpy>=1.24", "pyyaml>=6"],
        "Logic Analysis": [[path, text] for path, text in logic.items()],
        "Task list": files,
        "Shared Knowledge": "",
        "Anything UNCLEAR": "",
    }
    architecture: dict[str, object] = {**ARCHITECTURE, "File list": files}
    if diagram:
        architecture["Data structures and interfaces"] = diagram
    return Paper2CodeScript(
        files=files, code=code, architecture=architecture, logic_text="```json\n" + json.dumps(design) + "\n```"
    )


def run(
    responder: Any,
    out: Path,
    order: Literal["sequential", "dag"],
    concurrency: int = 1,
    dep_context: Literal["interface", "full"] = "interface",
) -> tuple[dict[str, Any], list[RecordedRequest]]:
    """Run the pipeline against the fake server; the manifest and the coding requests, in arrival order."""
    with FakeOpenAIServer(responder) as server:
        model = OpenAICompatModel("fake-model", base_url=server.base_url, api_key=TEST_KEY, max_retries=0)

        async def go() -> None:
            try:  # a model object given to the library is the caller's to close
                await papercoder.run_async(
                    EXAMPLE_PAPER,
                    out,
                    model=model,
                    coding_order=order,
                    concurrency=concurrency,
                    dep_context=dep_context,
                )
            finally:
                await model.aclose()

        asyncio.run(go())
        server.raise_errors()
        coding = [r for r in server.chat_requests if r.headers["x-papercoder-step"].startswith("coding/")]
    return json.loads((out / "manifest.json").read_text()), coding


def step_file(request: RecordedRequest) -> str:
    return request.headers["x-papercoder-step"].removeprefix("coding/")


def attached(request: RecordedRequest) -> list[str]:
    """The files whose code the coding request carries, in the order it lists them."""
    return re.findall(r"^----- (.+) -----$", request.messages[-1]["content"], re.M)


def repo(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (out / "repo").rglob("*") if p.is_file()}


def test_dag_order_and_contexts_at_the_server(tmp_path: Path) -> None:
    manifest, coding = run(script(FILES, LOGIC, CODE), tmp_path / "dag", "dag")
    assert [step_file(r) for r in coding] == [
        "config.py",
        "tokenizer.py",
        "data.py",
        "layers.py",
        "model.py",
        "train.py",
        "main.py",
    ]
    assert {step_file(r): attached(r) for r in coding} == DAG_CONTEXT
    for request in coding:  # the code attached is the interface of the code written, never its bodies
        for path in attached(request):
            assert interface(path, CODE[path]).strip() in request.messages[-1]["content"]
        assert "as their interfaces" in request.messages[-1]["content"] or not attached(request)
    assert "return yaml.safe_load" not in "".join(r.messages[-1]["content"] for r in coding)
    # The same conversation prefix as the sequential order, and the same artifacts.
    assert manifest["status"] == "done" and manifest["files"] == FILES and manifest["warnings"] == []
    assert manifest["settings"]["coding_order"] == "dag"
    assert all((tmp_path / "dag" / "coding" / f"{path}.md").is_file() for path in FILES)
    record = json.loads((tmp_path / "dag" / "coding" / "dag.json").read_text())
    assert record["context"] == DAG_CONTEXT
    assert record["depends_on"]["data.py"] == ["config.py", "tokenizer.py"]
    assert record["imports"]["data.py"] == ["tokenizer.py"]
    assert record["levels"][0] == ["config.py", "tokenizer.py", "layers.py"]


def test_sequential_order_attaches_every_earlier_file(tmp_path: Path) -> None:
    manifest, coding = run(script(FILES, LOGIC, CODE), tmp_path / "seq", "sequential")
    assert [step_file(r) for r in coding] == FILES
    assert {step_file(r): attached(r) for r in coding} == {path: FILES[:i] for i, path in enumerate(FILES)}
    assert not (tmp_path / "seq" / "coding" / "dag.json").exists()
    assert manifest["status"] == "done"


class Barrier(Paper2CodeScript):
    """Holds the answer for config.py until the request for layers.py has arrived: it only comes while config.py
    is still being answered if independent files are coded concurrently."""

    def __init__(self, inner: Paper2CodeScript) -> None:
        super().__init__(inner.files, inner.code, inner.architecture, inner.logic_text)
        self.layers_asked = threading.Event()
        self.overlapped = False

    def __call__(self, request: RecordedRequest) -> Reply:
        step = request.headers.get("x-papercoder-step", "")
        if step == "coding/layers.py":
            self.layers_asked.set()
        if step == "coding/config.py":
            self.overlapped = self.layers_asked.wait(10)
        return super().__call__(request)


def test_independent_files_are_coded_concurrently(tmp_path: Path) -> None:
    barrier = Barrier(script(FILES, LOGIC, CODE))
    manifest, coding = run(barrier, tmp_path / "dag", "dag", concurrency=4)
    assert barrier.overlapped
    arrival = [step_file(r) for r in coding]
    for request in coding:  # every dependency was asked (and answered) before the file that needs it
        path = step_file(request)
        assert all(arrival.index(dep) < arrival.index(path) for dep in DAG_CONTEXT[path]), path
    # Contexts do not depend on the order the concurrent calls finished in.
    assert {step_file(r): attached(r) for r in coding} == DAG_CONTEXT
    assert manifest["stages"]["coding"]["calls"] == len(FILES)


def test_repository_is_identical_in_both_orders(tmp_path: Path) -> None:
    run(script(FILES, LOGIC, CODE), tmp_path / "seq", "sequential")
    run(script(FILES, LOGIC, CODE), tmp_path / "dag", "dag", concurrency=4)
    assert repo(tmp_path / "dag") == repo(tmp_path / "seq")
    assert repo(tmp_path / "dag")["repo/train.py"] == CODE["train.py"].encode()


def test_cycle_and_unknown_module_fall_back_to_task_order(tmp_path: Path) -> None:
    files = ["utils.py", "model.py", "extra.py", "main.py"]
    logic = {
        "utils.py": "Helpers; imports Model from model for type checks.",
        "model.py": "The model; imports load from utils.",
        "extra.py": "Plots; imports nothing from the other files.",
        "main.py": "Entry point: from helpers import parse_args, then runs the model.",
    }
    code = {path: f"# {path}\nVALUE = 1\n" for path in files}
    manifest, coding = run(script(files, logic, code), tmp_path / "run", "dag")
    warnings = "\n".join(manifest["warnings"])
    assert "dependency cycle among utils.py, model.py; these files are coded in task order" in warnings
    assert "main.py names helpers, which is not a planned file" in warnings
    assert [step_file(r) for r in coding] == files
    assert {step_file(r): attached(r) for r in coding} == {
        "utils.py": [],
        "model.py": ["utils.py"],
        "extra.py": [],
        "main.py": ["utils.py", "model.py", "extra.py"],  # unknown dependency: every earlier file
    }


def design(files: list[str], logic: dict[str, str], diagram: str = "") -> tuple[ArchitectureDesign, LogicDesign]:
    architecture = ArchitectureDesign(
        implementation_approach="", file_list=files, class_diagram=diagram, sequence_diagram=""
    )
    entries = [FileLogic(file=f, logic=t) for f, t in logic.items()]
    return architecture, LogicDesign(required_packages=["torch>=2"], logic_analysis=entries, task_list=files)


def test_graph_from_mentions_cues_and_class_diagram() -> None:
    files = ["config.py", "utils.py", "dataset_loader.py", "model.py", "trainer.py", "evaluation.py", "main.py"]
    logic = {
        "config.py": "The Config dataclass; read by utils.py and main.py.",
        "utils.py": "Helpers: imports Config from config. Used by trainer.py and evaluation.py.",
        "dataset_loader.py": "DatasetLoader batches sentence pairs with the helpers from utils.",
        "model.py": "TransformerModel built from torch.nn; from torch import nn.",
        "trainer.py": "Runs the training loop; called from main.py.",
        "evaluation.py": "Beam search with the TransformerModel over DatasetLoader batches.",
        "main.py": "Builds Config and everything else.",
    }
    diagram = "classDiagram\n    Trainer --> TransformerModel\n    Trainer ..> DatasetLoader\n    Base <|-- Config\n"
    graph = build_graph(files, *design(files, logic, diagram))
    assert graph.notes == ()
    assert dict(graph.deps) == {
        "config.py": (),
        "utils.py": ("config.py",),
        "dataset_loader.py": ("utils.py",),
        "model.py": (),
        "trainer.py": ("utils.py", "dataset_loader.py", "model.py"),  # "used by" in utils, the diagram's arrows
        "evaluation.py": ("utils.py", "dataset_loader.py", "model.py"),  # class names map to their files
        "main.py": ("config.py", "trainer.py"),  # "called from main.py" in trainer
    }
    assert graph.levels() == [
        ["config.py", "model.py"],
        ["utils.py"],
        ["dataset_loader.py"],
        ["trainer.py", "evaluation.py"],
        ["main.py"],
    ]
    assert graph.ancestors("main.py") == ["config.py", "utils.py", "dataset_loader.py", "model.py", "trainer.py"]


def test_later_file_mentioned_without_an_import_is_narrative() -> None:
    files = ["utils.py", "model.py"]
    graph = build_graph(files, *design(files, {"utils.py": "Masks for model.py.", "model.py": "The model."}))
    assert dict(graph.deps) == {"utils.py": (), "model.py": ()}
    logic = {"utils.py": "Masks; imports Shape from model.", "model.py": "Shapes and the model."}
    graph = build_graph(files, *design(files, logic))
    assert dict(graph.deps) == {"utils.py": ("model.py",), "model.py": ()}
    assert graph.topological() == ["model.py", "utils.py"]


def test_missing_logic_entry_depends_on_every_earlier_file() -> None:
    files = ["a.py", "b.py", "c.py"]
    graph = build_graph(files, *design(files, {"a.py": "A.", "b.py": "B."}))
    assert graph.deps["c.py"] == ("a.py", "b.py")
    assert graph.notes == ("c.py has no entry in the logic design; it is coded after every earlier file",)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "from . import b\nfrom .c import f\nimport pkg.e as e\nfrom pkg import d\nimport numpy\n",
            {"b", "c", "d", "e"},
        ),
        ("import b\nfrom collections import c  # not a module of the plan\n", {"b"}),
        (  # imports nested in every kind of block are found (without walking the expressions)
            "class K:\n    def f(self):\n        with open('x') as h:\n            import b\n"
            "try:\n    pass\nexcept ImportError:\n    from . import c\nelse:\n    import pkg.d\nfinally:\n    x = 1\n"
            "match x:\n    case 1:\n        from .e import g\n"
            "if x:\n    pass\nelif x > 1:\n    for i in []:\n        pass\n    else:\n        import numpy\n",
            {"b", "c", "d", "e"},
        ),
        ("def broken(:\n", None),
    ],
)
def test_python_imports_of_planned_modules(code: str, expected: set[str] | None) -> None:
    files = ["pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/d.py", "pkg/e.py"]
    found = python_imports("pkg/a.py", code, files)
    assert found == (None if expected is None else {f"pkg/{name}.py" for name in expected})
    assert python_imports("config.yaml", "a: 1", files) is None


def test_module_names_skip_src_and_ambiguous_short_names() -> None:
    names = module_names(["src/pkg/utils.py", "src/pkg/__init__.py", "tools/utils.py", "main.py"])
    assert names["pkg.utils"] == "src/pkg/utils.py" and names["tools.utils"] == "tools/utils.py"
    assert names["pkg"] == "src/pkg/__init__.py" and names["main"] == "main.py"
    assert "utils" not in names  # two files could be meant


def test_dag_full_dependency_context_attaches_whole_files(tmp_path: Path) -> None:
    manifest, coding = run(script(FILES, LOGIC, CODE), tmp_path / "full", "dag", dep_context="full")
    assert {step_file(r): attached(r) for r in coding} == DAG_CONTEXT
    for request in coding:
        for path in attached(request):
            assert CODE[path].strip() in request.messages[-1]["content"]
        assert "as their interfaces" not in request.messages[-1]["content"]
    assert manifest["settings"]["dep_context"] == "full"


def test_required_packages_known_by_their_import_names() -> None:
    files = ["a.py", "b.py"]
    logic = {"a.py": "Plots; from skimage import io and from bs4 import Soup.", "b.py": "from umap import UMAP."}
    architecture, design_ = design(files, logic)
    graph = build_graph(files, architecture, design_)
    assert "skimage" in "".join(graph.notes) and "umap" in "".join(graph.notes)  # not required: unknown modules
    required = design_.model_copy(update={"required_packages": ["scikit-image>=0.22", "beautifulsoup4", "umap_learn"]})
    assert build_graph(files, architecture, required).notes == ()
