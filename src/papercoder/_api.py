"""The public entry points behind ``papercoder.run``, ``run_async``, ``get_model`` and ``estimate``: every option of
``papercoder run`` (same names, snake_case), with the model given by name or as any ``ChatModel`` object."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from papercoder._engine import Finished, run_method
from papercoder._events import EventHandler, Note, ignore
from papercoder._methods import METHODS, estimate_method, method_named
from papercoder.errors import InputError
from papercoder.evaluation.rubric import JudgeSettings
from papercoder.llm import registry
from papercoder.llm.base import ChatModel, Usage
from papercoder.llm.budget import Budget
from papercoder.llm.pricing import apply_prices
from papercoder.llm.ratelimit import wait_line
from papercoder.llm.registry import ModelChoice
from papercoder.pipeline.context import LOCAL_LIMITS, LOCAL_PAPER_TOKENS
from papercoder.pipeline.debugging import DebugOptions
from papercoder.pipeline.estimate import TYPICAL_FILES, EstimateInput, StageEstimate, is_reasoning_model
from papercoder.pipeline.refine import RefineOptions
from papercoder.repo.sandbox import SandboxSpec
from papercoder.run_dir import ModelInfo
from papercoder.settings import IngestOptions, RunSettings

#: The stage name of the ``Note`` that reports a wait for the rate limiter.
RATE_LIMIT = "rate-limit"

# What get_model resolved each model it built to, so a run records the provider and endpoint, not just the name.
_CHOICES: weakref.WeakKeyDictionary[Any, ModelChoice] = weakref.WeakKeyDictionary()


class RunOptions(BaseModel):
    """The options of a run: those of ``papercoder run``, by the same names (``--max-cost`` is ``max_cost``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "papercoder"
    concurrency: int = Field(4, ge=1)
    coding_order: Literal["auto", "sequential", "dag"] = "auto"
    dep_context: Literal["interface", "full"] = "interface"
    reasoning_effort: str | None = None
    temperature: float | None = None
    reasoning_model: bool = False
    max_paper_tokens: int | None = Field(None, ge=100)
    max_files: int = Field(100, ge=1)
    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf"
    keep_references: bool = False
    grobid_url: str | None = None
    jobs: int | None = Field(None, ge=1)  # cores for PDF layout analysis, a process each (None: all)
    rpm: float | None = Field(None, gt=0)  # requests a minute at most, spaced (``llm/ratelimit.py``)
    tpm: float | None = Field(None, gt=0)  # tokens (prompt and answer limit) a minute at most
    fresh: bool = False
    max_cost: float | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    timeout: float = Field(600.0, ge=1)
    debug: bool = False
    sandbox: str = "auto"
    image: str | None = None
    gpus: bool = False
    network: str = "install"
    refine: int = Field(0, ge=0)
    rubric: Path | None = None
    judge_model: str | None = None
    price_input: float | None = Field(None, ge=0)
    price_output: float | None = Field(None, ge=0)
    prices: Path | None = None

    def settings(self) -> RunSettings:
        return RunSettings(
            method=method_named(self.method).name,
            concurrency=self.concurrency,
            coding_order=self.coding_order,
            dep_context=self.dep_context,
            reasoning_effort=self.reasoning_effort.lower() if self.reasoning_effort else None,
            temperature=self.temperature,
            reasoning_model=self.reasoning_model,
            max_paper_tokens=self.max_paper_tokens,
            max_files=self.max_files,
            ingest=IngestOptions(
                pdf_engine=self.pdf_engine,
                keep_references=self.keep_references,
                grobid_url=self.grobid_url,
                jobs=self.jobs,
            ),
        )


def run_options(**options: Any) -> RunOptions:
    """``RunOptions`` from keyword arguments; ``InputError`` naming the first bad one."""
    try:
        return RunOptions(**options)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "options"
        if first["type"] == "extra_forbidden":
            raise InputError(f"unknown option {name!r}: see help(papercoder.run) for the options") from None
        raise InputError(f"{name}={first.get('input')!r}: {first['msg']}") from None


class RunResult(BaseModel):
    """What a run left, as ``papercoder run --json`` prints it."""

    status: str
    run_dir: Path
    repo: Path
    method: str
    model: str
    files: list[str]
    usage: Usage
    calls: int
    cached_calls: int
    cost: float | None
    warnings: list[str]
    problems: list[str]
    debug: dict[str, Any] | None = None
    refine: dict[str, Any] | None = None


def result_of(finished: Finished) -> RunResult:
    ctx, m = finished.ctx, finished.ctx.manifest
    return RunResult(
        status=m.status,
        run_dir=ctx.run.root,
        repo=ctx.run.repo,
        method=m.settings.method,
        model=m.model.name,
        files=list(m.files),
        usage=m.total_usage(),
        calls=sum(s.calls for s in m.stages.values()),
        cached_calls=sum(s.cached_calls for s in m.stages.values()),
        cost=m.total_cost(),
        warnings=list(m.warnings),
        problems=list(m.problems),
        debug=finished.debugged.record() if finished.debugged else None,
        refine=finished.refined.record() if finished.refined else None,
    )


def refine_options(rounds: int, rubric: Path | None, effort: str | None, concurrency: int = 4) -> RefineOptions:
    """The options of ``rounds`` refine rounds; a missing rubric file is refused before any call."""
    if rubric is not None and not rubric.is_file():
        raise InputError(f"rubric not found: {rubric}")
    judging = JudgeSettings(concurrency=concurrency, reasoning_effort=effort.strip().lower() if effort else None)
    return RefineOptions(rounds=rounds, rubric=rubric, judging=judging)


def get_model(
    name: str | None = None,
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
    timeout: float = 600.0,
    rpm: float | None = None,
    tpm: float | None = None,
    on_event: EventHandler = ignore,
) -> ChatModel:
    """The model ``name`` names, by the rules of ``--model``: ``openai/NAME``; ``NAME`` with ``base_url`` for any
    OpenAI-compatible server; ``local/smollm2`` for the embedded model; None for ``$PAPERCODER_MODEL``, else OpenAI
    when ``OPENAI_API_KEY`` is set, else the embedded model. The key is read from ``api_key_env`` (default
    ``OPENAI_API_KEY``) and kept in memory only. Close it with ``await model.aclose()``. A served model shares the
    process's rate limiter for its endpoint and model (``rpm``/``tpm`` a minute; each wait a ``Note`` of stage
    ``rate-limit`` to ``on_event``)."""
    choice = registry.resolve(name, base_url, api_key_env)
    model = registry.build(choice, timeout_s=timeout, rpm=rpm, tpm=tpm, on_rate_wait=rate_wait_notes(on_event))
    _CHOICES[model] = choice
    return model


def rate_wait_notes(on_event: EventHandler) -> Callable[[float, str], None]:
    """A rate limiter's ``on_wait`` that tells ``on_event`` of each wait, as a ``Note`` of stage ``rate-limit``."""

    def report(seconds: float, reason: str) -> None:
        on_event(Note(RATE_LIMIT, wait_line(seconds, reason)))

    return report


def model_of(
    model: str | ChatModel | None,
    base_url: str | None,
    api_key_env: str | None,
    timeout: float = 600.0,
    rpm: float | None = None,
    tpm: float | None = None,
    on_event: EventHandler = ignore,
) -> tuple[ChatModel, ModelInfo, tuple[str, ...], bool]:
    """The model object, what the manifest records of it, warnings to record, and whether this run owns it."""
    owned = model is None or isinstance(model, str)
    if model is None or isinstance(model, str):
        obj: object = get_model(
            model, base_url=base_url, api_key_env=api_key_env, timeout=timeout, rpm=rpm, tpm=tpm, on_event=on_event
        )
    else:
        obj = model
    if not isinstance(obj, ChatModel):
        raise InputError(
            f"model={model!r}: give a model name or an object with name, context_window, count_tokens(), "
            "complete() and aclose() (the papercoder.ChatModel protocol)"
        )
    choice = _CHOICES.get(obj)
    if choice is None:
        provider = "local" if obj.name.startswith("local/") else "custom"
        return obj, ModelInfo(name=obj.name, provider=provider, context_window=obj.context_window), (), owned
    info = ModelInfo.of(choice, obj)
    return obj, info, (choice.demo_warning,) if choice.demo_warning else (), owned


async def run_async(
    paper: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | ChatModel | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    on_event: EventHandler = ignore,
    **options: Any,
) -> RunResult:
    """Run a method (default: the paper's, ``papercoder``) on ``paper`` into the run directory ``out``.

    Args:
        paper: the paper: .pdf, .tex (or a folder / .tar.gz), .md, s2orc .json.
        out: the run directory; running again resumes it.
        model: a model name (see :func:`get_model`) or any object satisfying ``papercoder.ChatModel``; a model
            built here is closed at the end, an object given is left open.
        base_url: an OpenAI-compatible endpoint, with a model name.
        api_key_env: the variable holding the key (default ``OPENAI_API_KEY``).
        on_event: called with each typed event of the run (``papercoder.events``).
        **options: those of ``papercoder run``, snake_case: ``method``, ``concurrency``, ``coding_order``,
            ``dep_context``, ``reasoning_effort``, ``temperature``, ``max_paper_tokens``, ``max_files``,
            ``pdf_engine``, ``keep_references``, ``grobid_url``, ``jobs`` (PDF layout processes), ``rpm`` and
            ``tpm`` (rate limits a minute), ``fresh``, ``max_cost``, ``max_tokens``,
            ``timeout``, ``reasoning_model``, ``debug`` (with ``sandbox``, ``image``, ``gpus``, ``network``),
            ``refine`` (rounds, with ``rubric`` and ``judge_model``), ``price_input``/``price_output`` (USD per
            1M tokens for a model without a known price) and ``prices`` (a prices file).

    Returns:
        The run's ``RunResult``; ``status`` is ``done`` or ``done-with-problems``.

    Raises:
        PapercoderError: a subclass with a one-line message: ``InputError`` (bad paper or option),
            ``BudgetExceeded``, ``ModelError``, ``StageError``, ``DebugNotConverged`` (``debug=True``).
    """
    chosen = run_options(**options)
    settings = chosen.settings()
    obj, info, notes, owned = model_of(
        model, base_url, api_key_env, chosen.timeout, rpm=chosen.rpm, tpm=chosen.tpm, on_event=on_event
    )
    debug = None
    if chosen.debug:
        debug = DebugOptions(sandbox=SandboxSpec(chosen.sandbox, chosen.image, chosen.gpus, chosen.network))
    apply_prices([info.name, chosen.judge_model or ""], chosen.price_input, chosen.price_output, chosen.prices)
    # Always a budget: with no limits it only keeps the running totals.
    budget = Budget(info.name, max_cost_usd=chosen.max_cost, max_tokens=chosen.max_tokens)
    refining = refine_options(chosen.refine, chosen.rubric, None) if chosen.refine else None
    judge = obj
    if refining is not None and chosen.judge_model is not None:
        judge = get_model(chosen.judge_model, base_url=base_url, api_key_env=api_key_env, timeout=chosen.timeout)
    try:
        finished = await run_method(
            Path(paper),
            Path(out),
            obj,
            info,
            settings,
            fresh=chosen.fresh,
            budget=budget,
            on_event=on_event,
            notes=notes,
            debug=debug,
            refine=(refining, judge) if refining is not None else None,
        )
    finally:
        if owned:
            await obj.aclose()
        if judge is not obj:
            await judge.aclose()
    return result_of(finished)


def run(
    paper: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | ChatModel | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    on_event: EventHandler = ignore,
    **options: Any,
) -> RunResult:
    """:func:`run_async` in its own event loop (from code that is not async)."""
    return asyncio.run(
        run_async(paper, out, model=model, base_url=base_url, api_key_env=api_key_env, on_event=on_event, **options)
    )


class Estimate(BaseModel):
    """Expected calls, tokens and cost of a run, per stage of its method (``papercoder run --estimate``)."""

    model: str
    method: str
    paper_tokens: int
    files_assumed: int
    stages: list[StageEstimate]
    cost_usd: float | None


def estimate(
    paper: str | os.PathLike[str],
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    method: str = "papercoder",
    reasoning_effort: str | None = None,
    max_paper_tokens: int | None = None,
    pdf_engine: Literal["pymupdf", "pypdf"] = "pymupdf",
) -> Estimate:
    """What a run of ``method`` on ``paper`` would cost, without calling a model (nor needing its key)."""
    from papercoder.paper import load_paper
    from papercoder.paper.budget import fit_paper
    from papercoder.paper.tokens import count_tokens

    env = dict(os.environ)
    if model and not model.startswith("local/"):
        # An estimate calls no model, so a named model needs no key: the placeholder never leaves this process.
        key_var = api_key_env or "OPENAI_API_KEY"
        env[key_var] = env.get(key_var) or "estimate-only"
    choice = registry.resolve(model, base_url, api_key_env, env=env)
    path = Path(paper)
    if not path.exists():
        raise InputError(f"paper not found: {path}; check the path")
    parsed = load_paper(path, pdf_engine=pdf_engine)
    local = choice.provider == "local"
    budget = max_paper_tokens or (LOCAL_PAPER_TOKENS if local else None)
    if budget is not None:
        parsed, _ = fit_paper(parsed, budget, count_tokens)
    tokens = count_tokens(parsed.markdown())
    files = (LOCAL_LIMITS.max_files or TYPICAL_FILES) if local else TYPICAL_FILES
    reasoning = is_reasoning_model(choice.name, reasoning_effort)
    rows = estimate_method(method, EstimateInput(tokens, choice.name, files=files, reasoning=reasoning))
    costs = [r.cost_usd for r in rows]
    total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    return Estimate(
        model=choice.name, method=method, paper_tokens=tokens, files_assumed=files, stages=rows, cost_usd=total
    )


__all__ = ["METHODS", "Estimate", "RunOptions", "RunResult", "estimate", "get_model", "run", "run_async"]
