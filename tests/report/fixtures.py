"""A hand-made run directory in the layout the pipeline writes, for report tests that need no model server."""

from __future__ import annotations

import json
from pathlib import Path

from papercoder.llm.base import Usage
from papercoder.run_dir import Manifest, RunDir, StageRecord

HOSTILE = "</script><script>alert(1)</script>"

CODE = {
    "utils.py": "import yaml\n\n\ndef load_config(path: str) -> dict:\n    with open(path) as fh:\n"
    "        return yaml.safe_load(fh)\n",
    "model.py": "from utils import load_config\n\n\nclass PrototypeNet:\n    def __init__(self, cfg: dict) -> None:\n"
    "        self.hidden = cfg['model']['hidden_width']\n",
    "main.py": "from model import PrototypeNet\nfrom utils import load_config\n\n\ndef main() -> None:\n"
    "    net = PrototypeNet(load_config('config.yaml'))\n    print(net.hidden)\n",
}
CLASS_DIAGRAM = "classDiagram\n    class PrototypeNet {\n        +int hidden\n        +forward(x) Tensor\n    }"
SEQUENCE_DIAGRAM = (
    "sequenceDiagram\n    participant M as Main\n    participant N as PrototypeNet\n    M->>N: __init__(cfg)"
)
BROKEN_DIAGRAM = "classDiagram\n    class Broken {{{\n    this is -> not mermaid <<<"

STAGES = {
    "ingest": StageRecord(status="done", wall_s=0.5, cost_usd=0.0),
    "planning": StageRecord(
        status="done",
        wall_s=12.0,
        calls=4,
        usage=Usage(prompt_tokens=8000, completion_tokens=2000, cached_tokens=2000),
        cost_usd=0.04,
    ),
    "analysis": StageRecord(
        status="done",
        wall_s=6.0,
        calls=3,
        cached_calls=1,
        usage=Usage(prompt_tokens=16000, completion_tokens=1000, cached_tokens=12000),
        cost_usd=0.02,
    ),
    "coding": StageRecord(
        status="done",
        wall_s=24.0,
        calls=3,
        usage=Usage(prompt_tokens=4000, completion_tokens=3000, reasoning_tokens=500),
        cost_usd=0.08,
    ),
}


def make_run(
    root: Path,
    *,
    code: dict[str, str] | None = None,
    class_diagram: str = CLASS_DIAGRAM,
    minimal: bool = False,
    status: str = "done",
    model: str = "gpt-test",
    updated_at: str = "2025-01-02T03:04:05+00:00",
) -> Path:
    """Write a run dir under ``root``; ``minimal``: the manifest alone, as after an early failure."""
    run = RunDir(root)
    run.create()
    files = code if code is not None else dict(CODE)
    manifest = Manifest.model_validate(
        {
            "papercoder_version": "0.1.0",
            "created_at": "2025-01-02T03:00:00+00:00",
            "status": status,
            "paper": {
                "title": "Temperature-Scaled Prototype Networks",
                "format": "markdown",
                "pages": None,
                "sections": 3,
                "dropped": ["references"],
                "tokens": 900,
                "tokens_before_fit": 1200,
            },
            "model": {"name": model, "provider": "openai"},
            "stages": {k: v.model_dump() for k, v in STAGES.items()},
            "files": [] if minimal else list(files),
            "paper_fit": ["dropped the appendix"],
            "warnings": ["paper condensed to fit 1000 tokens: dropped the appendix"],
        }
    )
    manifest.updated_at = updated_at
    (root / "manifest.json").write_text(manifest.model_dump_json(indent=2))
    if minimal:
        return root
    paper = {
        "title": "Temperature-Scaled Prototype Networks",
        "abstract": "We classify with prototypes & a <temperature>.",
        "sections": [
            {"title": "Introduction", "text": "Intro.", "level": 1},
            {"title": "Method", "text": "Prototypes.", "level": 1},
            {"title": "Temperature", "text": "Scale.", "level": 2},
        ],
        "source_format": "markdown",
        "pages": None,
        "dropped": ["references"],
    }
    run.write("paper/paper.json", json.dumps(paper))
    run.write("paper/paper.md", "# Temperature-Scaled Prototype Networks\n\n## Method\n\nPrototypes.\n")
    run.write("planning/1_plan.md", "## Plan\n1. Encoder **MLP**.\n2. Prototypes.\n\n<b>raw html</b>\n")
    architecture = {
        "implementation_approach": "A small numpy implementation.",
        "file_list": list(files),
        "class_diagram": class_diagram,
        "sequence_diagram": SEQUENCE_DIAGRAM,
        "unclear_points": "Nothing.",
    }
    run.write("planning/2_architecture.json", json.dumps(architecture))
    run.write("planning/class_diagram.mmd", class_diagram + "\n")
    run.write("planning/sequence_diagram.mmd", SEQUENCE_DIAGRAM + "\n")
    logic = {
        "required_packages": ["numpy>=1.24", "pyyaml>=6"],
        "logic_analysis": [{"file": f, "logic": f"Logic of `{f}`."} for f in files],
        "task_list": list(files),
        "shared_knowledge": "config keys live under model.",
        "unclear_points": "",
    }
    run.write("planning/3_logic.json", json.dumps(logic))
    run.write("planning/config.yaml", "model:\n  hidden_width: 64\n")
    for path, text in files.items():
        run.write(f"repo/{path}", text)
        run.write(f"analysis/{path}.md", f"## Analysis of {path}\nImplements its part.")
        run.write(f"coding/{path}.md", f"Here is `{path}`:\n```python\n{text}```\n")
    run.write("repo/config.yaml", "model:\n  hidden_width: 64\n")
    return root


def add_extras(root: Path) -> None:
    """Checks, two debug iterations and two eval results, in the shapes other commands write."""
    (root / "checks.json").write_text(
        json.dumps(
            {
                "passed": False,
                "checks": [
                    {"name": "compile", "status": "passed", "detail": ""},
                    {"name": "import", "status": "failed", "detail": "ModuleNotFoundError: torch"},
                ],
            }
        )
    )
    for n, code in ((1, 1), (2, 0)):
        it = root / "debug" / f"iter-{n:02d}"
        it.mkdir(parents=True)
        (it / "result.json").write_text(json.dumps({"command": "python main.py", "exit_code": code}))
        (it / "output.txt").write_text(f"Traceback {HOSTILE}\n")
        (it / "fix.diff").write_text("--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-print(1)\n+print(2)\n")
    (root / "eval").mkdir(exist_ok=True)
    judge = {
        "mode": "ref-free",
        "model": "judge",
        "n": 2,
        "valid": 2,
        "scores": [4, 3],
        "mean": 3.5,
        "std": 0.5,
        "critiques": [
            {"component": "docs", "severity": "low", "comment": "no docstring", "file": "", "function": ""},
            {
                "component": "model",
                "severity": "high",
                "comment": "missing temperature",
                "file": "model.py",
                "function": "PrototypeNet.forward",
            },
        ],
        "samples": [{"index": 0, "valid": True, "score": 4}],
    }
    (root / "eval" / "ref-free.json").write_text(json.dumps(judge))
    rubric = {
        "model": "judge",
        "category": None,
        "score": 0.25,
        "leaves": 2,
        "invalid_leaves": 0,
        "tree": {
            "id": "root",
            "requirements": "Reproduce the paper",
            "weight": 1,
            "score": 0.25,
            "sub_tasks": [
                {"id": "a", "requirements": "Encoder", "weight": 1, "score": 0.5, "sub_tasks": []},
                {"id": "b", "requirements": "Prototypes", "weight": 1, "score": 0.0, "sub_tasks": []},
            ],
        },
    }
    (root / "eval" / "rubric.json").write_text(json.dumps(rubric))
    (root / "eval" / "weird.json").write_text("[1, 2")
