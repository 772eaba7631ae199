"""Estimate a run's calls, tokens and cost before making any call (``papercoder run --estimate``): one function per
stage kind; the engine's stage table (``papercoder._engine``) says which rows a method has. The repair round after
the checks is made only when they find something, so it is not counted.

The answer sizes are typical of a non-reasoning model on a conference paper; reasoning models also bill their
hidden reasoning as output, which ``REASONING_FACTOR`` approximates (from an o3-mini run of the original project).
"""

from __future__ import annotations

from dataclasses import dataclass

from papercoder.llm.base import Usage
from papercoder.llm.pricing import cost_usd

ANSWER_TOKENS = {
    "plan": 1500,
    "architecture": 1500,
    "logic": 1500,
    "config": 500,
    "analysis": 1500,
    "code": 2500,
    "script": 400,
}
FILE_LINE_TOKENS = 20  # a file's line in the reproduce.sh prompt
INSTRUCTION_TOKENS = 400
REASONING_FACTOR = 2.5
TYPICAL_FILES = 7


@dataclass
class StageEstimate:
    """Expected calls and tokens of one stage."""

    stage: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class EstimateInput:
    """What an estimate knows before any call: the paper's size, the model, the files a plan typically lists."""

    paper_tokens: int
    model: str
    files: int = TYPICAL_FILES
    reasoning: bool = False
    system_tokens: int = 150

    def out(self, kind: str) -> int:
        """Billed answer tokens of a step: reasoning models also bill their hidden reasoning."""
        return int(ANSWER_TOKENS[kind] * (REASONING_FACTOR if self.reasoning else 1.0))

    def base(self) -> int:
        return self.system_tokens + self.paper_tokens + INSTRUCTION_TOKENS

    def trajectory(self, turns: int) -> int:
        """Tokens of the planning conversation after ``turns`` turns (reasoning tokens are not sent back)."""
        return self.base() + sum(ANSWER_TOKENS[k] + INSTRUCTION_TOKENS for k in PLANNING_KINDS[:turns])

    def row(self, stage: str, calls: int, prompt: int, completion: int) -> StageEstimate:
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
        return StageEstimate(stage, calls, prompt, completion, cost_usd(self.model, usage))


PLANNING_KINDS = ("plan", "architecture", "logic", "config")  # the answer kinds of planning.TURNS, in order


def planning(inp: EstimateInput, turns: int) -> StageEstimate:
    prompt = sum(inp.trajectory(t) for t in range(turns))
    return inp.row("planning", turns, prompt, sum(inp.out(k) for k in PLANNING_KINDS[:turns]))


def analysis(inp: EstimateInput, turns: int) -> StageEstimate:
    prompt = inp.files * (inp.trajectory(turns) + INSTRUCTION_TOKENS)
    return inp.row("analysis", inp.files, prompt, inp.files * inp.out("analysis"))


def coding(inp: EstimateInput, turns: int, analysed: bool) -> StageEstimate:
    """One call per file, each seeing the planning conversation, its analysis and the files before it."""
    extra = ANSWER_TOKENS["analysis"] if analysed else 0
    prompt = sum(
        inp.trajectory(turns) + extra + INSTRUCTION_TOKENS + i * ANSWER_TOKENS["code"] for i in range(inp.files)
    )
    return inp.row("coding", inp.files, prompt, inp.files * inp.out("code"))


def oneshot(inp: EstimateInput, turns: int) -> StageEstimate:
    """One call writing every file: the paper (and the plan, after planning) in, the whole repository out."""
    return inp.row("coding", 1, inp.trajectory(turns), inp.files * inp.out("code"))


def reproduce(inp: EstimateInput) -> StageEstimate:
    """reproduce.sh sees the file list and requirements, not the paper."""
    return inp.row(
        "reproduce", 1, inp.system_tokens + INSTRUCTION_TOKENS + inp.files * FILE_LINE_TOKENS, inp.out("script")
    )


def is_reasoning_model(model: str, reasoning_effort: str | None) -> bool:
    """Reasoning models bill hidden reasoning tokens: o-series, gpt-5, deepseek-reasoner, or any effort given."""
    bare = model.rsplit("/", 1)[-1].lower()
    return bool(reasoning_effort) or bare.startswith(("o1", "o3", "o4", "gpt-5")) or "reasoner" in bare
