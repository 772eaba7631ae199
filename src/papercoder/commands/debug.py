"""``papercoder debug RUN_DIR``: run the generated repository and let the model fix it until it runs."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papercoder.errors import InputError
from papercoder.llm import registry
from papercoder.llm.registry import ModelChoice
from papercoder.pipeline.debugging import DebugNotConverged, DebugOptions, DebugResult, failure_message, open_run
from papercoder.pipeline.debugging import run as debug_run
from papercoder.run import Manifest, RunDir
from papercoder.rundir_lock import hold


@contextmanager
def _guard() -> Iterator[None]:
    from papercoder.cli import errors_to_exit  # cli.py imports this module to register the command

    with errors_to_exit():
        yield


def model_of_run(manifest: Manifest, model: str | None, base_url: str | None, api_key_env: str | None) -> ModelChoice:
    """The run's own model unless the options name another (its key read from the same variable as then)."""
    if model is None:
        model = manifest.model.name or None
        if base_url is None and manifest.model.provider == "compat":
            base_url = manifest.model.base_url
    if api_key_env is None and manifest.model.api_key_env and os.environ.get(manifest.model.api_key_env):
        api_key_env = manifest.model.api_key_env
    return registry.resolve(model, base_url, api_key_env)


def summary_line(outcome: DebugResult) -> str:
    """The closing line of a converged loop."""
    return (
        f"[green]debug[/] `{escape(outcome.command)}` exits 0 after {outcome.fixes} fix iteration"
        f"{'s' if outcome.fixes != 1 else ''} ({outcome.runs} runs) · {outcome.modified_lines} of "
        f"{outcome.total_lines} lines modified ({outcome.modified_ratio:.2%}) · logs in {escape(outcome.log_dir)}/"
    )


def finish(outcome: DebugResult, console: Console, *, as_json: bool, quiet: bool = False) -> None:
    """Print the outcome (as JSON, or its closing line unless ``quiet``); a loop that did not converge raises
    (exit code 1, one line)."""
    if as_json:
        console.print_json(json.dumps(outcome.record()))
    if not outcome.converged:
        raise DebugNotConverged(failure_message(outcome))
    if not (as_json or quiet):
        console.print(summary_line(outcome), soft_wrap=True)


def debug_options(command: str | None, max_iters: int, timeout: float, venv: bool) -> DebugOptions:
    if command is not None and not command.strip():
        raise InputError('--cmd is empty; give the command to run, e.g. --cmd "python main.py"')
    return DebugOptions(command=command, max_iters=max_iters, timeout=timeout, venv=venv)


def register(app: typer.Typer) -> None:
    """Add the ``debug`` command to ``app``."""

    @app.command("debug")
    def debug_command(
        run_dir: Annotated[Path, typer.Argument(help="The run directory (the folder holding manifest.json).")],
        cmd: Annotated[
            str | None,
            typer.Option("--cmd", help="The command to run in repo/ (default: python ENTRY, the entry point)."),
        ] = None,
        max_iters: Annotated[
            int, typer.Option("--max-iters", min=0, help="Fix rounds at most; the command runs once more after each.")
        ] = 3,
        timeout: Annotated[
            float, typer.Option("--timeout", min=1, help="Seconds one run may take; then its process group is killed.")
        ] = 600.0,
        venv: Annotated[
            bool, typer.Option("--venv", help="Run in RUN_DIR/venv with requirements.txt installed.")
        ] = False,
        model: Annotated[str | None, typer.Option("--model", "-m", help="Default: the run's own model.")] = None,
        base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
        api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the key.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the result line.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")] = False,
    ) -> None:
        """Run the generated repository and fix it with the model until the command exits 0.

        Each run is a subprocess in RUN_DIR/repo with a timeout, no API keys or tokens in its environment, and
        PAPERCODER_SMOKE=1 (the code's short check mode). On a failure the model sees the error's tail and the
        files involved and answers SEARCH/REPLACE edits. Every iteration is kept in RUN_DIR/debug/iter-NN/.
        Exit code 1 when the command still fails after --max-iters fix rounds.

        Example: papercoder debug runs/tiny --cmd "python main.py" --max-iters 3 --timeout 300
        """
        out = Console(highlight=False)
        err = Console(stderr=True, highlight=False)
        with _guard():
            options = debug_options(cmd, max_iters, timeout, venv)
            manifest = RunDir(run_dir).load_manifest()
            if manifest is None:
                raise InputError(f"not a papercoder run directory (no readable manifest.json): {run_dir}")
            choice = model_of_run(manifest, model, base_url, api_key_env)
            chatty = not (quiet or as_json)

            def progress(stage: str, message: str) -> None:
                if chatty:
                    err.print(f"[bold cyan]{stage:>9}[/] {escape(message)}", soft_wrap=True)

            with hold(run_dir, "debug"):  # one process at a time in a run dir (``rundir_lock``)
                ctx = open_run(run_dir, registry.build(choice), progress=progress)

                async def go() -> DebugResult:
                    try:
                        return await debug_run(ctx, options)
                    finally:
                        await ctx.model.aclose()

                outcome = asyncio.run(go())
            finish(outcome, out, as_json=as_json)
