"""After coding: the static checks of the repository and one repair round on their findings (``checks.json``).

Nothing is executed. A finding with a certain fix is fixed first without a model call (a third-party import missing
from requirements.txt gets its distribution added; ``mechanical`` in ``checks.json``). With no finding left there is
no model call. Otherwise the model sees the findings and the files involved (step ``repair/checks``) and answers
SEARCH/REPLACE edits; the checks run again on the result and ``checks.json`` records both lists, the edits' outcome,
the diff, and the ``problems`` that remain (``Finding.matters``; they make the run ``done-with-problems``).
"""

from __future__ import annotations

import json
from typing import Any

from papercoder.pipeline.context import RunContext
from papercoder.pipeline.fixes import answer_tokens, fit_files, fix_round
from papercoder.pipeline.grounding import grounded
from papercoder.pipeline.outcome import load_coding_findings
from papercoder.repo.checks import static_checks
from papercoder.repo.files import snapshot
from papercoder.repo.findings import Finding
from papercoder.repo.requirements import MechanicalFix, add_missing

STEP = "repair/checks"
ARTIFACT = "checks.json"
PROMPT_RESERVE = 1200  # tokens of the repair prompt besides the files


def involved(findings: list[Finding], order: list[str], files: dict[str, str], *, others: bool = True) -> list[str]:
    """The files to show for ``findings``: each finding's file, config.yaml and requirements.txt when a finding is
    about them, then (with ``others``) the other Python files in task order (the modules an import should find)."""
    wanted = [f.path for f in findings]
    if any(f.kind == "config" for f in findings):
        wanted.append("config.yaml")
    if any(f.kind == "requirements" for f in findings):
        wanted.append("requirements.txt")
    if others:
        wanted += [p for p in order if p.endswith(".py")] + sorted(p for p in files if p.endswith(".py"))
    return [p for p in dict.fromkeys(wanted) if p in files]


KINDS = ("syntax", "empty", "import", "misdirected", "config", "requirements")


def _record(
    before: list[Finding], remaining: list[Finding], repair: dict[str, Any] | None, mechanical: list[MechanicalFix]
) -> str:
    data = {
        "passed": not remaining,
        "findings": [f.to_dict() for f in before],
        "counts": {kind: sum(f.kind == kind for f in before) for kind in KINDS},
        "mechanical": [m.to_dict() for m in mechanical],
        "repair": repair,
        "remaining": [f.to_dict() for f in remaining],
        "problems": [f.to_dict() for f in remaining if f.matters],
    }
    return json.dumps(data, indent=2) + "\n"


async def run(ctx: RunContext, order: list[str]) -> list[Finding]:
    """Check ``repo/``, fix what has a certain fix, repair once when something is left, write ``checks.json``;
    the findings that remain.

    Besides the static checks, what coding found (``coding/findings.json``) is in the record: an answer headed for
    another file goes to the repair round too and remains unless the round changed that file; an entry left out of
    requirements.txt is reported only, as there is nothing left to repair.
    """
    with ctx.stage("checks") as clock:
        noted = load_coding_findings(ctx)
        misdirected = [f for f in noted if f.kind == "misdirected"]
        reported = [f for f in noted if f.kind != "misdirected"]
        findings = static_checks(ctx.run.repo)
        # A third-party import missing from requirements.txt with a certain distribution needs no model call.
        mechanical = add_missing(ctx.run.repo) if any(f.kind == "requirements" for f in findings) else []
        for done_fix in mechanical:
            ctx.note("checks", f"{done_fix.finding.path}: {done_fix.fix}")
        fixed = {m.finding for m in mechanical}
        before = [*misdirected, *findings, *reported]
        todo = [*misdirected, *(f for f in findings if f not in fixed)]
        if not todo:
            ctx.note("checks", "no findings" if not before else f"{len(before)} findings; none left to repair")
            ctx.run.write(ARTIFACT, _record(before, reported, None, mechanical))
            return reported
        ctx.note("checks", f"{len(todo)} findings; asking for one repair round")
        files = snapshot(ctx.run.repo)
        # A small local model reads only the files with findings: a shorter prompt, the same single round.
        wanted = involved(todo, order, files, others=not ctx.options.compact)
        # The plan's parts and the paper's sections behind the files with findings: what "the value the paper
        # states" is taken from.
        grounding, extra = grounded(ctx, wanted, "\n".join(f.message for f in todo))
        shown = fit_files(ctx, wanted, files, PROMPT_RESERVE + answer_tokens(ctx) + extra)
        done = await fix_round(ctx, clock, STEP, "checks/repair.j2", shown, findings=todo, grounding=grounding)
        after = [*(f for f in misdirected if f.path not in done.changed), *static_checks(ctx.run.repo), *reported]
        repair = {**done.record(), "diff": done.diff, "answer": done.answer}
        ctx.run.write(ARTIFACT, _record(before, after, repair, mechanical))
        for failure in done.failures:
            ctx.warn(f"checks repair: {failure}")
        if after:
            ctx.warn(f"checks: {len(after)} of {len(before)} findings remain after the repair round (see {ARTIFACT})")
    return after
