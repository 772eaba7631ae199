"""``papercoder debug RUN_DIR``: run the generated repository and let the model fix it until it runs."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._cli._common import (
    GpusOpt,
    ImageOpt,
    JsonOpt,
    Network,
    NetworkOpt,
    PriceInputOpt,
    PriceOutputOpt,
    PricesOpt,
    QuietOpt,
    SandboxKind,
    SandboxOpt,
    errors_to_exit,
)
from papercoder._cli.progress import ProgressView
from papercoder.errors import InputError
from papercoder.llm import registry
from papercoder.llm.pricing import apply_prices
from papercoder.llm.registry import ModelChoice
from papercoder.llm.urls import safe_url
from papercoder.pipeline.debugging import DebugNotConverged, DebugOptions, DebugResult, failure_message, open_run
from papercoder.pipeline.debugging import run as debug_run
from papercoder.repo.sandbox import SandboxSpec, choose_backend
from papercoder.run_dir import Manifest, RunDir
from papercoder.rundir_lock import hold

_KEY_NAME = re.compile(r"[A-Z][A-Z0-9_]*_API_KEY")


def model_of_run(
    manifest: Manifest,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    env: dict[str, str] | None = None,
) -> ModelChoice:
    """The run's own model unless the options name another (its key read from the same variable as then).

    A manifest's endpoint is data from a run directory, not the user's choice: the key is never sent there on
    its word alone. When the run used an OpenAI-compatible endpoint and the user named none (``--base-url``,
    ``PAPERCODER_BASE_URL``, ``OPENAI_BASE_URL``), that endpoint is used only if no key would be sent to it;
    otherwise a one-line error asks for ``--base-url``.
    """
    environ = dict(os.environ) if env is None else env
    recorded = manifest.model.base_url if manifest.model.provider == "compat" else None
    from_manifest = model is None and recorded is not None and registry.user_base_url(base_url, environ) is None
    if model is None:
        model = manifest.model.name or None
        if from_manifest:
            base_url = safe_url(recorded or "")  # credentials an older manifest may hold are not reused
    named = manifest.model.api_key_env
    # The manifest's key variable is data too: only a model key's name is honoured (OPENROUTER_API_KEY), never an
    # arbitrary variable (AWS_SECRET_ACCESS_KEY) that a crafted run directory would have sent as a bearer token.
    if api_key_env is None and named and _KEY_NAME.fullmatch(named) and environ.get(named):
        api_key_env = named
    choice = registry.resolve(model, base_url, api_key_env, env=environ)
    if from_manifest and choice.api_key_env is not None:
        raise InputError(
            f"this run used endpoint {choice.base_url}; pass --base-url {choice.base_url} to use it again "
            "(your key will be sent there)"
        )
    return choice


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


def debug_options(
    command: str | None, max_iters: int, timeout: float, venv: bool, sandbox: SandboxSpec | None = None
) -> DebugOptions:
    if command is not None and not command.strip():
        raise InputError('--cmd is empty; give the command to run, e.g. --cmd "python main.py"')
    sandbox = sandbox or SandboxSpec()
    return DebugOptions(command=command, max_iters=max_iters, timeout=timeout, venv=venv, sandbox=sandbox)


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
        sandbox: SandboxOpt = SandboxKind.auto,
        image: ImageOpt = None,
        gpus: GpusOpt = False,
        network: NetworkOpt = Network.install,
        memory: Annotated[
            float,
            typer.Option("--memory", min=0, help="GiB of address space per process in the sandbox (0: no limit)."),
        ] = 16.0,
        model: Annotated[str | None, typer.Option("--model", "-m", help="Default: the run's own model.")] = None,
        base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
        api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the key.")] = None,
        price_input: PriceInputOpt = None,
        price_output: PriceOutputOpt = None,
        prices: PricesOpt = None,
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Run the generated repository and fix it with the model until the command exits 0.

        Each run is sandboxed (bubblewrap by default: read-only system, empty home, private /tmp, only repo/ and
        the venv writable, no network, no view of other processes) in RUN_DIR/repo with a timeout that kills
        everything it started, an allow-listed environment (no API key of any name) and PAPERCODER_SMOKE=1 (the
        code's short check mode). With --venv, installing requirements.txt is a separate phase that has the
        network (--network install, the default); the command itself never does unless --network always. On a
        failure the model sees the error's tail and the files involved and answers SEARCH/REPLACE edits. Every
        iteration is kept in RUN_DIR/debug/iter-NN/. Exit code 1 when the command still fails after --max-iters
        fix rounds.

        Example: papercoder debug runs/tiny --cmd "python main.py" --max-iters 3 --timeout 300
        """
        out = Console(highlight=False)
        err = Console(stderr=True, highlight=False)
        with errors_to_exit():
            spec = SandboxSpec(sandbox.value, image, gpus, network.value, memory or None)
            options = debug_options(cmd, max_iters, timeout, venv, spec)
            manifest = RunDir(run_dir).load_manifest()
            if manifest is None:
                raise InputError(f"not a papercoder run directory (no readable manifest.json): {run_dir}")
            choose_backend(options.sandbox)  # no working sandbox: one line now, before the model is set up
            choice = model_of_run(manifest, model, base_url, api_key_env)
            apply_prices([choice.name], price_input, price_output, prices)
            view = ProgressView(err, enabled=not (quiet or as_json))
            with hold(run_dir, "debug"), view:  # one process at a time in a run dir (``rundir_lock``)
                ctx = open_run(run_dir, registry.build(choice), on_event=view)

                async def go() -> DebugResult:
                    try:
                        return await debug_run(ctx, options)
                    finally:
                        await ctx.model.aclose()

                outcome = asyncio.run(go())
            finish(outcome, out, as_json=as_json)
