"""Model-based judging of a generated repository: reference-free (paper only) and reference-based (paper + gold).

The judge lists the key components the paper requires, critiques each (tied to a file and function) with a severity
(high/medium/low, by the part of the paper it touches, as the Paper2Code protocol has it) and gives a 1–5
correctness score as JSON. ``n`` samples are drawn; unparseable or out-of-range samples are dropped and the
rest averaged. The reported ``std`` is the population standard deviation (ddof=0) of the valid samples' scores.

Sampling: one call asks for all ``n`` samples with the provider's ``n`` parameter. When fewer texts come back (a
provider that ignores ``n`` returns one), the missing samples are asked for one by one with ``n=1``. Their
messages are identical, so the settings differ by ``schema_name=f"judge_{i}"`` (part of the call-cache key, unlike
``step``); without it every single-sample call would hit the same cache entry and return the same answer. Their
step is ``eval/<mode>/sample-<i>``. A provider that rejects ``n > 1`` outright gets all ``n`` calls one by one.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from papercoder.errors import InputError, ModelError
from papercoder.evaluation.repofiles import format_files
from papercoder.evaluation.templates import render
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, Usage
from papercoder.llm.families import sampling_for
from papercoder.llm.pricing import cost_usd
from papercoder.parsing.json_extract import JSONExtractionError, extract_json
from papercoder.run_dir import now_iso

Mode = Literal["ref-free", "ref-based"]
Severity = Literal["high", "medium", "low"]
ANSWER_RESERVE = 4096  # tokens kept free for the judge's answer when checking the context window
MESSAGE_OVERHEAD = 8  # tokens the chat format adds per message

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "components": {"type": "array", "items": {"type": "string"}},
        "critiques": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "component": {"type": "string"},
                    "file": {"type": "string"},
                    "function": {"type": "string"},
                    "severity": {"type": "string", "enum": ["high", "medium", "low"]},
                    "comment": {"type": "string"},
                },
                "required": ["component", "file", "function", "severity", "comment"],
            },
        },
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["components", "critiques", "score"],
}


class Critique(BaseModel):
    """One critique of one component, tied to where it is (or should be) in the repository.

    ``severity`` is by the part of the paper the critique touches, as in the Paper2Code protocol (high: the core
    method; medium: the experimental pipeline; low: details), so mean scores compare with the paper's tables.
    ``file``/``function`` are empty in samples from before they were asked for."""

    component: str
    severity: Severity
    comment: str
    file: str = ""
    function: str = ""

    @field_validator("file", "function", mode="before")
    @classmethod
    def _place(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class JudgeAnswer(BaseModel):
    """One judge sample: the key components, a critique per component, and a 1–5 score."""

    components: list[str] = Field(default_factory=list)
    critiques: list[Critique] = Field(default_factory=list)
    score: int = Field(ge=1, le=5)

    @field_validator("components", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        # Models sometimes list components as objects; keep their name.
        if isinstance(value, list):
            return [_component_name(item) for item in value]
        return value

    @field_validator("score", mode="before")
    @classmethod
    def _whole(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("the score is a boolean, not a number")
        return value


def _component_name(item: object) -> object:
    if isinstance(item, dict):
        for key in ("name", "component", "title"):
            if isinstance(item.get(key), str):
                return item[key]
    return item


class Sample(BaseModel):
    """What became of one sample: its answer when valid, else why it was dropped (and the raw text)."""

    index: int
    valid: bool
    score: int | None = None
    answer: JudgeAnswer | None = None
    error: str | None = None
    raw: str | None = None


class JudgeResult(BaseModel):
    """The outcome of judging one repository ``n`` times."""

    mode: Mode
    model: str
    created_at: str = ""
    n: int
    valid: int
    scores: list[int]
    mean: float | None
    std: float | None
    std_kind: Literal["population"] = "population"
    critiques: list[Critique] = Field(default_factory=list)
    samples: list[Sample] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    gold_files: list[str] | None = None
    prompt_tokens_estimate: int = 0
    calls: int = 0
    cached_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    notes: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)


def parse_sample(index: int, text: str) -> Sample:
    """Parse one judge text; a sample that is not JSON, misses fields or scores outside 1–5 is invalid."""
    try:
        data = extract_json(text)
    except JSONExtractionError as exc:
        return Sample(index=index, valid=False, error=f"not JSON ({exc})", raw=text)
    try:
        answer = JudgeAnswer.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:3])
        return Sample(index=index, valid=False, error=f"invalid answer ({where})", raw=text)
    return Sample(index=index, valid=True, score=answer.score, answer=answer)


def summarize(scores: list[int]) -> tuple[float | None, float | None]:
    """Mean and population standard deviation of ``scores`` (None, None when empty)."""
    if not scores:
        return None, None
    return statistics.fmean(scores), statistics.pstdev(scores)


def judge_messages(paper: str, repo: Mapping[str, str], gold: Mapping[str, str] | None) -> list[Message]:
    """The judge's messages: a system turn and one user turn with the paper, the gold repo (if any) and the repo."""
    user = render(
        "judge.j2",
        paper=paper.strip(),
        repo=format_files(dict(repo)),
        gold=format_files(dict(gold)) if gold is not None else "",
    )
    return [{"role": "system", "content": render("judge_system.j2")}, {"role": "user", "content": user}]


def check_context(
    model: ChatModel,
    messages: list[Message],
    parts: Mapping[str, str],
    window: int | None,
    reserve: int,
) -> int:
    """Count the prompt's tokens; raise ``InputError`` when they and ``reserve`` exceed ``window``.

    Args:
        model: counts the tokens.
        messages: the prompt.
        parts: named pieces of the prompt (paper, repository, gold) for the error's breakdown.
        window: the context window in tokens (None: unknown, nothing is checked).
        reserve: tokens left for the answer.

    Returns:
        The prompt's token count.
    """
    total = sum(model.count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
    if window is not None and total + reserve > window:
        breakdown = ", ".join(f"{name} {model.count_tokens(text)}" for name, text in parts.items())
        raise InputError(
            f"the judge prompt needs {total} tokens ({breakdown}) plus {reserve} for the answer, more than the "
            f"judge's context window of {window}; judge part of the repository with --max-files N or "
            "--include GLOB (repeatable), or set a larger window with --context-tokens if the model has one"
        )
    return total


async def _draw(
    model: ChatModel, messages: list[Message], base: CallSettings, n: int, concurrency: int, notes: list[str]
) -> list[Completion]:
    """All completions that together hold ``n`` texts (see the module docstring for the fallback)."""
    done: list[Completion] = []
    have = 0
    try:
        first = await model.complete(messages, base.model_copy(update={"n": n, "schema_name": "judge"}))
        done.append(first)
        have = min(len(first.texts), n)
        if have < n:
            notes.append(f"asked for {n} samples in one call and got {have}: sampled the rest one by one")
    except ModelError as exc:
        if n == 1:
            raise
        notes.append(f"the provider refused n={n} ({exc}): sampled one by one")
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(i: int) -> Completion:
        settings = base.model_copy(update={"n": 1, "step": f"{base.step}/sample-{i}", "schema_name": f"judge_{i}"})
        async with gate:
            return await model.complete(messages, settings)

    done += await asyncio.gather(*(one(i) for i in range(have, n)))
    return done


async def judge_repository(
    model: ChatModel,
    paper: str,
    repo: Mapping[str, str],
    *,
    gold: Mapping[str, str] | None = None,
    n: int = 8,
    temperature: float | None = None,
    reasoning_effort: str | None = None,
    max_tokens: int | None = None,
    context_tokens: int | None = None,
    concurrency: int = 4,
) -> JudgeResult:
    """Judge ``repo`` against ``paper`` (and ``gold`` when given: reference-based) with ``n`` samples.

    Args:
        model: the judge (wrap it in ``CachedModel`` to make re-runs free).
        paper: the paper as Markdown.
        repo: the generated repository, path → text.
        gold: the authors' repository, path → text; None for reference-free judging.
        n: samples to draw (the paper uses 8).
        temperature: sampling temperature (None: the provider's default; reasoning models accept no other).
        reasoning_effort: passed to reasoning models.
        max_tokens: cap on each answer.
        context_tokens: the judge's context window; defaults to ``model.context_window`` (None: not checked).
        concurrency: parallel calls when samples are drawn one by one.

    Returns:
        The scores, their mean and population std, every critique, tokens and cost.

    Raises:
        InputError: ``n`` < 1, or the prompt does not fit the context window.
        ModelError: a call failed after its retries.
    """
    if n < 1:
        raise InputError(f"-n {n}: draw at least one sample")
    mode: Mode = "ref-based" if gold is not None else "ref-free"
    messages = judge_messages(paper, repo, gold)
    parts = {"paper": paper, "repository": format_files(dict(repo))}
    if gold is not None:
        parts["gold repository"] = format_files(dict(gold))
    window = context_tokens or model.context_window
    prompt_tokens = check_context(model, messages, parts, window, max_tokens or ANSWER_RESERVE)
    # A reasoning judge runs at high effort unless told otherwise, as the paper's o3-mini-high did.
    sampling = sampling_for(model.name, reasoning_effort, temperature)
    base = CallSettings(
        step=f"eval/{mode}",
        max_tokens=max_tokens,
        temperature=sampling.temperature,
        reasoning_effort=sampling.reasoning_effort,
        json_schema=JUDGE_SCHEMA,
    )
    notes: list[str] = list(sampling.notes)
    completions = await _draw(model, messages, base, n, concurrency, notes)
    texts = [t for c in completions for t in c.texts][:n]
    samples = [parse_sample(i, t) for i, t in enumerate(texts)]
    scores = [s.score for s in samples if s.valid and s.score is not None]
    mean, std = summarize(scores)
    usage = Usage()
    for c in completions:
        usage = usage + c.usage
    return JudgeResult(
        mode=mode,
        model=model.name,
        created_at=now_iso(),
        n=n,
        valid=len(scores),
        scores=scores,
        mean=mean,
        std=std,
        critiques=[c for s in samples if s.answer is not None for c in s.answer.critiques],
        samples=samples,
        files=list(repo),
        gold_files=list(gold) if gold is not None else None,
        prompt_tokens_estimate=prompt_tokens,
        calls=len(completions),
        cached_calls=sum(1 for c in completions if c.from_cache),
        usage=usage,
        cost_usd=cost_usd(model.name, usage),
        notes=notes,
    )
