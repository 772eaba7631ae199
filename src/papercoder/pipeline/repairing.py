"""After coding: the static checks of the repository and one repair round on their findings (``checks.json``).

Nothing is executed. With no finding there is no model call. Otherwise the model sees the findings and the files
involved (step ``repair/checks``) and answers SEARCH/REPLACE edits; the checks run again on the result and
``checks.json`` records both lists, the edits' outcome and the diff.
"""

from __future__ import annotations

import json
from typing import Any

from papercoder.pipeline.context import RunContext
from papercoder.pipeline.fixes import answer_tokens, fit_files, fix_round
from papercoder.repo.checks import Finding, static_checks
from papercoder.repo.files import snapshot

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


def _record(before: list[Finding], after: list[Finding] | None, repair: dict[str, Any] | None) -> str:
    remaining = before if after is None else after
    data = {
        "passed": not remaining,
        "findings": [f.to_dict() for f in before],
        "counts": {
            kind: sum(f.kind == kind for f in before) for kind in ("syntax", "import", "config", "requirements")
        },
        "repair": repair,
        "remaining": [f.to_dict() for f in remaining],
    }
    return json.dumps(data, indent=2) + "\n"


async def run(ctx: RunContext, order: list[str]) -> list[Finding]:
    """Check ``repo/``, repair once when something is found, write ``checks.json``; the findings that remain."""
    with ctx.stage("checks") as clock:
        findings = static_checks(ctx.run.repo)
        if not findings:
            ctx.progress("checks", "no findings")
            ctx.run.write(ARTIFACT, _record([], [], None))
            return []
        ctx.progress("checks", f"{len(findings)} findings; asking for one repair round")
        files = snapshot(ctx.run.repo)
        # A small local model reads only the files with findings: a shorter prompt, the same single round.
        wanted = involved(findings, order, files, others=not ctx.options.compact)
        shown = fit_files(ctx, wanted, files, PROMPT_RESERVE + answer_tokens(ctx))
        done = await fix_round(ctx, clock, STEP, "repair/checks.j2", shown, findings=findings)
        after = static_checks(ctx.run.repo)
        repair = {**done.record(), "diff": done.diff, "answer": done.answer}
        ctx.run.write(ARTIFACT, _record(findings, after, repair))
        for failure in done.failures:
            ctx.warn(f"checks repair: {failure}")
        if after:
            ctx.warn(f"checks: {len(after)} of {len(findings)} findings remain after the repair round (see {ARTIFACT})")
    return after
