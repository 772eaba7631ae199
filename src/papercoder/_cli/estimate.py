"""``papercoder run --estimate``: expected calls, tokens and cost of a run, without calling a model."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from papercoder._cli.progress import usd

out = Console(highlight=False)


def estimate_command(
    paper: Path,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    reasoning_effort: str | None,
    max_paper_tokens: int | None,
    pdf_engine: str,
    method: str,
    as_json: bool,
) -> None:
    from papercoder._api import estimate

    found = estimate(
        paper,
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        method=method,
        reasoning_effort=reasoning_effort,
        max_paper_tokens=max_paper_tokens,
        pdf_engine="pypdf" if pdf_engine == "pypdf" else "pymupdf",
    )
    if as_json:
        out.print_json(found.model_dump_json())
        return
    rows = found.stages
    table = Table(
        title=f"Estimate for {paper.name} on {found.model} ({found.paper_tokens} paper tokens, "
        f"{found.files_assumed} files assumed)"
    )
    for column in ("stage", "calls", "prompt tokens", "completion tokens", "cost"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for r in rows:
        table.add_row(r.stage, str(r.calls), f"{r.prompt_tokens:,}", f"{r.completion_tokens:,}", usd(r.cost_usd))
    table.add_row(
        "total",
        str(sum(r.calls for r in rows)),
        f"{sum(r.prompt_tokens for r in rows):,}",
        f"{sum(r.completion_tokens for r in rows):,}",
        usd(found.cost_usd),
    )
    out.print(table)
    out.print("Estimates assume typical answer lengths; providers' prefix caching lowers the real cost.")
