"""After reproduce.sh: the generated repository's ``README.md``, written from the plan and the analyses (no call).

What each file implements (from the logic design) and the paper sections its analysis and logic cite
(``papercoder.paper.citations``), how to install and run it, the smoke mode, what the plan left unclear, and the
problems the checks still find. A README the model wrote itself (the plan listed one) is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from papercoder.paper.citations import cited_sections
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.planning import PlanningResult
from papercoder.pipeline.templates import render
from papercoder.repo.files import entry_point, snapshot
from papercoder.repo.findings import Finding
from papercoder.repo.sandbox import SMOKE_ENV

README = "README.md"
SUMMARY_CHARS = 240


@dataclass(frozen=True)
class FileRow:
    """One line of the README's file table."""

    path: str
    summary: str
    sections: list[str]


def _summary(text: str) -> str:
    """One table cell from a logic text: one line, pipes escaped, cut at a sentence end near ``SUMMARY_CHARS``."""
    flat = re.sub(r"\s+", " ", text).strip().replace("|", "\\|")
    if len(flat) <= SUMMARY_CHARS:
        return flat
    cut = flat[:SUMMARY_CHARS]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > SUMMARY_CHARS // 2 else cut.rstrip() + "…"


def section_titles(ctx: RunContext) -> list[str]:
    """The paper's section titles, from ``paper/paper.json``."""
    try:
        data = json.loads(ctx.run.read("paper/paper.json"))
    except (OSError, ValueError):
        return []
    sections = data.get("sections") if isinstance(data, dict) else None
    return [str(s.get("title", "")) for s in sections or [] if isinstance(s, dict)]


def render_readme(
    ctx: RunContext, plan: PlanningResult, analyses: dict[str, str], remaining: list[Finding], has_script: bool
) -> str:
    """The README's text."""
    titles = section_titles(ctx)
    files = snapshot(ctx.run.repo)
    rows = []
    for path in plan.files:
        logic = plan.logic_for(path)
        cited = cited_sections(f"{analyses.get(path, '')}\n{logic}", titles)
        rows.append(FileRow(path, _summary(logic), [titles[i] for i in cited]))
    try:
        config = yaml.safe_load(files.get("config.yaml", "")) or {}
    except yaml.YAMLError:
        config = {}
    requirements = [line.strip() for line in files.get("requirements.txt", "").splitlines() if line.strip()]
    unclear = [t.strip() for t in (plan.architecture.unclear_points, plan.logic.unclear_points) if t.strip()]
    return render(
        "repo/readme.j2",
        title=ctx.manifest.paper.title or "The paper",
        model=ctx.manifest.model.name,
        approach=plan.architecture.implementation_approach.strip(),
        rows=rows,
        entry=entry_point(files, plan.files),
        requirements=", ".join(f"`{r}`" for r in requirements),
        script=has_script,
        config_keys=", ".join(f"`{k}`" for k in config) if isinstance(config, dict) else "",
        smoke_env=SMOKE_ENV,
        unclear=list(dict.fromkeys(unclear)),
        problems=[f for f in remaining if f.matters],
    )


def write(
    ctx: RunContext, plan: PlanningResult, analyses: dict[str, str], remaining: list[Finding], *, has_script: bool
) -> None:
    """Write ``repo/README.md`` unless the plan made the README one of the coded files."""
    if README in plan.files:
        return
    ctx.note("reproduce", f"writing {README}")
    ctx.run.write(f"repo/{README}", render_readme(ctx, plan, analyses, remaining, has_script).rstrip() + "\n")
