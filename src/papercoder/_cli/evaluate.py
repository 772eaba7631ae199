"""``papercoder eval``, ``grade``, ``bench`` and ``stats``: thin commands over ``papercoder.evaluation``."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._cli._common import (
    BaseUrlOpt,
    ConcurrencyOpt,
    ContextOpt,
    JsonOpt,
    JudgeModelOpt,
    KeyEnvOpt,
    PriceInputOpt,
    PriceOutputOpt,
    PricesOpt,
    errors_to_exit,
    run_closing,
    warn,
)
from papercoder._cli.progress import CallCount
from papercoder.errors import InputError, StageError
from papercoder.evaluation.repofiles import read_repo, resolve_target
from papercoder.evaluation.stats import repo_stats
from papercoder.fsutil import atomic_write_json
from papercoder.llm import registry
from papercoder.llm.base import ChatModel
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.llm.pricing import apply_prices
from papercoder.rundir_lock import hold

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

EffortOpt = Annotated[
    str | None,
    typer.Option(
        "--reasoning-effort", help="For reasoning judges: minimal, low, medium or high (the paper: o3-mini, high)."
    ),
]


def _judge(model: str | None, base_url: str | None, api_key_env: str | None, quiet: bool) -> ChatModel:
    choice = registry.resolve(model, base_url, api_key_env)
    if choice.demo_warning and not quiet:
        warn(choice.demo_warning)
    return registry.build(choice)


def _paper_text(option: Path | None, default: Path | None) -> str:
    if option is not None:
        from papercoder.paper import load_paper

        return load_paper(option).markdown()
    if default is None:
        raise InputError("this target holds no paper: pass --paper PAPER (pdf, tex, md, s2orc json)")
    return default.read_text(encoding="utf-8")


def _effort(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def eval_command(
    target: Annotated[Path, typer.Argument(help="A run dir, a repository folder, or a Paper2Code output folder.")],
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode", help="ref-free (paper only) or ref-based (also the gold repo; the default with --gold)."
        ),
    ] = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="The authors' repository, for ref-based.")] = None,
    paper: Annotated[
        Path | None, typer.Option("--paper", help="The paper (default: the run dir's paper/paper.md).")
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Judge samples to draw and average.")] = 8,
    judge_model: JudgeModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    reasoning_effort: EffortOpt = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Judge sampling temperature.")] = None,
    concurrency: ConcurrencyOpt = 4,
    max_files: Annotated[
        int | None,
        typer.Option(
            "--max-files", min=1, help="Judge at most N files (code first, then configs, then docs); also for --gold."
        ),
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include", help="Judge only files matching this glob (repeatable; also for --gold), e.g. 'src/*.py'."
        ),
    ] = None,
    context_tokens: ContextOpt = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Result JSON (default: RUN_DIR/eval/<mode>.json).")
    ] = None,
    price_input: PriceInputOpt = None,
    price_output: PriceOutputOpt = None,
    prices: PricesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge a generated repository 1–5 against its paper, n samples averaged (the Paper2Code protocol).

    Example: papercoder eval runs/attention --judge-model openai/o3-mini --reasoning-effort high
    """
    from papercoder.evaluation.judge import judge_repository

    with errors_to_exit(), ExitStack() as locks:
        chosen = mode or ("ref-based" if gold is not None else "ref-free")
        if chosen not in ("ref-free", "ref-based"):
            raise InputError(f"--mode {chosen}: use ref-free or ref-based")
        if chosen == "ref-based" and gold is None:
            raise InputError("--mode ref-based needs --gold DIR, the authors' repository")
        if chosen == "ref-free" and gold is not None:
            raise InputError("--gold is for --mode ref-based; drop one of them")
        found = resolve_target(target)
        if found.kind == "run":  # results land in RUN_DIR/eval/: one process at a time
            locks.enter_context(hold(found.root, "eval"))
        text = _paper_text(paper, found.paper)
        repo = read_repo(found.repo, include=include or (), max_files=max_files, extra=found.extra)
        gold_repo = read_repo(gold, include=include or (), max_files=max_files) if gold is not None else None
        result_path = out_path or found.eval_dir / f"{chosen}.json"
        judge = _judge(judge_model, base_url, api_key_env, as_json)
        apply_prices([judge.name], price_input, price_output, prices)
        cached = CachedModel(judge, CallCache(result_path.parent / "calls"))
        shown = CallCount(cached, err, "eval", n, per="sample", enabled=not as_json)
        with shown:
            result = run_closing(
                [judge],
                lambda: judge_repository(
                    shown,
                    text,
                    repo.files,
                    gold=gold_repo.files if gold_repo else None,
                    n=n,
                    temperature=temperature,
                    reasoning_effort=_effort(reasoning_effort),
                    context_tokens=context_tokens,
                    concurrency=concurrency,
                ),
            )
        result.meta.update(
            {
                "target": str(target),
                "repo": str(found.repo),
                "gold": str(gold) if gold else None,
                "left_out": repo.left_out,
                "skipped": repo.skipped,
            }
        )
        atomic_write_json(result_path, result.model_dump(mode="json"))
        if as_json:
            out.print_json(
                json.dumps(
                    {
                        "mean": result.mean,
                        "std": result.std,
                        "valid": result.valid,
                        "n": result.n,
                        "cost_usd": result.cost_usd,
                        "result": str(result_path),
                    }
                )
            )
        else:
            cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
            score = "—" if result.mean is None else f"{result.mean:.2f} (std {result.std or 0.0:.2f})"
            out.print(
                f"[green]{chosen}[/] score {score} · valid {result.valid}/{result.n} · "
                f"{result.usage.prompt_tokens} prompt + {result.usage.completion_tokens} completion tokens · "
                f"cost {cost} · {escape(str(result_path))}"
            )
        if result.valid == 0:
            raise StageError(f"none of the {n} judge samples was a valid answer; see {result_path}")


def grade_command(
    target: Annotated[Path, typer.Argument(help="A run dir, a repository folder, or a Paper2Code output folder.")],
    rubric: Annotated[Path, typer.Option("--rubric", help="The PaperBench rubric.json.")],
    paper: Annotated[
        Path | None,
        typer.Option(
            "--paper", help="Show the judge this paper with each requirement (default: the run dir's paper, if any)."
        ),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", help="Keep leaves of one task category, e.g. code-development (PaperBench Code-Dev)."
        ),
    ] = None,
    judge_model: JudgeModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    reasoning_effort: EffortOpt = None,
    concurrency: ConcurrencyOpt = 4,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Files shown per requirement.")] = 5,
    file_tokens: Annotated[
        int, typer.Option("--file-tokens", min=100, help="Token budget for a requirement's files.")
    ] = 12000,
    context_tokens: ContextOpt = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Result JSON (default: RUN_DIR/eval/rubric[-CATEGORY].json).")
    ] = None,
    price_input: PriceInputOpt = None,
    price_output: PriceOutputOpt = None,
    prices: PricesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Grade a repository on a PaperBench rubric: each leaf 0/1, parents by weighted mean.

    Example: papercoder grade runs/lca --rubric rubric.json --category code-development --judge-model openai/o3-mini
    """
    from papercoder.evaluation.rubric import filter_category, grade_repository, load_rubric

    with errors_to_exit(), ExitStack() as locks:
        tree = load_rubric(rubric)
        found = resolve_target(target)
        if found.kind == "run":  # results land in RUN_DIR/eval/: one process at a time
            locks.enter_context(hold(found.root, "grade"))
        text = _paper_text(paper, found.paper) if paper is not None or found.paper is not None else None
        repo = read_repo(found.repo, extra=found.extra)
        suffix = f"-{'-'.join(category.lower().split())}" if category else ""
        result_path = out_path or found.eval_dir / f"rubric{suffix}.json"
        judge = _judge(judge_model, base_url, api_key_env, as_json)
        apply_prices([judge.name], price_input, price_output, prices)
        cached = CachedModel(judge, CallCache(result_path.parent / "calls"))
        kept = filter_category(tree, category) if category else tree
        shown = CallCount(cached, err, "grade", len(kept.leaves()) if kept else 0, per="leaf", enabled=not as_json)
        with shown:
            result = run_closing(
                [judge],
                lambda: grade_repository(
                    shown,
                    tree,
                    repo.files,
                    paper=text,
                    category=category,
                    concurrency=concurrency,
                    top_k=top_k,
                    file_tokens=file_tokens,
                    context_tokens=context_tokens,
                    reasoning_effort=_effort(reasoning_effort),
                ),
            )
        atomic_write_json(result_path, result.model_dump(mode="json"))
        if as_json:
            out.print_json(
                json.dumps(
                    {
                        "score": result.score,
                        "leaves": result.leaves,
                        "invalid_leaves": result.invalid_leaves,
                        "result": str(result_path),
                    }
                )
            )
        else:
            out.print(
                f"[green]rubric[/] score {result.score:.4f} over {result.leaves} leaves "
                f"({result.invalid_leaves} unreadable verdicts) · {escape(str(result_path))}"
            )


def stats_command(
    target: Annotated[Path, typer.Argument(help="A run dir, a repository folder, or a Paper2Code output folder.")],
    as_json: JsonOpt = False,
) -> None:
    """Print a repository's Table-1 statistics: tokens (source files), code files, functions."""
    with errors_to_exit():
        found = resolve_target(target)
        stats = repo_stats(found.repo)
        if as_json:
            out.print_json(stats.model_dump_json())
            return
        out.print(
            f"{escape(str(found.repo))}: {stats.tokens} tokens · {stats.files} code files · {stats.functions} functions"
        )
        for path in stats.unparsable:
            err.print(f"[yellow]warning:[/] {escape(path)} does not parse as Python; its functions count 0")


def register(app: typer.Typer) -> None:
    """Add ``eval``, ``grade`` and ``stats`` to ``app``."""
    app.command("eval")(eval_command)
    app.command("grade")(grade_command)
    app.command("stats")(stats_command)
