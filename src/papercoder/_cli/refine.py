"""``papercoder refine RUN_DIR``: grade the repository against the paper's rubric and fix what fails, round by round
(``pipeline/refine.py``); also the step ``papercoder run --refine N`` takes after the pipeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from papercoder._api import get_model, refine_options
from papercoder._cli._common import PriceInputOpt, PriceOutputOpt, PricesOpt, errors_to_exit
from papercoder._cli.progress import ProgressView
from papercoder.errors import InputError
from papercoder.llm import registry
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.pricing import apply_prices
from papercoder.pipeline.refine import RefineResult
from papercoder.pipeline.refine import run as refine_run
from papercoder.run_dir import RunDir
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


def build_judge(
    judge_model: str | None, base_url: str | None, api_key_env: str | None, fallback: ChatModel
) -> ChatModel:
    """The grader: ``judge_model`` when named (same rules as ``--model``), else the generating model."""
    return fallback if judge_model is None else get_model(judge_model, base_url=base_url, api_key_env=api_key_env)


def closing_line(record: dict[str, Any]) -> str:
    """The one line a refine ends with (from ``RefineResult.record()``): the score per round, on which rubric, what
    was rolled back."""
    scores = " → ".join(f"{s:.4f}" for s in record["scores"])
    back = f" · {len(record['rolled_back'])} rolled back" if record["rolled_back"] else ""
    rounds = len(record["scores"]) - 1
    summary = Path(record["folder"]) / "summary.json"
    return (
        f"[green]refine[/] score {scores} over {rounds} round{'s' if rounds != 1 else ''} "
        f"({escape(record['label'])}; stopped: {escape(record['stopped'])}){back} · {escape(str(summary))}"
    )


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
        price_input: PriceInputOpt = None,
        price_output: PriceOutputOpt = None,
        prices: PricesOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")] = False,
    ) -> None:
        """Check the repository against the paper and fix what is missing, round by round.

        Each round grades the Code-Development leaves of the rubric (derived from the paper into RUN_DIR/rubric/,
        or --rubric FILE), asks for edits to the file that should hold each failed requirement, and keeps a file's
        edits only when the static checks find nothing new and the score does not drop. Records in
        RUN_DIR/refine/. A score on a derived rubric is self-derived, not a PaperBench score. Re-running resumes.

        Example: papercoder refine runs/paper --rounds 2 --judge-model openai/o3-mini --judge-reasoning-effort high
        """
        from papercoder._cli.debug import model_of_run
        from papercoder.pipeline.debugging import open_run

        out = Console(highlight=False)
        err = Console(stderr=True, highlight=False)
        with errors_to_exit():
            options = refine_options(rounds, rubric, judge_reasoning_effort, concurrency)
            manifest = RunDir(run_dir).load_manifest()
            if manifest is None:
                raise InputError(f"not a papercoder run directory (no readable manifest.json): {run_dir}")
            choice = model_of_run(manifest, model, base_url, api_key_env)
            budget = Budget(choice.name, max_cost_usd=max_cost, max_tokens=max_tokens)
            view = ProgressView(err, enabled=not (quiet or as_json))
            with hold(run_dir, "refine"), view:  # one process at a time in a run dir (``rundir_lock``)
                generator = registry.build(choice)
                judge = build_judge(judge_model, base_url, api_key_env, generator)
                apply_prices([generator.name, judge.name], price_input, price_output, prices)
                ctx = open_run(run_dir, generator, on_event=view, budget=budget)

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
                out.print(closing_line(result.record()), soft_wrap=True)
