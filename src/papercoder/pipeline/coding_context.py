"""What a coding prompt attaches, and how it is made to fit the model's context window.

Each written file goes into a coding prompt either whole or as its interface (``pipeline/interfaces.py``). When the
prompt would not fit the window, the oldest files attached whole are replaced by their interfaces first (a file
keeps its names and signatures, which is what a later file needs most); only when every file is already an
interface are the oldest left out. ``coding/context.json`` records, per coded file, what was attached and how
(``ContextRecord``), so a reader can tell what each file was written against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from papercoder.llm.base import Message
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.dag import CodingGraph
from papercoder.pipeline.interfaces import interface
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.templates import render
from papercoder.repo.sandbox import SMOKE_ENV

#: Characters of one file (or of the file's analysis) attached to a coding prompt; the rest is cut with a marker. A
#: long source file is ~100k characters: past this it is junk that would crowd every later prompt.
MAX_ATTACHED_CHARS = 200_000
#: Per-message overhead of the chat format, in tokens (role markers and separators).
_MESSAGE_OVERHEAD = 16


@dataclass(frozen=True)
class Attachment:
    """A written file for a coding prompt: its code, and whether the prompt shows only its interface."""

    path: str
    code: str
    as_interface: bool = False

    def text(self, ctx: RunContext) -> str:
        """What the prompt shows: the code or its interface, cut at ``MAX_ATTACHED_CHARS`` with a marker."""
        return attached(ctx, self.path, interface(self.path, self.code) if self.as_interface else self.code)


@dataclass
class ContextRecord:
    """How one file was coded: the order that chose its context, and each attached file's fate.

    ``full``: attached whole; ``interface``: attached as its interface (the dag order's choice); ``fitted``:
    meant whole but replaced by its interface so the prompt fits the window; ``dropped``: left out to fit.
    """

    order: str
    full: list[str] = field(default_factory=list)
    interface: list[str] = field(default_factory=list)
    fitted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "order": self.order,
            "full": self.full,
            "interface": self.interface,
            "fitted_as_interface": self.fitted,
            "dropped": self.dropped,
        }


def dag_context(
    ctx: RunContext,
    graph: CodingGraph,
    path: str,
    imports: Mapping[str, frozenset[str] | None],
    written: Mapping[str, str],
    as_interface: bool,
    budget: int,
    count: Callable[[str], int],
) -> tuple[list[Attachment], list[str]]:
    """What a dag-ordered ``path`` is coded with (in task order), and the indirect dependencies left out.

    Its direct dependencies always; of the files those import in turn (``CodingGraph.context_for``), the nearest
    first (fewest imports away, then the latest in task order) while they come to at most ``budget`` tokens
    (``count``: the model's token count, which the caller may cache: the same files recur in many contexts).
    """
    reach = graph.context_for(path, imports)
    direct = set(graph.deps.get(path, ()))
    distance = {dep: 1 for dep in direct}
    frontier = list(direct)
    while frontier:
        step: list[str] = []
        for dep in frontier:
            actual = imports.get(dep)
            for nxt in graph.deps.get(dep, ()) if actual is None else sorted(actual):
                if nxt in reach and nxt not in distance:
                    distance[nxt] = distance[dep] + 1
                    step.append(nxt)
        frontier = step
    position = {p: i for i, p in enumerate(graph.order)}
    indirect = sorted((f for f in reach if f not in direct), key=lambda f: (distance.get(f, 99), -position[f]))
    chosen = set(direct)
    left_out: list[str] = []
    spent = 0
    for index, dep in enumerate(indirect):
        spent += count(Attachment(dep, written[dep], as_interface).text(ctx))
        if spent > budget:  # this one and every farther one stay out
            left_out = indirect[index:]
            break
        chosen.add(dep)
    context = [Attachment(f, written[f], as_interface) for f in reach if f in chosen]
    return context, sorted(left_out, key=position.__getitem__)


def attached(ctx: RunContext, what: str, text: str) -> str:
    """``text`` as attached to a prompt: cut at ``MAX_ATTACHED_CHARS`` with a visible marker and a warning."""
    if len(text) <= MAX_ATTACHED_CHARS:
        return text
    ctx.warn(f"coding: {what} is {len(text):,} characters; prompts attach only its first {MAX_ATTACHED_CHARS:,}")
    left = len(text) - MAX_ATTACHED_CHARS
    return text[:MAX_ATTACHED_CHARS] + f"\n# [papercoder: {left:,} more characters of {what} left out here]\n"


def _messages(
    ctx: RunContext, planning: PlanningResult, path: str, analysis: str, kept: list[Attachment], interfaces: bool
) -> list[Message]:
    shown = [(a.path, a.text(ctx)) for a in kept]
    fitted = [a.path for a in kept if a.as_interface and not interfaces]
    turn = render(
        "coding/file.j2",
        file=path,
        analysis=analysis,
        written=shown,
        interfaces=interfaces,
        fitted=fitted,
        compact=ctx.options.compact,
        signatures=planning.architecture.signatures_for(path),
        smoke=planning.reads_smoke(path),
        smoke_plan=planning.logic.smoke_mode.shrinks.strip(),
        smoke_env=SMOKE_ENV,
    )
    return [*planning.trajectory, {"role": "user", "content": turn}]


def coding_messages(
    ctx: RunContext,
    planning: PlanningResult,
    path: str,
    analysis: str,
    context: list[Attachment],
    order: str,
) -> tuple[list[Message], ContextRecord]:
    """The planning conversation, then one turn with the attached files, the file's analysis and the ask; and the
    record of what was attached. ``order`` is the order that chose ``context`` (``sequential`` or ``dag``).

    When the model's context window is known and the prompt would not fit it (less the answer's limit), the oldest
    files attached whole become interfaces, then the oldest are left out, each with a warning.
    """
    kept = list(context)
    analysis = attached(ctx, f"the analysis of {path}", analysis)
    interfaces = bool(kept) and all(a.as_interface for a in kept)
    record = ContextRecord(order)
    messages = _messages(ctx, planning, path, analysis, kept, interfaces)
    window = ctx.model.context_window
    if window is not None and kept:
        budget = window - (ctx.options.limits.code or 0)
        messages = _fit(ctx, planning, path, analysis, kept, interfaces, record, budget, messages)
    for a in kept:
        if a.path not in record.fitted:
            (record.interface if a.as_interface else record.full).append(a.path)
    return messages, record


def _size(ctx: RunContext, messages: list[Message]) -> int:
    return sum(ctx.model.count_tokens(m["content"]) for m in messages) + _MESSAGE_OVERHEAD * len(messages)


def _fit(
    ctx: RunContext,
    planning: PlanningResult,
    path: str,
    analysis: str,
    kept: list[Attachment],
    interfaces: bool,
    record: ContextRecord,
    budget: int,
    messages: list[Message],
) -> list[Message]:
    """Shrink ``kept`` in place until the prompt fits ``budget`` tokens; the messages that fit.

    Each step's saving is estimated from the attachment's own token counts, so a long context is counted a few
    times, not once per file; the rendered prompt is counted again before it is accepted.
    """
    # A token is at least one byte, so a prompt of no more bytes than the budget fits without counting it (counting
    # a long prompt on every call would cost more than the calls' own overhead).
    if sum(len(m["content"].encode()) for m in messages) + _MESSAGE_OVERHEAD * len(messages) <= budget:
        return messages
    size = _size(ctx, messages)
    while size > budget and kept:
        index = next((i for i, a in enumerate(kept) if not a.as_interface), None)
        excess = size - budget
        while excess > 0 and kept:
            if index is not None:
                whole = kept[index]
                smaller = Attachment(whole.path, whole.code, as_interface=True)
                excess -= ctx.model.count_tokens(whole.text(ctx)) - ctx.model.count_tokens(smaller.text(ctx))
                kept[index] = smaller
                record.fitted.append(whole.path)
                ctx.warn(f"coding {path}: attached {whole.path} as its interface to fit the model's context window")
                index = next((i for i, a in enumerate(kept) if not a.as_interface), None)
            else:
                gone = kept.pop(0)
                excess -= ctx.model.count_tokens(gone.text(ctx)) + 8  # its separator line and fence
                record.dropped.append(gone.path)
                if gone.path in record.fitted:
                    record.fitted.remove(gone.path)
                ctx.warn(f"coding {path}: left {gone.path} out of its context to fit the model's context window")
        messages = _messages(ctx, planning, path, analysis, kept, interfaces)
        size = _size(ctx, messages)
    return messages
