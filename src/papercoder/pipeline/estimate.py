"""Estimate a run's calls, tokens and cost before making any call (``papercoder run --estimate``).

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


def estimate_run(
    paper_tokens: int, model: str, *, files: int = TYPICAL_FILES, reasoning: bool = False, system_tokens: int = 150
) -> list[StageEstimate]:
    """Expected calls, tokens and cost per stage for a paper of ``paper_tokens`` with ``files`` source files."""
    factor = REASONING_FACTOR if reasoning else 1.0

    def out(kind: str) -> int:
        return int(ANSWER_TOKENS[kind] * factor)

    visible = ANSWER_TOKENS  # what stays in the conversation: reasoning tokens are not sent back
    base = system_tokens + paper_tokens + INSTRUCTION_TOKENS
    planning_prompt = 0
    context = base
    for kind in ("plan", "architecture", "logic", "config"):
        planning_prompt += context
        context += visible[kind] + INSTRUCTION_TOKENS
    trajectory = context
    analysis_prompt = files * (trajectory + INSTRUCTION_TOKENS)
    coding_prompt = sum(
        trajectory + visible["analysis"] + INSTRUCTION_TOKENS + i * visible["code"] for i in range(files)
    )
    rows = [
        ("planning", 4, planning_prompt, sum(out(k) for k in ("plan", "architecture", "logic", "config"))),
        ("analysis", files, analysis_prompt, files * out("analysis")),
        ("coding", files, coding_prompt, files * out("code")),
        # reproduce.sh sees the file list and requirements, not the paper. The repair round after the checks is
        # made only when they find something, so it is not counted.
        ("reproduce", 1, system_tokens + INSTRUCTION_TOKENS + files * FILE_LINE_TOKENS, out("script")),
    ]
    return [
        StageEstimate(
            stage, calls, prompt, completion, cost_usd(model, Usage(prompt_tokens=prompt, completion_tokens=completion))
        )
        for stage, calls, prompt, completion in rows
    ]


def is_reasoning_model(model: str, reasoning_effort: str | None) -> bool:
    """Reasoning models bill hidden reasoning tokens: o-series, gpt-5, deepseek-reasoner, or any effort given."""
    bare = model.rsplit("/", 1)[-1].lower()
    return bool(reasoning_effort) or bare.startswith(("o1", "o3", "o4", "gpt-5")) or "reasoner" in bare
