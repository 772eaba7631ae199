"""``papercoder refine RUN_DIR``: grade the repository against the paper's rubric and fix what fails, round by round
(``pipeline/refine.py``); also the step ``papercoder run --refine N`` takes after the pipeline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papercoder.errors import InputError
from papercoder.evaluation.rubric import JudgeSettings
from papercoder.llm import registry
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.refine import RefineOptions, RefineResult
from papercoder.pipeline.refine import run as refine_run
from papercoder.run import RunDir
from papercoder.rundir_lock import hold

RubricOpt = Annotated[
    Path | None,
    typer.Option(
        "--rubric",
        help="Grade on this rubric tree (an official PaperBench rubric.json) instead of one derived from the paper.",
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option("--judge-model", help="The grader: openai/NAME or NAME with --base-url (default: the run's model)."),
]
JudgeEffortOpt = Annotated[
    str | None, typer.Option("--judge-reasoning-effort", help="For a reasoning grader: low, medium or high.")
]


@contextmanager
def _guard() -> Iterator[None]:
    from papercoder.cli import errors_to_exit  # cli.py imports this module to register the command

    with errors_to_exit():
        yield


def options_for(rounds: int, rubric: Path | None, effort: str | None, concurrency: int = 4) -> RefineOptions:
    """The refine options from the command line; a missing rubric file is refused before any call."""
    if rubric is not None and not rubric.is_file():
        raise InputError(f"rubric not found: {rubric}")
    judging = JudgeSettings(concurrency=concurrency, reasoning_effort=effort.strip().lower() if effort else None)
    return RefineOptions(rounds=rounds, rubric=rubric, judging=judging)


def build_judge(
    judge_model: str | None, base_url: str | None, api_key_env: str | None, fallback: ChatModel
) -> ChatModel:
    """The grader: ``judge_model`` when named (same rules as ``--model``), else the generating model."""
    if judge_model is None:
        return fallback
    return registry.build(registry.resolve(judge_model, base_url, api_key_env))


def closing_line(result: RefineResult) -> str:
    """The one line a refine ends with: the score per round, on which rubric, what was rolled back."""
    scores = " → ".join(f"{s:.4f}" for s in result.scores)
    back = f" · {len(result.rolled_back)} rolled back" if result.rolled_back else ""
    rounds = len(result.scores) - 1
    return (
        f"[green]refine[/] score {scores} over {rounds} round{'s' if rounds != 1 else ''} ({escape(result.label)}; "
        f"stopped: {escape(result.stopped)}){back} · {escape(str(result.folder / 'summary.json'))}"
    )


async def refine_after_run(ctx: RunContext, options: RefineOptions, judge: ChatModel) -> RefineResult:
    """``run --refine N``: the loop on the run just made, in the same event loop and under the same lock."""
    return await refine_run(ctx, options, judge)


def register(app: typer.Typer) -> None:
    """Add the ``refine`` command to ``app``."""

    @app.command("refine")
    def refine_command(
        run_dir: Annotated[Path, typer.Argument(help="The run directory (the folder holding manifest.json).")],
        rounds: Annotated[int, typer.Option("--rounds", min=1, help="Grade-and-fix rounds at most.")] = 1,
        rubric: RubricOpt = None,
        judge_model: JudgeOpt = None,
        judge_reasoning_effort: JudgeEffortOpt = None,
        model: Annotated[str | None, typer.Option("--model", "-m", help="Default: the run's own model.")] = None,
        base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
        api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the key.")] = None,
        concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Leaves graded at once.")] = 4,
        max_cost: Annotated[
            float | None,
            typer.Option("--max-cost", min=0, help="Stop (exit 3) before a call that could pass this USD."),
        ] = None,
        max_tokens: Annotated[
            int | None, typer.Option("--max-tokens", min=1, help="Stop (exit 3) before passing this many tokens.")
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the result line.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")] = False,
    ) -> None:
        """Check the repository against the paper and fix what is missing, round by round.

        Each round grades the Code-Development leaves of the rubric (derived from the paper into RUN_DIR/rubric/,
        or --rubric FILE), asks for edits to the file that should hold each failed requirement, and keeps a file's
        edits only when the static checks find nothing new and the score does not drop. Records in
        RUN_DIR/refine/. A score on a derived rubric is self-derived, not a PaperBench score. Re-running resumes.

        Example: papercoder refine runs/paper --rounds 2 --judge-model openai/o3-mini --judge-reasoning-effort high
        """
        from papercoder.commands.debug import model_of_run
        from papercoder.pipeline.debugging import open_run

        out = Console(highlight=False)
        err = Console(stderr=True, highlight=False)
        with _guard():
            options = options_for(rounds, rubric, judge_reasoning_effort, concurrency)
            manifest = RunDir(run_dir).load_manifest()
            if manifest is None:
                raise InputError(f"not a papercoder run directory (no readable manifest.json): {run_dir}")
            choice = model_of_run(manifest, model, base_url, api_key_env)
            budget = Budget(choice.name, max_cost_usd=max_cost, max_tokens=max_tokens)
            chatty = not (quiet or as_json)

            def progress(stage: str, message: str) -> None:
                if chatty:
                    err.print(f"[bold cyan]{stage:>9}[/] {escape(message)}", soft_wrap=True)

            with hold(run_dir, "refine"):  # one process at a time in a run dir (``rundir_lock``)
                generator = registry.build(choice)
                judge = build_judge(judge_model, base_url, api_key_env, generator)
                ctx = open_run(run_dir, generator, progress=progress, budget=budget)

                async def go() -> RefineResult:
                    try:
                        return await refine_run(ctx, options, judge)
                    finally:
                        await generator.aclose()
                        if judge is not generator:
                            await judge.aclose()

                result = asyncio.run(go())
            if as_json:
                out.print_json(json.dumps(result.record()))
            else:
                out.print(closing_line(result), soft_wrap=True)
