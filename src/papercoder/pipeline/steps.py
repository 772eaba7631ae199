"""One model call as a pipeline step: usage accounting, structured answers and the single repair turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from papercoder._events import CallFinished, CallStarted, RunWarning
from papercoder.errors import StageError
from papercoder.llm.base import CallSettings, Completion, Message
from papercoder.parsing.json_extract import JSONExtractionError, extract_json
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.schemas import json_schema, parse_planning_json
from papercoder.pipeline.templates import render
from papercoder.run_dir import StageClock

M = TypeVar("M", bound=BaseModel)
# A small model's file names, constrained: short, lower-case, one word. No underscore, so none of the schema's keys
# (``file_list``, ``class_diagram``...) can become a file name, which a 135M model otherwise does.
COMPACT_FILE_PATTERN = r"^[a-z][a-z0-9]{1,15}[.]py$"


def settings_for(ctx: RunContext, step: str, max_tokens: int | None, **extra: Any) -> CallSettings:
    """Call settings from the run options, plus per-step extras such as a JSON schema."""
    return CallSettings(
        step=step,
        max_tokens=max_tokens,
        temperature=ctx.options.temperature,
        reasoning_effort=ctx.options.reasoning_effort,
        **extra,
    )


async def ask(ctx: RunContext, clock: StageClock, messages: list[Message], settings: CallSettings) -> Completion:
    """Make one call through the cache and count it; a new answer saves the manifest, so a run killed later
    still records the stage's calls and time so far."""
    ctx.emit(CallStarted(clock.stage, settings.step))
    done = await ctx.model.complete(messages, settings)
    cost = clock.add(done.usage, done.from_cache)
    ctx.emit(CallFinished(clock.stage, settings.step, done.usage, done.from_cache, cost))
    if not done.from_cache:
        ctx.save(durable=False)  # the stage's end makes it durable; waiting for the disk here slows every call
    return done


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_answer(text: str, model: type[M]) -> M:
    """Extract and validate a structured answer; raise ``ValueError`` with a message fit to quote back."""
    try:
        data = extract_json(text)
    except JSONExtractionError as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    try:
        return parse_planning_json(data, model)
    except ValidationError as exc:
        raise ValueError(f"the JSON does not match the expected fields ({_validation_summary(exc)})") from None
    except RecursionError:  # nested values deep enough to exhaust the validator's stack
        raise ValueError("the JSON is nested too deeply; send the flat JSON object with the expected keys") from None


async def ask_json(
    ctx: RunContext,
    clock: StageClock,
    messages: list[Message],
    model: type[M],
    step: str,
    max_tokens: int | None,
    files: list[str] | None = None,
) -> tuple[M, str]:
    """Ask for a JSON answer matching ``model``; on an invalid answer, one repair turn quoting the error.

    Returns the validated object and the raw text of the answer that validated. Answers that fail validation are
    evicted from the call cache, so a re-run asks again instead of replaying the same bad answer. With compact
    prompts, ``files`` (the planned file names) are the only file names the schema allows.
    """
    limits = ctx.options.limits
    schema = json_schema(
        model,
        max_items=limits.max_files if ctx.options.compact else None,
        max_length=limits.max_string if ctx.options.compact else None,
        file_pattern=COMPACT_FILE_PATTERN if ctx.options.compact else None,
        file_enum=files if ctx.options.compact and files else None,
        omit=getattr(model, "COMPACT_OMIT", ()) if ctx.options.compact else (),
    )
    settings = settings_for(ctx, step, max_tokens, json_schema=schema, schema_name=step.replace("/", "_"))
    omitted = getattr(model, "COMPACT_OMIT", ()) if ctx.options.compact else ()
    root = ctx.run.root
    return await ask_with_repair(
        ctx,
        clock,
        messages,
        model,
        settings,
        repair="planning/repair.j2",
        keys=[k for k in model.model_fields if k not in omitted],
        give_up=lambda exc: (
            f"planning step '{step}' gave an invalid answer twice ({exc}); run dir {root} keeps the "
            "earlier steps: re-run the same command to retry, or try a stronger --model"
        ),
    )


async def ask_with_repair(
    ctx: RunContext,
    clock: StageClock,
    messages: list[Message],
    model: type[M],
    settings: CallSettings,
    *,
    repair: str,
    keys: list[str],
    give_up: Callable[[str], str],
) -> tuple[M, str]:
    """Ask, validate the answer as ``model``; on an invalid one, one repair turn (the template ``repair``, given the
    error and the expected ``keys``). A second invalid answer is a ``StageError`` with ``give_up(error)``, and both
    answers are evicted from the call cache, so a re-run asks again instead of replaying them.

    Returns the validated object and the raw text of the answer that validated.
    """
    first = await ask(ctx, clock, messages, settings)
    try:
        return parse_answer(first.text, model), first.text
    except ValueError as exc:
        error = str(exc)
        ctx.emit(RunWarning(f"{settings.step}: invalid answer, asking once more ({error})"))  # shown, not recorded
    again: list[Message] = [
        *messages,
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": render(repair, error=error, keys=", ".join(f'"{k}"' for k in keys))},
    ]
    second = await ask(ctx, clock, again, settings)
    try:
        return parse_answer(second.text, model), second.text
    except ValueError as exc:
        for sent in (messages, again):
            ctx.model.cache.evict(ctx.model.key(sent, settings))
        raise StageError(give_up(str(exc))) from None
