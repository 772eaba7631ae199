"""Stage 3, coding: one call per file, each seeing code already written.

``sequential`` (the paper's method): one file at a time in task order, each call seeing every file written before
it. ``dag``: a file is coded as soon as the files it depends on are written, several at once (bounded by
``--concurrency``), each call seeing only its dependencies, transitively (``pipeline/dag.py``), as their
interfaces (``pipeline/interfaces.py``) or, with ``dep_context="full"``, their whole code.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import PurePosixPath

import yaml

from papercoder.llm.base import Message
from papercoder.parsing.code_extract import extract_code, family_of_path
from papercoder.parsing.file_header import headed_for
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.dag import CodingGraph, build_graph, python_imports
from papercoder.pipeline.interfaces import interface
from papercoder.pipeline.outcome import save_coding_findings
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.checks import Finding
from papercoder.repo.requirements import sanitise
from papercoder.repo.sandbox import SMOKE_ENV
from papercoder.run import StageClock

MAX_CONTINUATIONS = 3
#: Characters of one file (or of the file's analysis) attached to a coding prompt; the rest is cut with a marker. A
#: long source file is ~100k characters: past this it is junk that would crowd every later prompt.
MAX_ATTACHED_CHARS = 200_000


def coding_messages(
    ctx: RunContext, planning: PlanningResult, path: str, analysis: str, written: list[tuple[str, str]]
) -> list[Message]:
    """The planning conversation, then one turn with the code written so far, the file's analysis and the ask.

    When the prompt would not fit the model's context window, the oldest written files are left out (a warning
    records which): a small local model cannot read them all, and a truncated prompt would fail outright.
    """
    kept = [(p, attached(ctx, p, code)) for p, code in written]
    analysis = attached(ctx, f"the analysis of {path}", analysis)
    interfaces = ctx.options.coding_order == "dag" and ctx.options.dep_context == "interface"
    while True:
        turn = render(
            "coding/file.j2",
            file=path,
            analysis=analysis,
            written=kept,
            interfaces=interfaces,
            compact=ctx.options.compact,
            signatures=planning.architecture.signatures_for(path),
            smoke=planning.reads_smoke(path),
            smoke_plan=planning.logic.smoke_mode.shrinks.strip(),
            smoke_env=SMOKE_ENV,
        )
        messages: list[Message] = [*planning.trajectory, {"role": "user", "content": turn}]
        window = ctx.model.context_window
        if window is None or not kept:
            return messages
        budget = window - (ctx.options.limits.code or 0)
        if sum(ctx.model.count_tokens(m["content"]) for m in messages) + 16 * len(messages) <= budget:
            return messages
        dropped = kept.pop(0)[0]
        ctx.warn(f"coding {path}: left {dropped} out of its context to fit the model's context window")


def attached(ctx: RunContext, what: str, text: str) -> str:
    """``text`` as attached to a prompt: cut at ``MAX_ATTACHED_CHARS`` with a visible marker and a warning."""
    if len(text) <= MAX_ATTACHED_CHARS:
        return text
    ctx.warn(f"coding: {what} is {len(text):,} characters; prompts attach only its first {MAX_ATTACHED_CHARS:,}")
    left = len(text) - MAX_ATTACHED_CHARS
    return text[:MAX_ATTACHED_CHARS] + f"\n# [papercoder: {left:,} more characters of {what} left out here]\n"


def artifact(path: str) -> str:
    return f"coding/{path}.md"


def write_repo_extras(ctx: RunContext, planning: PlanningResult) -> list[Finding]:
    """config.yaml from planning and requirements.txt from the logic design's packages: its requirement
    specifiers only; a finding (and a warning) for each entry left out (``papercoder.repo.requirements``)."""
    ctx.run.write("repo/config.yaml", planning.config_yaml)
    packages, rejected = sanitise(planning.logic.required_packages)
    for entry in rejected:
        ctx.warn(f"requirements.txt: left out `{entry.entry}`: {entry.reason}")
    ctx.run.write("repo/requirements.txt", "".join(f"{p}\n" for p in packages))
    return [entry.finding() for entry in rejected]


def misdirected(ctx: RunContext, planning: PlanningResult) -> list[Finding]:
    """A finding (and a warning) for each coding answer whose header names another planned file than the one asked
    (``papercoder.parsing.file_header``); its code was written to the asked file all the same."""
    found = []
    for path in planning.files:
        if family_of_path(path) in ("markdown", "text") or not ctx.run.exists(artifact(path)):
            continue  # a README's own examples name other files
        other = headed_for(ctx.run.read(artifact(path)), path, planning.files)
        if other is not None:
            message = f"the answer for {path} is headed for {other} (its header names {other}); written to {path}"
            ctx.warn(f"coding {path}: the answer is headed for {other}, not {path}")
            found.append(Finding("misdirected", path, None, message))
    return found


async def run(ctx: RunContext, planning: PlanningResult, analyses: dict[str, str]) -> dict[str, str]:
    """Write every planned file into ``repo/`` in the run's coding order; returns path → code, in task order.
    What coding finds itself goes to ``coding/findings.json`` for the checks stage."""
    with ctx.stage("coding") as clock:
        findings = write_repo_extras(ctx, planning)
        if ctx.options.coding_order == "dag":
            written = await _run_dag(ctx, clock, planning, analyses)
        else:
            written = await _run_sequential(ctx, clock, planning, analyses)
        save_coding_findings(ctx, [*misdirected(ctx, planning), *findings])
    return {path: written[path] for path in planning.files}


async def _run_sequential(
    ctx: RunContext, clock: StageClock, planning: PlanningResult, analyses: dict[str, str]
) -> dict[str, str]:
    written: dict[str, str] = {}
    for index, path in enumerate(planning.files, start=1):
        ctx.progress("coding", f"{index}/{len(planning.files)} {path}")
        written[path] = await code_file(ctx, clock, planning, path, analyses.get(path, ""), list(written.items()))
    return written


async def _run_dag(
    ctx: RunContext, clock: StageClock, planning: PlanningResult, analyses: dict[str, str]
) -> dict[str, str]:
    """Start each file once its dependencies are written, ready files in task order, at most ``--concurrency``
    at once. The context of a file depends only on its ancestors' code, so it is the same whatever order the calls
    finish in."""
    graph = build_graph(planning.files, planning.architecture, planning.logic)
    for note in graph.notes:
        ctx.warn(f"coding order: {note}")
    written: dict[str, str] = {}
    imports: dict[str, frozenset[str] | None] = {}
    contexts: dict[str, list[str]] = {}
    pending = list(graph.order)
    running: dict[asyncio.Task[str], str] = {}
    limit = max(1, ctx.options.concurrency)
    try:
        while pending or running:
            for path in [p for p in pending if all(d in written for d in graph.deps[p])][: limit - len(running)]:
                pending.remove(path)
                contexts[path] = graph.context_for(path, imports)
                ctx.progress("coding", f"{len(contexts)}/{len(graph.order)} {path}")
                view = interface if ctx.options.dep_context == "interface" else _whole
                context = [(f, view(f, written[f])) for f in contexts[path]]
                job = code_file(ctx, clock, planning, path, analyses.get(path, ""), context)
                running[asyncio.create_task(job, name=f"coding/{path}")] = path
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                path = running.pop(task)
                written[path] = task.result()  # a failed file stops the stage (the finally cancels the rest)
                imports[path] = python_imports(path, written[path], planning.files)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    ctx.run.write("coding/dag.json", _graph_record(graph, contexts, imports))
    return written


def _whole(path: str, code: str) -> str:
    return code


def _graph_record(graph: CodingGraph, contexts: dict[str, list[str]], imports: dict[str, frozenset[str] | None]) -> str:
    """``coding/dag.json``: the predicted dependencies, the context each file was coded with, its real imports."""
    record = {
        "order": list(graph.order),
        "levels": graph.levels(),
        "depends_on": {p: list(graph.deps[p]) for p in graph.order},
        "context": {p: contexts.get(p, []) for p in graph.order},
        "imports": {p: sorted(v) if (v := imports.get(p)) is not None else None for p in graph.order},
        "notes": list(graph.notes),
    }
    return json.dumps(record, indent=2) + "\n"


async def code_file(
    ctx: RunContext,
    clock: StageClock,
    planning: PlanningResult,
    path: str,
    analysis: str,
    context: list[tuple[str, str]],
) -> str:
    """Code one file with ``context`` (path, code) attached: ``coding/<path>.md`` and ``repo/<path>``; its code."""
    messages = coding_messages(ctx, planning, path, analysis, context)
    text = await _answer_in_full(ctx, clock, messages, path)
    ctx.run.write(artifact(path), text)
    code = extract_code(text, filename=path)
    if not code.strip():
        ctx.warn(f"coding {path}: the model answered no code; the file is empty")
    if PurePosixPath(path).suffix in (".yaml", ".yml"):
        _check_yaml(ctx, path, code)
    ctx.run.write(f"repo/{path}", code)
    return code


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
    except (yaml.YAMLError, RecursionError):
        ctx.warn(f"coding {path}: the written YAML does not parse")
