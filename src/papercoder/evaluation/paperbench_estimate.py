"""``bench --paperbench --estimate``: the planned calls, tokens and cost of a PaperBench run, calling nothing.

Per paper, method and seed: the generation stages (``pipeline/estimate.py`` for papercoder, one call for a
baseline); for a ``+refine`` method the rubric derivation (one call for the components, one per component), the
first grading of every derived leaf, and per round one call per file and a re-grading of the leaves (assumed: all of
them, the most it can be); then the Code-Dev grading, exactly one call per Code-Development leaf of the official
rubric, its prompt the paper plus the files shown (at most ``file_tokens``). Answer sizes are typical ones; a
reasoning model's hidden reasoning is counted with ``REASONING_FACTOR``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from papercoder._methods import estimate_method
from papercoder.evaluation.paperbench import Method, PBPaper, code_dev_leaves, paper_text
from papercoder.evaluation.rubric import LEAF_OVERHEAD, load_rubric
from papercoder.llm.base import Usage
from papercoder.llm.pricing import cost_usd
from papercoder.paper.tokens import count_tokens
from papercoder.pipeline.estimate import ANSWER_TOKENS, REASONING_FACTOR, TYPICAL_FILES, EstimateInput
from papercoder.pipeline.rubric import MAX_COMPONENTS, leaf_cap

VERDICT_TOKENS = 250  # a leaf verdict: a sentence or two and the score
BASELINE_TOKENS = 8000  # a one-shot repository
COMPONENTS = 5  # components a derived rubric typically has (at most MAX_COMPONENTS)
EDIT_TOKENS = 1500  # one file's SEARCH/REPLACE answer


@dataclass
class Row:
    stage: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""

    def add(self, calls: int, prompt: int, completion: int) -> None:
        self.calls += calls
        self.prompt_tokens += prompt
        self.completion_tokens += completion

    @property
    def cost_usd(self) -> float | None:
        return cost_usd(self.model, Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens))


def estimate_paperbench(
    papers: Sequence[PBPaper],
    methods: Sequence[Method],
    seeds: int,
    *,
    model: str,
    judge: str,
    reasoning: bool,
    judge_reasoning: bool,
    refine_rounds: int = 1,
    file_tokens: int = 12000,
) -> dict[str, object]:
    """The planned calls, tokens and cost per stage, summed over papers, methods and seeds, and per paper."""
    gen = REASONING_FACTOR if reasoning else 1.0
    jud = REASONING_FACTOR if judge_reasoning else 1.0
    stages: dict[str, Row] = {}

    def row(stage: str, who: str) -> Row:
        return stages.setdefault(stage, Row(stage, model=who))

    per_paper = []
    for paper in papers:
        tokens = count_tokens(paper_text(paper))
        leaves = code_dev_leaves(load_rubric(paper.rubric))
        shown = min(file_tokens, TYPICAL_FILES * ANSWER_TOKENS["code"])  # a repository's files, at most the budget
        grade_prompt = tokens + LEAF_OVERHEAD + shown
        per_paper.append({"paper": paper.id, "paper_tokens": tokens, "code_dev_leaves": leaves})
        for method in methods:
            for _ in range(seeds):
                if method.base == "papercoder":
                    for stage in estimate_method("papercoder", EstimateInput(tokens, model, reasoning=reasoning)):
                        row(stage.stage, model).add(stage.calls, stage.prompt_tokens, stage.completion_tokens)
                else:
                    row("baseline", model).add(1, tokens + 400, int(BASELINE_TOKENS * gen))
                if method.refine:
                    derived = leaf_cap(tokens)
                    parts = min(COMPONENTS, MAX_COMPONENTS)
                    row("rubric", model).add(
                        1 + parts, (1 + parts) * tokens + parts * 1500, int((1 + parts) * 1200 * gen)
                    )
                    regrades = derived * (1 + refine_rounds)
                    row("refine-grading", judge).add(
                        regrades, regrades * grade_prompt, int(regrades * VERDICT_TOKENS * jud)
                    )
                    edits = TYPICAL_FILES * refine_rounds
                    row("refine", model).add(
                        edits, edits * (8000 + ANSWER_TOKENS["code"]), int(edits * EDIT_TOKENS * gen)
                    )
                row("grading", judge).add(leaves, leaves * grade_prompt, int(leaves * VERDICT_TOKENS * jud))
    rows = list(stages.values())
    costs = [r.cost_usd for r in rows]
    return {
        "model": model,
        "judge": judge,
        "seeds": seeds,
        "methods": [m.name for m in methods],
        "papers": per_paper,
        "stages": [
            {
                "stage": r.stage,
                "model": r.model,
                "calls": r.calls,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "cost_usd": r.cost_usd,
            }
            for r in rows
        ],
        "calls": sum(r.calls for r in rows),
        "prompt_tokens": sum(r.prompt_tokens for r in rows),
        "completion_tokens": sum(r.completion_tokens for r in rows),
        "cost_usd": None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
    }
