"""The shape of a real run, for ``benchmarks/speed.py``: o3-mini on "Attention Is All You Need" with the original
Paper2Code — 7 files, and the output tokens (reasoning included) of every call. The answers are synthetic but of
realistic size: code with the real imports of a plausible dependency graph, so the dag order reads it back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import RecordedRequest, Reply

FILES = ["config.py", "utils.py", "dataset_loader.py", "model.py", "trainer.py", "evaluation.py", "main.py"]
# config ← utils ← dataset_loader, model; trainer ← model, dataset_loader; evaluation ← model, dataset_loader;
# main ← all.
DEPS: dict[str, list[str]] = {
    "config.py": [],
    "utils.py": ["config.py"],
    "dataset_loader.py": ["utils.py"],
    "model.py": ["utils.py"],
    "trainer.py": ["dataset_loader.py", "model.py"],
    "evaluation.py": ["dataset_loader.py", "model.py"],
    "main.py": ["config.py", "utils.py", "dataset_loader.py", "model.py", "trainer.py", "evaluation.py"],
}
# Output tokens of each call in the real run, reasoning included.
OUTPUT_TOKENS: dict[str, int] = {
    "planning/plan": 5366,
    "planning/architecture": 2051,
    "planning/logic": 1973,
    "planning/config": 3295,
    "analysis/config.py": 3321,
    "analysis/utils.py": 4105,
    "analysis/dataset_loader.py": 5230,
    "analysis/model.py": 6355,
    "analysis/trainer.py": 4870,
    "analysis/evaluation.py": 5512,
    "analysis/main.py": 3790,
    "coding/config.py": 7249,
    "coding/utils.py": 6214,
    "coding/dataset_loader.py": 8510,
    "coding/model.py": 13038,
    "coding/trainer.py": 5574,
    "coding/evaluation.py": 10334,
    "coding/main.py": 3486,
    # Not in the original: papercoder's reproduce.sh call after coding (and a repair call, if checks find anything).
    "repo/reproduce": 900,
    "repair/checks": 600,
}
# Visible tokens of each answer (the rest of the output is reasoning); about 4 characters a token.
CODE_TOKENS = {
    "config.py": 550,
    "utils.py": 900,
    "dataset_loader.py": 1500,
    "model.py": 2600,
    "trainer.py": 1500,
    "evaluation.py": 1700,
    "main.py": 700,
}
PLAN_TOKENS = 1400
ANALYSIS_TOKENS = 1100
CLASSES = {
    "config.py": "Config",
    "utils.py": "Helpers",
    "dataset_loader.py": "DatasetLoader",
    "model.py": "TransformerModel",
    "trainer.py": "Trainer",
    "evaluation.py": "Evaluation",
    "main.py": "Main",
}
SHARED_PAPER = Path(__file__).resolve().parents[1] / ".." / "shared" / "examples" / "attention" / "paper.tex"
_WORDS = [
    "attention", "encoder", "decoder", "layer", "head", "query", "key", "value", "softmax", "scale", "residual",
    "dropout", "embedding", "position", "sinusoid", "token", "batch", "sequence", "vocabulary", "translation", "beam",
    "label", "smoothing", "warmup", "optimizer", "adam", "step",
]  # fmt: skip


def prose(tokens: int, seed: int) -> str:
    """Deterministic English-like text of about ``tokens`` tokens (4 characters a token)."""
    words: list[str] = []
    size = 0
    n = seed
    while size < tokens * 4:
        n = (n * 1103515245 + 12345) % (1 << 31)
        word = _WORDS[n % len(_WORDS)]
        words.append(word + ("." if n % 11 == 0 else ""))
        size += len(word) + 1
    return " ".join(words)


def module(path: str) -> str:
    return path.removesuffix(".py")


def fake_code(path: str) -> str:
    """Valid Python of about ``CODE_TOKENS[path]`` tokens that imports what the graph says."""
    lines = ['"""' + f"{module(path)}: part of the Transformer reproduction." + '"""', ""]
    lines += [f"from {module(dep)} import {CLASSES[dep]}" for dep in DEPS[path]]
    lines += ["import math", "", "", f"class {CLASSES[path]}:", f'    """{prose(20, len(path))}"""', ""]
    n = 0
    while len("\n".join(lines)) < CODE_TOKENS[path] * 4:
        lines += [
            f"    def step_{n}(self, x: float, scale: float = {n + 1}.0) -> float:",
            f'        """{prose(12, n)}"""',
            f"        hidden = math.sqrt(abs(x) + {n}) * scale",
            "        return hidden / (1.0 + math.exp(-hidden))",
            "",
        ]
        n += 1
    return "\n".join(lines) + "\n"


def logic_text(path: str) -> str:
    """A logic-design entry that names the file's dependencies the way models do."""
    imports = "; ".join(f"imports {CLASSES[d]} from {module(d)}" for d in DEPS[path])
    return f"{CLASSES[path]}: {prose(60, len(path) * 7)}" + (f"; {imports}." if imports else ".")


def architecture() -> dict[str, object]:
    diagram = "classDiagram\n" + "".join(f"    class {CLASSES[f]}\n" for f in FILES)
    return {
        "Implementation approach": prose(500, 3),
        "File list": FILES,
        "Data structures and interfaces": diagram,
        "Program call flow": "sequenceDiagram\n    participant M as Main\n    participant T as Trainer\n"
        "    M->>T: train()",
        "Anything UNCLEAR": prose(60, 5),
    }


def logic_design() -> dict[str, object]:
    return {
        "Required packages": ["torch>=2.0", "numpy>=1.24", "pyyaml>=6", "sacrebleu>=2"],
        "Logic Analysis": [[f, logic_text(f)] for f in FILES],
        "Task list": FILES,
        "Shared Knowledge": prose(150, 9),
        "Anything UNCLEAR": prose(60, 11),
    }


CONFIG_YAML = "".join(f"{section}:\n  width: {i * 64}\n  rate: 0.{i}\n" for i, section in enumerate(_WORDS[:20]))


REPRODUCE = """```bash
#!/usr/bin/env bash
set -euo pipefail
python -m venv .venv && . .venv/bin/activate
pip install -r requirements.txt
python main.py --config config.yaml ${SMOKE:+--smoke}
```"""


Design = Callable[[], dict[str, Any]]


def design_answer(step: str, sizes: tuple[int, int], design: Design, logic: Design) -> str | None:
    """The answer to a planning, analysis or reproduce step, as a capable model formats it: a plan and analyses of
    ``sizes`` (tokens of each), this ``design`` and ``logic``; ``None`` for any other step."""
    plan_tokens, analysis_tokens = sizes
    if step == "planning/plan":
        return "## Plan\n" + prose(plan_tokens, 1)
    if step == "planning/architecture":
        return "```json\n" + json.dumps(design(), indent=2) + "\n```"
    if step == "planning/logic":
        return "```json\n" + json.dumps(logic(), indent=2) + "\n```"
    if step == "planning/config":
        return "```yaml\n" + CONFIG_YAML + "```"
    if step.startswith("analysis/"):
        return f"## {step}\n" + prose(analysis_tokens, len(step))
    if step == "repo/reproduce":
        return REPRODUCE
    return None


def visible_answer(step: str) -> str:
    """The text of an answer, as a capable model formats it."""
    if (text := design_answer(step, (PLAN_TOKENS, ANALYSIS_TOKENS), architecture, logic_design)) is not None:
        return text
    if step == "repair/checks":
        return "No edits are needed."
    if step.startswith("coding/"):
        path = step.removeprefix("coding/")
        return f"```python\n{fake_code(path)}```"
    raise ValueError(f"unexpected step {step!r}")


@dataclass
class ShapeResponder:
    """Answers each step with its synthetic text and its real output token count (the rest is reasoning)."""

    steps: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: RecordedRequest) -> Reply:
        step = request.headers.get("x-papercoder-step", "")
        with self._lock:
            self.steps.append(step)
        text = visible_answer(step)
        total = OUTPUT_TOKENS[step]
        return Reply(text, completion_tokens=total, reasoning_tokens=max(0, total - len(text) // 4))


def paper_markdown() -> tuple[str, str]:
    """The paper to run on (the shared LaTeX source read by papercoder, else synthetic text of its size)."""
    if SHARED_PAPER.is_file():
        from papercoder.paper import load_paper

        return load_paper(SHARED_PAPER).markdown(), "Attention Is All You Need (shared/examples/attention)"
    sections = "".join(f"\n\n## {n} Section {n}\n\n{prose(600, n)}" for n in range(1, 13))
    return "# Attention Is All You Need\n\n## Abstract\n\n" + prose(200, 0) + sections, "synthetic paper, same size"


def critical_path(durations: dict[str, float], needs: dict[str, list[str]]) -> float:
    """The longest chain of calls that must follow one another (a step the run did not make, such as a repair
    round that was not needed, takes no time but keeps the order)."""
    finish: dict[str, float] = {}

    def end(step: str) -> float:
        if step not in finish:
            finish[step] = durations.get(step, 0.0) + max((end(n) for n in needs[step]), default=0.0)
        return finish[step]

    return max(end(step) for step in needs)
