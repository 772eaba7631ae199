"""Stage 3, coding: one call per file, each seeing code already written.

``sequential`` (the paper's method): one file at a time in task order, each call seeing every file written before
it. ``dag``: a file is coded as soon as the files it depends on are written, several at once (bounded by
``--concurrency``), each call seeing only its dependencies, transitively (``pipeline/dag.py``), as their
interfaces (``pipeline/interfaces.py``) or, with ``dep_context="full"``, their whole code. ``auto`` (the default):
sequential while the files written so far fit in ``AUTO_SHARE`` of the context window, then the dag order with
interfaces for the rest, so the prompts of a large plan grow about linearly instead of with the square of its size.
How each prompt is made to fit the window is ``pipeline/coding_context.py``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import PurePosixPath

import yaml

from papercoder.llm.base import Message
from papercoder.parsing.code_extract import extract_code, family_of_path
from papercoder.parsing.file_header import headed_for
from papercoder.pipeline.coding_context import (
    MAX_ATTACHED_CHARS,
    Attachment,
    ContextRecord,
    coding_messages,
    dag_context,
)
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.dag import CodingGraph, build_graph, python_imports
from papercoder.pipeline.outcome import save_coding_findings
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.findings import Finding
from papercoder.repo.requirements import sanitise
from papercoder.run_dir import StageClock

__all__ = ["MAX_ATTACHED_CHARS", "code_file", "run"]

MAX_CONTINUATIONS = 3
#: ``--coding-order auto`` codes in task order while the files written so far fit in this share of the context
#: window, then switches to the dag order with interfaces: the prompts of the paper's method grow with the square
#: of the file count, the dag order's about linearly.
AUTO_SHARE = 1 / 8
#: The window ``auto`` assumes when the model does not say (the smallest of today's hosted models).
AUTO_ASSUMED_WINDOW = 128_000
#: With the dag order, a file's direct dependencies are always attached; what those import in turn (nearest first)
#: only up to this share of the window, so a long chain of imports does not make every prompt grow with its length.
DAG_INDIRECT_SHARE = 1 / 64


def artifact(path: str) -> str:
    return f"coding/{path}.md"


def write_repo_extras(ctx: RunContext, planning: PlanningResult) -> list[Finding]:
    """config.yaml from planning and requirements.txt from the logic design's packages: its requirement
    specifiers only; a finding (and a warning) for each entry left out (``papercoder.repo.requirements``)."""
    if planning.config_yaml:  # a method without the configuration turn has none
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
    What coding finds itself goes to ``coding/findings.json`` for the checks stage; what each file was coded with
    goes to ``coding/context.json``."""
    with ctx.stage("coding", total=len(planning.files)) as clock:
        findings = write_repo_extras(ctx, planning)
        coder = _Coder(ctx, clock, planning, analyses)
        order = ctx.options.coding_order
        if order == "dag":
            await coder.dag()
        else:
            await coder.sequential(limit=_auto_limit(ctx) if order == "auto" else None)
            if len(coder.written) < len(planning.files):
                await coder.dag()
        coder.save_record()
        save_coding_findings(ctx, [*misdirected(ctx, planning), *findings])
    return {path: coder.written[path] for path in planning.files}


def _auto_limit(ctx: RunContext) -> int:
    """Tokens of earlier files up to which ``auto`` keeps the sequential order."""
    window = ctx.model.context_window or AUTO_ASSUMED_WINDOW
    return int(AUTO_SHARE * window)


def _indirect_budget(ctx: RunContext) -> int:
    """Tokens of indirect dependencies a dag-ordered prompt attaches at most."""
    return int(DAG_INDIRECT_SHARE * (ctx.model.context_window or AUTO_ASSUMED_WINDOW))


class _Coder:
    """The coding of one run: the files written so far, the context each was coded with, and the orders used."""

    def __init__(self, ctx: RunContext, clock: StageClock, planning: PlanningResult, analyses: dict[str, str]) -> None:
        self.ctx, self.clock, self.planning, self.analyses = ctx, clock, planning, analyses
        self.written: dict[str, str] = {}
        self.records: dict[str, ContextRecord] = {}
        self.contexts: dict[str, list[str]] = {}
        self.limit: int | None = None
        self.switched_at: str | None = None
        self.left_out: dict[str, list[str]] = {}  # indirect dependencies past the budget, per file
        self._tokens: dict[str, int] = {}

    def tokens(self, text: str) -> int:
        """The model's token count of ``text``, counted once per run."""
        if text not in self._tokens:
            self._tokens[text] = self.ctx.model.count_tokens(text)
        return self._tokens[text]

    async def sequential(self, limit: int | None) -> None:
        """Code in task order, each file with every earlier one; with ``limit`` (``auto``), only while the earlier
        files come to at most ``limit`` tokens."""
        self.limit = limit
        files = self.planning.files
        earlier = 0
        for index, path in enumerate(files, start=1):
            if self.limit is not None and earlier > self.limit:
                self.switched_at = path
                self.ctx.note(
                    "coding",
                    f"the earlier files pass {self.limit:,} tokens: the rest is coded in dependency order with "
                    "interfaces",
                )
                return
            self.ctx.advance("coding", index - 1, len(files), path)  # the file it starts
            context = [Attachment(p, code) for p, code in self.written.items()]
            self.contexts[path] = list(self.written)
            self.written[path] = await self.code(path, context, "sequential")
            if self.limit is not None:
                earlier += self.ctx.model.count_tokens(self.written[path])

    async def code(self, path: str, context: list[Attachment], order: str) -> str:
        code, record = await code_file(
            self.ctx, self.clock, self.planning, path, self.analyses.get(path, ""), context, order
        )
        self.records[path] = record
        return code

    async def dag(self) -> None:
        """Code the files not written yet, each once its dependencies are written, ready files in task order, at
        most ``--concurrency`` at once. The context of a file depends only on its ancestors' code, so it is the same
        whatever order the calls finish in. With ``--dep-context interface`` (and always after ``auto`` switches),
        the context is attached as interfaces."""
        ctx, planning, written = self.ctx, self.planning, self.written
        graph = build_graph(planning.files, planning.architecture, planning.logic)
        for note in graph.notes:
            ctx.warn(f"coding order: {note}")
        imports = {p: python_imports(p, code, planning.files) for p, code in written.items()}
        pending = [p for p in graph.order if p not in written]
        running: dict[asyncio.Task[str], str] = {}
        limit = max(1, ctx.options.concurrency)
        as_interface = ctx.options.coding_order == "auto" or ctx.options.dep_context == "interface"
        try:
            while pending or running:
                for path in [p for p in pending if all(d in written for d in graph.deps[p])][: limit - len(running)]:
                    pending.remove(path)
                    context, self.left_out[path] = dag_context(
                        ctx, graph, path, imports, written, as_interface, _indirect_budget(ctx), self.tokens
                    )
                    self.contexts[path] = [a.path for a in context]
                    ctx.advance("coding", len(self.contexts) - 1, len(graph.order), path)
                    running[asyncio.create_task(self.code(path, context, "dag"), name=f"coding/{path}")] = path
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    path = running.pop(task)
                    written[path] = task.result()  # a failed file stops the stage (the finally cancels the rest)
                    imports[path] = python_imports(path, written[path], planning.files)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        ctx.run.write("coding/dag.json", _graph_record(graph, self.contexts, imports))

    def save_record(self) -> None:
        """``coding/context.json``: the order asked and, when ``auto`` switched, the first file coded in dag order;
        for each file, the files attached whole, as interfaces, as interfaces to fit the window, or left out."""
        record = {
            "coding_order": self.ctx.options.coding_order,
            "auto_limit_tokens": self.limit,
            "switched_to_dag_at": self.switched_at,
            "files": {
                p: {**self.records[p].as_json(), "indirect_left_out": self.left_out.get(p, [])}
                for p in self.planning.files
                if p in self.records
            },
        }
        self.ctx.run.write("coding/context.json", json.dumps(record, indent=2) + "\n")


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
    context: list[Attachment],
    order: str = "sequential",
) -> tuple[str, ContextRecord]:
    """Code one file with ``context`` attached: ``coding/<path>.md`` and ``repo/<path>``; its code and the record
    of what its prompt attached."""
    messages, record = coding_messages(ctx, planning, path, analysis, context, order)
    text = await _answer_in_full(ctx, clock, messages, path)
    ctx.run.write(artifact(path), text)
    code = extract_code(text, filename=path)
    if not code.strip():
        ctx.warn(f"coding {path}: the model answered no code; the file is empty")
    if PurePosixPath(path).suffix in (".yaml", ".yml"):
        _check_yaml(ctx, path, code)
    ctx.run.write(f"repo/{path}", code)
    return code, record


async def _answer_in_full(ctx: RunContext, clock: StageClock, messages: list[Message], path: str) -> str:
    """The coding answer; when it stops at the length limit, ask for the rest and join the parts."""
    settings = settings_for(ctx, f"coding/{path}", ctx.options.limits.code)
    answer = await ask(ctx, clock, messages, settings)
    parts = [answer.text]
    for round_ in range(1, MAX_CONTINUATIONS + 1):
        if answer.finish_reason != "length" or ctx.options.compact:
            break  # a small local model's cut-off answer is kept as it is: continuing it rarely helps
        ctx.note("coding", f"{path}: answer cut at the length limit, asking for the rest ({round_})")
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
