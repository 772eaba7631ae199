"""``papercoder run --estimate``: expected calls, tokens and cost of a run, without calling a model."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from papercoder.commands.progress import usd
from papercoder.errors import InputError
from papercoder.llm import registry

out = Console(highlight=False)


def estimate_command(
    paper: Path,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    reasoning_effort: str | None,
    max_paper_tokens: int | None,
    pdf_engine: str,
    as_json: bool,
) -> None:
    from papercoder.paper import load_paper
    from papercoder.paper.budget import fit_paper
    from papercoder.paper.tokens import count_tokens
    from papercoder.pipeline.estimate import TYPICAL_FILES, estimate_run, is_reasoning_model
    from papercoder.pipeline.runner import LOCAL_LIMITS, LOCAL_PAPER_TOKENS

    env = dict(os.environ)
    if model and not model.startswith("local/"):
        # An estimate calls no model, so a named model needs no key: the placeholder never leaves this process.
        key_var = api_key_env or "OPENAI_API_KEY"
        env[key_var] = env.get(key_var) or "estimate-only"
    choice = registry.resolve(model, base_url, api_key_env, env=env)
    if not paper.exists():
        raise InputError(f"paper not found: {paper}; check the path")
    parsed = load_paper(paper, pdf_engine="pypdf" if pdf_engine == "pypdf" else "pymupdf")
    budget = max_paper_tokens or (LOCAL_PAPER_TOKENS if choice.provider == "local" else None)
    if budget is not None:
        parsed, _ = fit_paper(parsed, budget, count_tokens)
    tokens = count_tokens(parsed.markdown())
    files = LOCAL_LIMITS.max_files or TYPICAL_FILES if choice.provider == "local" else TYPICAL_FILES
    rows = estimate_run(tokens, choice.name, files=files, reasoning=is_reasoning_model(choice.name, reasoning_effort))
    costs = [r.cost_usd for r in rows]
    total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "model": choice.name,
                    "paper_tokens": tokens,
                    "files_assumed": files,
                    "stages": [r.__dict__ for r in rows],
                    "cost_usd": total,
                }
            )
        )
        return
    table = Table(title=f"Estimate for {paper.name} on {choice.name} ({tokens} paper tokens, {files} files assumed)")
    for column in ("stage", "calls", "prompt tokens", "completion tokens", "cost"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for r in rows:
        table.add_row(r.stage, str(r.calls), f"{r.prompt_tokens:,}", f"{r.completion_tokens:,}", usd(r.cost_usd))
    table.add_row(
        "total",
        str(sum(r.calls for r in rows)),
        f"{sum(r.prompt_tokens for r in rows):,}",
        f"{sum(r.completion_tokens for r in rows):,}",
        usd(total),
    )
    out.print(table)
    out.print("Estimates assume typical answer lengths; providers' prefix caching lowers the real cost.")
