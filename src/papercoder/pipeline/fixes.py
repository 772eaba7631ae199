"""One fix round: show the model some repository files and a problem, apply the SEARCH/REPLACE edits it answers.

Shared by the repair round after the static checks and by each debug iteration. Edits go through
:func:`papercoder.parsing.edits.apply_to_repo`: exact match first, then whitespace- and indentation-tolerant
matching; a block that matches nothing or several places, or a path outside the repository, is not applied and
comes back as ``feedback`` for the next round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from papercoder.llm.base import Message
from papercoder.parsing.edit_apply import EditResult, apply_to_repo, unified_diff
from papercoder.parsing.edits import EditParseError, parse_edits
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.files import snapshot
from papercoder.run_dir import StageClock

ANSWER_TOKENS = 4096  # room for several edit blocks when the run sets no limit
MAX_FILE_CHARS = 40_000  # one file shown to the model; longer ones are cut with a note


@dataclass
class FixRound:
    """What one fix round did.

    Attributes:
        answer: The model's raw answer.
        diff: A unified diff of what was applied ("" when nothing changed).
        applied: How many edit blocks applied.
        failures: A message per block that did not apply (or a parse error), for the model's next round.
        changed: The repository files the round changed.
    """

    answer: str
    diff: str = ""
    applied: int = 0
    failures: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def feedback(self) -> str:
        return "\n".join(f"- {f}" for f in self.failures)

    def record(self) -> dict[str, Any]:
        return {"applied": self.applied, "failed": len(self.failures), "failures": self.failures, "files": self.changed}


def fit_files(ctx: RunContext, wanted: Sequence[str], files: Mapping[str, str], reserve: int) -> list[tuple[str, str]]:
    """The files of ``wanted`` (most relevant first) that fit the model's context window with ``reserve`` tokens
    left for the rest of the prompt and the answer; at least the first one (cut when it alone is too long)."""
    shown: list[tuple[str, str]] = []
    window = ctx.model.context_window
    used = 0
    for path in dict.fromkeys(wanted):
        if path not in files:
            continue
        text = files[path]
        if len(text) > MAX_FILE_CHARS:
            text = text[:MAX_FILE_CHARS] + f"\n# … (cut: {len(files[path]):,} characters in all)\n"
        cost = ctx.model.count_tokens(text) + 16
        if window is not None and shown and used + cost > window - reserve:
            continue
        if window is not None and not shown and cost > window - reserve:
            text = text[: max(200, (window - reserve) * 3)]
            cost = ctx.model.count_tokens(text) + 16
        shown.append((path, text))
        used += cost
    return shown


def answer_tokens(ctx: RunContext) -> int:
    return ctx.options.limits.repair or ANSWER_TOKENS


async def fix_round(
    ctx: RunContext, clock: StageClock, step: str, template: str, files: list[tuple[str, str]], **variables: Any
) -> FixRound:
    """Ask for edits with the prompt ``template`` (given ``files`` and ``variables``) and apply them to the repo."""
    messages: list[Message] = [
        {"role": "system", "content": render("repo/system.j2")},
        {"role": "user", "content": render(template, files=files, **variables)},
    ]
    settings = settings_for(ctx, step, ctx.options.limits.repair)
    done = await ask(ctx, clock, messages, settings)
    found = FixRound(answer=done.text)
    try:
        edits = parse_edits(done.text)
    except EditParseError as exc:
        found.failures.append(f"the answer could not be read as edits: {exc}")
        return found
    if not edits:
        found.failures.append("the answer held no SEARCH/REPLACE block; answer with edits in the format given")
        return found
    before = snapshot(ctx.run.repo)
    result: EditResult = apply_to_repo(ctx.run.repo, edits)
    found.applied = len(result.applied)
    found.failures.extend(f.message for f in result.failures)
    found.changed = sorted(result.files)
    found.diff = unified_diff(before, {**before, **result.files})
    return found
