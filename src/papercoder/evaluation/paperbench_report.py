"""The PaperBench Code-Dev tables: mean ± standard error per method, a per-paper table, the published figures.

A method's score follows PaperBench's convention: for each seed, the mean Code-Dev score over the papers graded
with that seed; then the mean of those per-seed means ± their standard error (sample standard deviation / √seeds).
With a single seed the standard error is taken over papers instead. Papers whose generation or grading failed are
left out of the means and counted. Scores are percentages.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from papercoder.evaluation.paperbench import Method, PBRecord
from papercoder.fsutil import atomic_write_text


@dataclass(frozen=True)
class Published:
    """A Code-Dev figure another paper reports (we did not run it)."""

    method: str
    score: float
    se: float
    judge: str
    source: str


# Each as its own paper reports it on PaperBench Code-Dev (20 ICML 2024 papers, o3-mini-high judge).
PUBLISHED = (
    Published(
        "PaperCoder (o3-mini-high)",
        45.1,
        0.3,
        "o3-mini-high",
        "Seo et al. 2025, Paper2Code (arXiv:2504.17192), PaperBench Code-Dev table",
    ),
    Published(
        "AutoP2C",
        50.1,
        1.1,
        "o3-mini-high",
        "Lin et al. 2025, AutoP2C (arXiv:2504.20115), PaperBench Code-Dev comparison",
    ),
    Published(
        "IterativeAgent (o1-high)",
        43.4,
        0.8,
        "o3-mini-high",
        "Starace et al. 2025, PaperBench (arXiv:2504.01848), Code-Dev results",
    ),
)


@dataclass(frozen=True)
class MethodScore:
    method: str
    mean: float | None
    se: float | None
    scored: int
    failed: int
    seeds: int


def _se(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def method_score(records: Sequence[PBRecord], method: str, seeds: int) -> MethodScore:
    """The method's mean ± standard error in percent (see the module docstring)."""
    mine = [r for r in records if r.method == method]
    ok = [r for r in mine if r.score is not None and r.error is None]
    per_seed = []
    for seed in range(1, seeds + 1):
        scores = [100 * (r.score or 0.0) for r in ok if r.seed == seed]
        if scores:
            per_seed.append(statistics.fmean(scores))
    if not per_seed:
        return MethodScore(method, None, None, 0, len(mine), seeds)
    spread = per_seed if seeds > 1 else [100 * (r.score or 0.0) for r in ok]
    return MethodScore(method, statistics.fmean(per_seed), _se(spread), len(ok), len(mine) - len(ok), seeds)


def _pm(mean: float | None, se: float | None) -> str:
    if mean is None:
        return "—"
    return f"{mean:.1f} ± {se:.1f}" if se is not None else f"{mean:.1f}"


def paper_cell(records: Sequence[PBRecord], paper: str, method: str) -> str:
    """A paper's score under a method: the mean over seeds (± standard error with several), or failed."""
    mine = [r for r in records if r.paper == paper and r.method == method]
    scores = [100 * r.score for r in mine if r.score is not None and r.error is None]
    if not scores:
        return "failed" if mine else "—"
    cell = _pm(statistics.fmean(scores), _se(scores))
    failed = len(mine) - len(scores)
    return f"{cell} ({failed} failed)" if failed else cell


def render_markdown(records: Sequence[PBRecord], methods: Sequence[Method], seeds: int, judge: str) -> str:
    rows = [method_score(records, m.name, seeds) for m in methods]
    papers = list(dict.fromkeys(r.paper for r in records))
    lines = [
        "# PaperBench Code-Dev",
        "",
        f"Judge: {judge}; {len(papers)} papers × {seeds} seed{'s' if seeds != 1 else ''}. Mean ± standard error "
        f"{'over seeds' if seeds > 1 else 'over papers'}, in percent.",
        "",
        "| Method | Code-Dev score | Graded | Failed |",
        "|---|---|---|---|",
        *(f"| {r.method} | {_pm(r.mean, r.se)} | {r.scored} | {r.failed} |" for r in rows),
        "",
        "## Published Code-Dev figures (for reference; not run here)",
        "",
        "| Method | Code-Dev score | Judge | Source |",
        "|---|---|---|---|",
        *(f"| {p.method} | {p.score:.1f} ± {p.se:.1f} | {p.judge} | {p.source} |" for p in PUBLISHED),
        "",
        "## Per paper",
        "",
        "| Paper | " + " | ".join(m.name for m in methods) + " |",
        "|---|" + "---|" * len(methods),
        *(f"| {p} | " + " | ".join(paper_cell(records, p, m.name) for m in methods) + " |" for p in papers),
    ]
    errors = [r for r in records if r.error]
    if errors:
        lines += ["", "## Failures", ""]
        lines += [f"- {r.paper} [{r.method}, seed {r.seed}]: {r.error}" for r in errors]
    refined = [r for r in records if r.refine_scores]
    if refined:
        lines += [
            "",
            "Refine rounds used a rubric each run derived from its paper (self-derived, not a PaperBench score).",
        ]
    return "\n".join(lines) + "\n"


def write_results(
    out: Path, records: Sequence[PBRecord], methods: Sequence[Method], seeds: int, judge: str
) -> list[Path]:
    """``results.md``, ``results.json`` and ``papers.csv`` under ``out``."""
    md = out / "results.md"
    atomic_write_text(md, render_markdown(records, methods, seeds, judge))
    summary = {
        "judge": judge,
        "seeds": seeds,
        "methods": [asdict(method_score(records, m.name, seeds)) for m in methods],
        "published": [asdict(p) for p in PUBLISHED],
        "records": [r.model_dump(mode="json") for r in records],
    }
    js = out / "results.json"
    atomic_write_text(js, json.dumps(summary, indent=2) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["paper", "method", "seed", "score", "leaves", "invalid_leaves", "error"])
    for r in records:
        writer.writerow(
            [
                r.paper,
                r.method,
                r.seed,
                "" if r.score is None else round(r.score, 6),
                r.leaves,
                r.invalid_leaves,
                r.error or "",
            ]
        )
    csv_path = out / "papers.csv"
    atomic_write_text(csv_path, buffer.getvalue())
    return [md, js, csv_path]
