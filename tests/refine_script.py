"""A scripted grader-and-fixer for the refine tests (a test double of a capable model over the loopback server).

On top of the Paper2Code scenario it answers ``grade/<leaf>`` by looking for a leaf's code marker in the files the
prompt shows (never in the paper or the requirement), ``refine/round-NN/<file>`` from a table of edits, and the
rubric derivation steps from a table of JSON answers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.openai_server import ErrorReply, RecordedRequest, Reply
from tests.scenario import Paper2CodeScript

FILES_HEADING = "# Files of the repository that look most relevant to it"


@dataclass(frozen=True)
class Leaf:
    """A rubric leaf of the test: it passes when ``marker`` is in the code shown; ``home`` is the file the grader
    names when it fails."""

    id: str
    marker: str
    home: str
    weight: float = 1.0


@dataclass
class RefineScript(Paper2CodeScript):
    leaves: dict[str, Leaf] = field(default_factory=dict)
    edits: dict[str, str] = field(default_factory=dict)  # refine step → answer
    derive: dict[str, str] = field(default_factory=dict)  # rubric step → answer (a list pops one per call)
    derive_queue: dict[str, list[str]] = field(default_factory=dict)
    fail_once: set[str] = field(default_factory=set)  # steps answered with a 400 the first time
    graded: list[str] = field(default_factory=list)
    _gate: threading.Lock = field(default_factory=threading.Lock)

    def grade(self, leaf_id: str, prompt: str) -> str:
        leaf = self.leaves[leaf_id]
        shown = prompt.split(FILES_HEADING, 1)[1]
        if leaf.marker in shown:
            return json.dumps({"explanation": f"{leaf.home} has it", "score": 1})
        return json.dumps({"explanation": f"{leaf.home} lacks it", "score": 0})

    def __call__(self, request: RecordedRequest) -> Reply | ErrorReply:  # type: ignore[override]
        step = unquote(request.headers.get("x-papercoder-step", ""))
        with self._gate:
            self.steps.append(step)
            if step in self.fail_once:
                self.fail_once.discard(step)
                return ErrorReply(400, f"scripted failure at {step}")
        if step.startswith("grade/"):
            with self._gate:
                self.graded.append(step)
            return Reply(content=self.grade(step.split("/", 1)[1], request.last_user_content))
        if step.startswith("refine/"):
            return Reply(content=self.edits.get(step, "Nothing to change."))
        if step.startswith("rubric/"):
            with self._gate:
                queue = self.derive_queue.get(step)
                if queue:
                    return Reply(content=queue.pop(0))
            return Reply(content=self.derive[step])
        return Reply(content=self.answer(step))


def rubric_tree(groups: dict[str, tuple[float, list[Leaf]]]) -> dict[str, Any]:
    """A PaperBench-schema tree: root → one node per group (its weight) → its leaves (Code Development)."""

    def leaf(item: Leaf) -> dict[str, Any]:
        return {
            "id": item.id,
            "requirements": f"requirement {item.id}",
            "weight": item.weight,
            "sub_tasks": [],
            "task_category": "Code Development",
            "finegrained_task_category": "Method Implementation",
        }

    return {
        "id": "root",
        "requirements": "the paper",
        "weight": 1,
        "sub_tasks": [
            {
                "id": name,
                "requirements": f"group {name}",
                "weight": weight,
                "sub_tasks": [leaf(x) for x in items],
                "task_category": None,
                "finegrained_task_category": None,
            }
            for name, (weight, items) in groups.items()
        ],
        "task_category": None,
        "finegrained_task_category": None,
    }


def edit(path: str, search: str, replace: str) -> str:
    """A SEARCH/REPLACE answer for one block."""
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"
