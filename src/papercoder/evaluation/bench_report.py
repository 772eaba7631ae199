"""The benchmark's tables: Table-1-style summary (Markdown and CSV), per-paper rows, and the raw records.

A summary cell is the mean over papers of each paper's mean judge score, with the population standard deviation
over papers in parentheses. Papers whose generation or judging failed are left out of the mean and counted as
``failed``; modes that do not apply (ref-based without a gold repository) are counted as ``skipped``. The
statistics columns are means over the papers whose repository was generated. With ``--seeds``, each seed of a
paper is one sample of the mean and standard deviation (its rows in the per-paper table say which seed).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from papercoder.evaluation.bench import PaperRecord
from papercoder.fsutil import atomic_write_text


class SummaryRow(BaseModel):
    """One cell of the summary: a method's score in one group and mode."""

    method: str
    group: str
    mode: str
    mean: float | None
    std: float | None
    papers: int
    failed: int
    skipped: int


def outcome(record: PaperRecord, mode: str) -> float | str:
    """A record's mean score in ``mode``, or ``"skipped"`` (the mode does not apply) or ``"failed"``."""
    result = record.scores.get(mode)
    if not applies(record, mode) or (result is not None and result.skipped is not None):
        return "skipped"
    if record.error is not None or result is None or result.error is not None or result.mean is None:
        return "failed"
    return result.mean


def summarize(records: Sequence[PaperRecord], methods: Sequence[str], modes: Sequence[str]) -> list[SummaryRow]:
    """Aggregate per-paper records into one row per method, mode and group (groups in dataset order)."""
    groups = list(dict.fromkeys(r.group for r in records))
    rows: list[SummaryRow] = []
    for method in methods:
        for mode in modes:
            for group in groups:
                found = [outcome(r, mode) for r in records if r.method == method and r.group == group]
                scores = [x for x in found if isinstance(x, float)]
                rows.append(
                    SummaryRow(
                        method=method,
                        group=group,
                        mode=mode,
                        mean=statistics.fmean(scores) if scores else None,
                        std=statistics.pstdev(scores) if scores else None,
                        papers=len(scores),
                        failed=found.count("failed"),
                        skipped=found.count("skipped"),
                    )
                )
    return rows


def applies(record: PaperRecord, mode: str) -> bool:
    """Whether ``mode`` can score ``record`` at all: reference-based judging needs a gold repository and is
    meaningless for the oracle; the oracle needs a gold repository."""
    if record.method == "oracle":
        return record.has_gold and mode == "ref-free"
    return mode != "ref-based" or record.has_gold


def method_stats(records: Sequence[PaperRecord], method: str) -> tuple[float | None, float | None, float | None]:
    """Mean tokens, files and functions of ``method``'s generated repositories."""
    done = [r for r in records if r.method == method and r.error is None and r.tokens is not None]
    if not done:
        return None, None, None
    return (
        statistics.fmean(r.tokens or 0 for r in done),
        statistics.fmean(r.files or 0 for r in done),
        statistics.fmean(r.functions or 0 for r in done),
    )


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _cell(row: SummaryRow) -> str:
    if row.mean is None:
        return "failed" if row.failed else "N/A"
    text = f"{row.mean:.2f} ({(row.std or 0.0):.2f})"
    return f"{text} [{row.failed} failed]" if row.failed else text


def render_markdown(
    records: Sequence[PaperRecord], methods: Sequence[str], modes: Sequence[str], judge: str, n: int
) -> str:
    """The results as Markdown: the summary table, then one row per paper and method, then the failures."""
    rows = summarize(records, methods, modes)
    groups = list(dict.fromkeys(r.group for r in records))
    lines = [
        "# Benchmark results",
        "",
        f"Judge: {judge}, {n} samples per repository. Each cell: mean over papers of the paper's mean score "
        "(1–5), population standard deviation over papers in parentheses.",
        "",
        "| Method | " + " | ".join(f"{m} {g}" for m in modes for g in groups) + " | # Tokens | # Files | # Funcs |",
        "|---" * (1 + len(modes) * len(groups) + 3) + "|",
    ]
    for method in methods:
        cells = [
            _cell(next(r for r in rows if (r.method, r.mode, r.group) == (method, m, g))) for m in modes for g in groups
        ]
        tokens, files, funcs = method_stats(records, method)
        lines.append(f"| {method} | " + " | ".join([*cells, _num(tokens), _num(files), _num(funcs)]) + " |")
    lines += [
        "",
        "## Per paper",
        "",
        "Each cell: the mean of the valid judge samples (population std over samples), then valid samples / n.",
        "",
        "| Group | Paper | Method | " + " | ".join(modes) + " | # Tokens | # Files | # Funcs |",
        "|---" * (3 + len(modes) + 3) + "|",
    ]
    for r in records:
        scores = [_paper_cell(r, m) for m in modes]
        paper = r.paper if r.seed is None else f"{r.paper} (seed {r.seed})"
        lines.append(
            f"| {r.group} | {paper} | {r.method} | "
            + " | ".join(scores)
            + " | "
            + " | ".join("—" if v is None else str(v) for v in (r.tokens, r.files, r.functions))
            + " |"
        )
    failures = [(r, m, r.scores[m].error) for r in records for m in modes if m in r.scores and r.scores[m].error]
    generation = [r for r in records if r.error]
    if generation or failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {r.group}/{r.paper} [{r.method}]: {r.error}" for r in generation]
        lines += [f"- {r.group}/{r.paper} [{r.method}] {m}: {e}" for r, m, e in failures]
    return "\n".join(lines) + "\n"


def _paper_cell(record: PaperRecord, mode: str) -> str:
    if not applies(record, mode):
        return "N/A"
    if record.error is not None:
        return "failed"
    outcome = record.scores.get(mode)
    if outcome is None or outcome.error is not None or (outcome.mean is None and outcome.skipped is None):
        return "failed"
    if outcome.mean is None:
        return "N/A"
    return f"{outcome.mean:.2f} ({(outcome.std or 0.0):.2f}) {outcome.valid}/{outcome.n}"


def _csv(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def write_results(
    out: Path, records: Sequence[PaperRecord], methods: Sequence[str], modes: Sequence[str], judge: str, n: int
) -> list[Path]:
    """Write ``results.md``, ``results.csv``, ``papers.csv`` and ``results.json`` into ``out``; return their
    paths."""
    rows = summarize(records, methods, modes)
    summary = []
    for row in rows:
        tokens, files, funcs = method_stats(records, row.method)
        summary.append(
            [
                row.method,
                row.group,
                row.mode,
                _round(row.mean),
                _round(row.std),
                row.papers,
                row.failed,
                row.skipped,
                _round(tokens),
                _round(files),
                _round(funcs),
            ]
        )
    per_paper = []
    for r in records:
        for mode in modes:
            s = r.scores.get(mode)
            per_paper.append(
                [
                    r.group,
                    r.paper,
                    r.method,
                    mode,
                    _round(s.mean if s else None),
                    _round(s.std if s else None),
                    s.valid if s else None,
                    s.n if s else None,
                    r.tokens,
                    r.files,
                    r.functions,
                    r.error or (s.error or s.skipped if s else None),
                    r.seed,
                    _debug_cell(r),
                ]
            )
    paths = {
        "results.md": render_markdown(records, methods, modes, judge, n),
        "results.csv": _csv(
            ["method", "group", "mode", "mean", "std", "papers", "failed", "skipped", "tokens", "files", "functions"],
            summary,
        ),
        "papers.csv": _csv(
            [
                *["group", "paper", "method", "mode", "mean", "std", "valid", "n", "tokens", "files", "functions"],
                *["error", "seed", "debug"],
            ],
            per_paper,
        ),
        "results.json": json.dumps(
            {
                "judge": judge,
                "n": n,
                "methods": list(methods),
                "modes": list(modes),
                "summary": [r.model_dump() for r in rows],
                "records": [r.model_dump(mode="json") for r in records],
            },
            indent=2,
        )
        + "\n",
    }
    for name, text in paths.items():
        atomic_write_text(out / name, text)
    return [out / name for name in paths]


def _debug_cell(record: PaperRecord) -> str | None:
    """``--debug``'s outcome: ``converged``, ``not converged`` or the error that stopped the loop."""
    if record.debug is None:
        return None
    if "error" in record.debug:
        return str(record.debug["error"])
    return "converged" if record.debug.get("converged") else "not converged"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
