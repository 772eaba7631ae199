"""Stage 2, analysis: one detailed implementation analysis per file, the calls run concurrently."""

from __future__ import annotations

import asyncio

from papercoder.llm.base import Message
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.run_dir import StageClock


def analysis_messages(planning: PlanningResult, path: str, compact: bool) -> list[Message]:
    """The planning conversation (shared, byte-identical prefix across files) and one turn about ``path``."""
    turn = render("analysis/file.j2", file=path, logic=planning.logic_for(path), compact=compact)
    return [*planning.trajectory, {"role": "user", "content": turn}]


def artifact(path: str) -> str:
    return f"analysis/{path}.md"


async def run(ctx: RunContext, planning: PlanningResult) -> dict[str, str]:
    """Analyse every file of the plan (bounded by ``--concurrency``) and write ``analysis/<file>.md``."""
    gate = asyncio.Semaphore(max(1, ctx.options.concurrency))
    done: dict[str, str] = {}

    async def one(clock: StageClock, path: str) -> None:
        async with gate:
            messages = analysis_messages(planning, path, ctx.options.compact)
            settings = settings_for(ctx, f"analysis/{path}", ctx.options.limits.analysis)
            text = (await ask(ctx, clock, messages, settings)).text.strip()
            ctx.run.write(artifact(path), text + "\n")
            done[path] = text
            ctx.advance("analysis", len(done), len(planning.files), path)

    with ctx.stage("analysis", total=len(planning.files)) as clock:
        try:
            async with asyncio.TaskGroup() as group:
                for path in planning.files:
                    group.create_task(one(clock, path))
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None
    return {path: done[path] for path in planning.files}
