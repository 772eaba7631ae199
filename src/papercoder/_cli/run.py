"""``papercoder run``: declares the options and forwards them to ``papercoder.run_async``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._cli._common import (
    DEFAULT_METHOD,
    EXIT_CODES,
    BaseUrlOpt,
    CodingOrder,
    DepContext,
    EffortOpt,
    GpusOpt,
    ImageOpt,
    JsonOpt,
    KeyEnvOpt,
    Method,
    ModelOpt,
    Network,
    NetworkOpt,
    PdfEngine,
    PdfEngineOpt,
    PriceInputOpt,
    PriceOutputOpt,
    PricesOpt,
    QuietOpt,
    RpmOpt,
    SandboxKind,
    SandboxOpt,
    TpmOpt,
    err,
    errors_to_exit,
    out,
)
from papercoder._cli.debug import finish
from papercoder._cli.estimate import estimate_command
from papercoder._cli.progress import ProgressView, problem_count, summary_table, usd
from papercoder._cli.refine import JudgeOpt, RubricOpt, closing_line
from papercoder.errors import EXIT_PROBLEMS
from papercoder.llm.pricing import apply_prices
from papercoder.pipeline.debugging import DebugResult
from papercoder.run_dir import RunDir


def run(
    paper: Annotated[Path, typer.Argument(help="The paper: .pdf, .tex (or a folder / .tar.gz), .md, s2orc .json.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="The run directory (default runs/<paper name>).")
    ] = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    reasoning_effort: EffortOpt = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Parallel analysis calls (and coding calls with dag order).")
    ] = 4,
    coding_order: Annotated[
        CodingOrder,
        typer.Option(
            "--coding-order",
            help="auto (sequential while the earlier files fit in an eighth of the context window, then dag), "
            "sequential (the paper's method: task order, each file sees every earlier file) or dag (a file is "
            "coded once the files it depends on are written, seeing only those).",
        ),
    ] = CodingOrder.auto,
    dep_context: Annotated[
        DepContext,
        typer.Option(
            "--dep-context",
            help="With --coding-order dag: attach each dependency's interface (signatures, docstrings, attributes; "
            "fewer tokens) or its full code.",
        ),
    ] = DepContext.interface,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    reasoning_model: Annotated[
        bool,
        typer.Option(
            "--reasoning-model", help="Treat --model as a reasoning model: reasoning effort sent, no temperature."
        ),
    ] = False,
    max_paper_tokens: Annotated[
        int | None, typer.Option("--max-paper-tokens", min=100, help="Condense the paper to this many tokens.")
    ] = None,
    max_files: Annotated[
        int, typer.Option("--max-files", min=1, help="Code at most N files; a longer plan is cut, with a warning.")
    ] = 100,
    pdf_engine: PdfEngineOpt = PdfEngine.pymupdf,
    keep_references: Annotated[
        bool, typer.Option("--keep-references", help="Keep the paper's bibliography in what the model reads.")
    ] = False,
    grobid_url: Annotated[
        str | None, typer.Option("--grobid-url", help="Read PDFs through this running GROBID server instead.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Cores for PDF layout analysis (default: all).")
    ] = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start over instead of resuming the run dir.")] = False,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Stop (exit 3) before a call that could pass this USD.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Stop (exit 3) before a call that could pass N tokens.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for one model answer before retrying.")
    ] = 600.0,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="papercoder (the paper's method), a one-shot baseline (paper: the full text; abstract: title and "
            "abstract only), or a rung of the ablation ladder (coding-only, with-plan, with-architecture, with-logic, "
            "with-config).",
        ),
    ] = DEFAULT_METHOD,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Print the expected calls, tokens and cost; call no model.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Then run the repository and fix it until it runs, as `papercoder debug RUN_DIR` does."
        ),
    ] = False,
    sandbox: SandboxOpt = SandboxKind.auto,
    image: ImageOpt = None,
    gpus: GpusOpt = False,
    network: NetworkOpt = Network.install,
    refine: Annotated[
        int,
        typer.Option("--refine", min=0, help="Then N rounds of `papercoder refine`: grade, fix."),
    ] = 0,
    rubric: RubricOpt = None,
    judge_model: JudgeOpt = None,
    price_input: PriceInputOpt = None,
    price_output: PriceOutputOpt = None,
    prices: PricesOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run planning → analysis → coding on PAPER; the repository lands in RUN_DIR/repo/.

    Example: papercoder run paper.pdf --out runs/paper --model openai/o3-mini --reasoning-effort high
    """
    with errors_to_exit():
        if estimate:
            # The model as named (no key needed: nothing is called); with none named, a prices file still applies.
            apply_prices([model or ""], price_input, price_output, prices)
            estimate_command(
                paper,
                model,
                base_url,
                api_key_env,
                reasoning_effort,
                max_paper_tokens,
                pdf_engine.value,
                method.value,
                as_json,
            )
            return
        _run(
            paper,
            out_dir,
            quiet,
            as_json,
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            reasoning_effort=reasoning_effort,
            concurrency=concurrency,
            coding_order=coding_order.value,
            dep_context=dep_context.value,
            temperature=temperature,
            max_paper_tokens=max_paper_tokens,
            max_files=max_files,
            pdf_engine=pdf_engine.value,
            keep_references=keep_references,
            grobid_url=grobid_url,
            jobs=jobs,
            rpm=rpm,
            tpm=tpm,
            fresh=fresh,
            max_cost=max_cost,
            max_tokens=max_tokens,
            timeout=timeout,
            method=method.value,
            debug=debug,
            sandbox=sandbox.value,
            image=image,
            gpus=gpus,
            network=network.value,
            refine=refine,
            rubric=rubric,
            judge_model=judge_model,
            reasoning_model=reasoning_model,
            price_input=price_input,
            price_output=price_output,
            prices=prices,
        )


def _run(paper: Path, out_dir: Path | None, quiet: bool, as_json: bool, **options: Any) -> None:
    """Forward to ``papercoder.run_async`` with the progress view on the run's events; print the result."""
    from papercoder._api import run_async

    target = out_dir or Path("runs") / paper.stem
    view = ProgressView(err, enabled=not (quiet or as_json))
    with view:
        try:
            result = asyncio.run(run_async(paper, target, on_event=view, **options))
        finally:
            view.finish()
    manifest = RunDir(result.run_dir).load_manifest()
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        if not quiet and manifest is not None:
            err.print(summary_table(manifest))
        head = f"[yellow]{result.status}[/]" if result.problems else "[green]done[/]"
        what = f"{result.method} baseline: " if result.method in ("paper", "abstract") else ""
        out.print(
            f"{head} {what}{len(result.files)} files in {escape(str(result.repo))} · "
            f"{result.usage.prompt_tokens} prompt + {result.usage.completion_tokens} completion tokens · "
            f"cost {usd(result.cost)}",
            soft_wrap=True,
        )
        if result.problems:
            where = escape(str(result.run_dir / "checks.json"))
            out.print(
                f"[yellow]{problem_count(result.problems)} left after the repair round[/]: see {where}", soft_wrap=True
            )
    if result.refine is not None and not as_json:
        out.print(closing_line(result.refine), soft_wrap=True)
    if result.debug is not None:
        finish_debug(result.debug, out, quiet=as_json)
    if result.problems:
        raise typer.Exit(EXIT_PROBLEMS)


def finish_debug(record: dict[str, Any], console: Console, *, quiet: bool) -> None:
    """The debug loop's closing line (unless ``quiet``); exit code 1 when it did not converge."""
    outcome = DebugResult(**{k: v for k, v in record.items() if k in DebugResult.__dataclass_fields__})
    finish(outcome, console, as_json=False, quiet=quiet)


def register(app: typer.Typer) -> None:
    """Add ``run`` to ``app``."""
    app.command("run", epilog=EXIT_CODES)(run)
