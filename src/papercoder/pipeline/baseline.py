"""The one-shot coding stage: the whole repository from one call.

The paper's baselines are methods of one stage of it (``papercoder._engine.METHODS``):

* ``abstract``: the model sees only the title and abstract;
* ``paper``: the model sees the full paper;

and the first rungs of the ablation ladder use it too (``coding-only`` as ``paper``; ``with-plan`` after the
overall plan, see :func:`from_plan_messages`). The answer lists files as ``### File: <path>`` plus one fenced block
each (``parsing.filesplit.split_files``); the files land in ``RUN_DIR/repo/`` (a ``config.yaml`` or
``requirements.txt`` the model wrote included). The raw answer is kept in ``coding/baseline_<name>.md``.
"""

from __future__ import annotations

from typing import Literal

from papercoder.errors import StageError
from papercoder.llm.base import Message
from papercoder.paper import Paper
from papercoder.parsing.filesplit import split_files
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render

BaselineMethod = Literal["abstract", "paper"]
BASELINES: tuple[BaselineMethod, ...] = ("abstract", "paper")


def baseline_messages(method: BaselineMethod, paper: Paper) -> list[Message]:
    """The single prompt of a baseline."""
    if method == "abstract" and not paper.abstract.strip():
        raise StageError("the abstract baseline needs the paper's abstract, and none was found in the paper")
    user = render(
        "baseline/user.j2",
        method=method,
        title=paper.title or "(untitled)",
        abstract=paper.abstract.strip(),
        paper=paper.markdown().strip(),
    )
    return [{"role": "system", "content": render("baseline/system.j2")}, {"role": "user", "content": user}]


def from_plan_messages(planning: PlanningResult) -> list[Message]:
    """The planning conversation so far, then one turn asking for the whole repository (the ladder's ``with-plan``
    method: a plan but no file list to code one by one)."""
    return [*planning.trajectory, {"role": "user", "content": render("baseline/from_plan.j2")}]


def _write_files(ctx: RunContext, files: dict[str, str]) -> list[str]:
    root = ctx.run.repo.resolve()
    written: list[str] = []
    for path, code in files.items():
        # Belt and braces: split_files already refused unsafe names; a symlink inside repo/ must not lead out.
        if not (ctx.run.repo / path).resolve().is_relative_to(root):
            raise StageError(f"refused to write {path!r}: it resolves outside {ctx.run.repo}")
        ctx.run.write(f"repo/{path}", code)
        written.append(path)
    return written


async def run(ctx: RunContext, messages: list[Message], step: str) -> list[str]:
    """Ask ``messages`` once (step ``step``, e.g. ``baseline/paper``) and write the files of the answer into
    ``repo/``; the raw answer is kept in ``coding/<step with _>.md``. Returns the repository paths written, in answer
    order.

    Raises:
        StageError: the answer holds no file in the asked format (its cache entry is dropped so a re-run asks
            again), or a path resolves outside ``repo/``.
        ModelError: the call failed after its retries.
    """
    raw = f"coding/{step.replace('/', '_')}.md"
    with ctx.stage("coding") as clock:
        ctx.advance("coding", 0, 1, "the whole repository in one answer")
        settings = settings_for(ctx, step, None)
        answer = await ask(ctx, clock, messages, settings)
        ctx.run.write(raw, answer.text)
        if answer.finish_reason == "length":
            ctx.warn("the answer hit the output limit: the last file may be cut short")
        split = split_files(answer.text)
        for warning in split.warnings:
            ctx.warn(f"{step}: {warning}")
        if not split.files:
            ctx.model.cache.evict(ctx.model.key(messages, settings))
            raise StageError(
                f"the {step.split('/')[-1]} baseline's answer holds no '### File: <path>' block with code; the "
                f"answer is in {ctx.run.root / raw}; re-run to ask again"
            )
        ctx.manifest.files = _write_files(ctx, split.files)
    return ctx.manifest.files


__all__ = ["BASELINES", "BaselineMethod", "baseline_messages", "from_plan_messages", "run"]
