"""How a run ends: ``done``, or ``done-with-problems`` when problems remain after the repair round.

The problems are the findings that matter (``Finding.matters``: syntax errors, empty source files, unresolved
repository imports, an answer headed for another file) left in ``checks.json``; the CLI exits with
``EXIT_PROBLEMS`` (4) for such a run. Coding records what it finds itself (an answer headed for another file, an
entry left out of requirements.txt) in ``coding/findings.json`` for the checks stage.
"""

from __future__ import annotations

import json

from papercoder.pipeline.context import RunContext
from papercoder.repo.findings import Finding
from papercoder.run_dir import Manifest

CODING_FINDINGS = "coding/findings.json"


def save_coding_findings(ctx: RunContext, findings: list[Finding]) -> None:
    ctx.run.write(CODING_FINDINGS, json.dumps([f.to_dict() for f in findings], indent=2) + "\n")


def load_coding_findings(ctx: RunContext) -> list[Finding]:
    """What coding found (none when the file is absent: a run directory from before it was written)."""
    if not ctx.run.exists(CODING_FINDINGS):
        return []
    data = json.loads(ctx.run.read(CODING_FINDINGS))
    return [Finding(d["kind"], d["path"], d.get("line"), d["message"]) for d in data]


def problem_line(finding: Finding) -> str:
    """One short line: ``main.py:3: syntax: SyntaxError: invalid syntax``."""
    where = finding.path + (f":{finding.line}" if finding.line else "")
    return f"{where}: {finding.kind}: {finding.message}"


def settle(manifest: Manifest, remaining: list[Finding]) -> None:
    """Set the finished run's status and problems from the findings that remain after the repair round."""
    problems = [problem_line(f) for f in remaining if f.matters]
    manifest.problems = problems
    manifest.status = "done-with-problems" if problems else "done"
