"""Stage 3, coding: one file at a time in task order, each call seeing the code already written."""

from __future__ import annotations

from pathlib import PurePosixPath

import yaml

from papercoder.llm.base import Message
from papercoder.parsing.code_extract import extract_code
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.run import StageClock

MAX_CONTINUATIONS = 3


def coding_messages(
    ctx: RunContext, planning: PlanningResult, path: str, analysis: str, written: list[tuple[str, str]]
) -> list[Message]:
    """The planning conversation, then one turn with the code written so far, the file's analysis and the ask.

    When the prompt would not fit the model's context window, the oldest written files are left out (a warning
    records which): a small local model cannot read them all, and a truncated prompt would fail outright.
    """
    kept = list(written)
    while True:
        turn = render("coding/file.j2", file=path, analysis=analysis, written=kept)
        messages: list[Message] = [*planning.trajectory, {"role": "user", "content": turn}]
        window = ctx.model.context_window
        if window is None or not kept:
            return messages
        budget = window - (ctx.options.limits.code or 0)
        if sum(ctx.model.count_tokens(m["content"]) for m in messages) + 16 * len(messages) <= budget:
            return messages
        dropped = kept.pop(0)[0]
        ctx.warn(f"coding {path}: left {dropped} out of its context to fit the model's context window")


def artifact(path: str) -> str:
    return f"coding/{path}.md"


def write_repo_extras(ctx: RunContext, planning: PlanningResult) -> None:
    """config.yaml from planning and requirements.txt from the logic design's packages."""
    ctx.run.write("repo/config.yaml", planning.config_yaml)
    packages = []
    for raw in planning.logic.required_packages:
        line = raw.strip().strip("`'\"").split("#")[0].strip()
        # Drop prose ("python 3.10", "standard library") that is not a pip requirement.
        if line and " " not in line and not line.lower().startswith("python"):
            packages.append(line)
    ctx.run.write("repo/requirements.txt", "".join(f"{p}\n" for p in dict.fromkeys(packages)))


async def run(ctx: RunContext, planning: PlanningResult, analyses: dict[str, str]) -> dict[str, str]:
    """Write every planned file into ``repo/`` in task order; returns path → code."""
    clock = StageClock(ctx.manifest.stages["coding"], ctx.model.name)
    clock.start()
    ctx.save()
    written: list[tuple[str, str]] = []
    try:
        write_repo_extras(ctx, planning)
        for index, path in enumerate(planning.files, start=1):
            ctx.progress("coding", f"{index}/{len(planning.files)} {path}")
            messages = coding_messages(ctx, planning, path, analyses.get(path, ""), written)
            text = await _answer_in_full(ctx, clock, messages, path)
            ctx.run.write(artifact(path), text)
            code = extract_code(text, filename=path)
            if not code.strip():
                ctx.warn(f"coding {path}: the model answered no code; the file is empty")
            if PurePosixPath(path).suffix in (".yaml", ".yml"):
                _check_yaml(ctx, path, code)
            ctx.run.write(f"repo/{path}", code)
            written.append((path, code))
    except Exception as exc:
        clock.finish("failed", str(exc))
        ctx.save()
        raise
    clock.finish("done")
    ctx.save()
    return dict(written)


async def _answer_in_full(ctx: RunContext, clock: StageClock, messages: list[Message], path: str) -> str:
    """The coding answer; when it stops at the length limit, ask for the rest and join the parts."""
    settings = settings_for(ctx, f"coding/{path}", ctx.options.limits.code)
    answer = await ask(ctx, clock, messages, settings)
    parts = [answer.text]
    for round_ in range(1, MAX_CONTINUATIONS + 1):
        if answer.finish_reason != "length" or ctx.options.compact:
            break  # a small local model's cut-off answer is kept as it is: continuing it rarely helps
        ctx.progress("coding", f"{path}: answer cut at the length limit, asking for the rest ({round_})")
        messages = [
            *messages,
            {"role": "assistant", "content": answer.text},
            {"role": "user", "content": render("coding/continue.j2")},
        ]
        answer = await ask(
            ctx, clock, messages, settings_for(ctx, f"coding/{path}#continue{round_}", ctx.options.limits.code)
        )
        parts.append(answer.text)
    else:
        if answer.finish_reason == "length" and not ctx.options.compact:
            ctx.warn(f"coding {path}: still cut at the length limit after {MAX_CONTINUATIONS} continuations")
    return "".join(parts)


def _check_yaml(ctx: RunContext, path: str, code: str) -> None:
    try:
        yaml.safe_load(code)
    except yaml.YAMLError:
        ctx.warn(f"coding {path}: the written YAML does not parse")
