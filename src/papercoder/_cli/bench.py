"""``papercoder bench``: every method on every paper of a dataset, judged (``papercoder.evaluation.bench``), or
PaperBench's layout with ``--paperbench`` (``_cli/paperbench.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from papercoder._cli import paperbench as pb
from papercoder._cli._common import (
    BaseUrlOpt,
    ContextOpt,
    JudgeModelOpt,
    KeyEnvOpt,
    ModelOpt,
    PriceInputOpt,
    PriceOutputOpt,
    PricesOpt,
    RpmOpt,
    TpmOpt,
    err,
    errors_to_exit,
    out,
    run_closing,
    warn,
)
from papercoder.errors import InputError
from papercoder.llm import registry
from papercoder.llm.pricing import apply_prices
from papercoder.llm.ratelimit import wait_line


def _effort(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def bench_command(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="Folder of papers, optionally grouped in subfolders, with gold "
            "repos as <paper>_gold/ or gold/<paper>/."
        ),
    ],
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            help="Comma-separated methods of `papercoder run --method`, oracle (the gold repository), or ablation "
            "(the paper's ablation ladder: coding-only, with-plan, with-architecture, with-logic, with-config, "
            "papercoder).",
        ),
    ] = "papercoder,paper,abstract",
    eval_modes: Annotated[
        str, typer.Option("--eval", help="ref-free, ref-based, or both comma-separated.")
    ] = "ref-free",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Papers processed at once.")] = 2,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder (default: <DATASET_DIR>_bench beside it). With --executor ray on a cluster it must be "
            "storage every node sees at the same path (a shared filesystem): the workers write the run dirs there.",
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Judge samples per repository.")] = 8,
    executor: Annotated[
        str,
        typer.Option("--executor", help="local (this process) or ray (Ray tasks; pip install 'papercoder\\[ray]')."),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Join this Ray cluster (e.g. HEAD:6379); default: a local Ray runtime."),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Run and fix each generated repository (as `papercoder debug`) first.")
    ] = False,
    task_cpus: Annotated[
        float, typer.Option("--task-cpus", min=0, help="With --executor ray --debug: CPUs a debug task asks for.")
    ] = 1.0,
    task_gpus: Annotated[
        float, typer.Option("--task-gpus", min=0, help="With --executor ray --debug: GPUs a debug task asks for.")
    ] = 0.0,
    model: ModelOpt = None,
    judge_model: JudgeModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    reasoning_effort: Annotated[
        str | None, typer.Option("--reasoning-effort", help="For a reasoning generating model.")
    ] = None,
    judge_reasoning_effort: Annotated[
        str | None, typer.Option("--judge-reasoning-effort", help="For a reasoning judge.")
    ] = None,
    context_tokens: ContextOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results.")] = False,
    paperbench: pb.PaperBenchOpt = False,
    papers: pb.PapersOpt = None,
    seeds: pb.SeedsOpt = 1,
    refine_rounds: pb.RoundsOpt = 1,
    estimate: pb.EstimateOpt = False,
    as_json: pb.BenchJsonOpt = False,
    max_cost: pb.MaxCostOpt = None,
    max_tokens: pb.MaxTokensOpt = None,
    price_input: PriceInputOpt = None,
    price_output: PriceOutputOpt = None,
    prices: PricesOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
) -> None:
    """Run methods on every paper of DATASET_DIR, judge them, and write a Table-1-style summary (Markdown, CSV).

    Re-running resumes. Example: papercoder bench bench/ --methods papercoder,paper --eval ref-free,ref-based.
    With --paperbench, DATASET_DIR is PaperBench's data: papercoder bench paperbench/data --paperbench --methods
    papercoder,papercoder+refine --seeds 3 --judge-model openai/o3-mini --judge-reasoning-effort high
    """
    if paperbench:  # PaperBench's layout and Code-Dev grading (``_cli/paperbench.py``)
        with errors_to_exit():
            if executor != "local" or ray_address or debug:
                raise InputError("--executor ray, --ray-address and --debug are not for --paperbench yet; drop them")
            return pb.paperbench_command(pb.PaperBenchArgs.of(locals()))
    from papercoder.evaluation.bench import BenchConfig, parse_methods, parse_modes
    from papercoder.evaluation.bench_report import write_results
    from papercoder.evaluation.executors import make_executor, run_bench
    from papercoder.pipeline.debugging import DebugOptions
    from papercoder.repo.sandbox import SandboxSpec
    from papercoder.settings import PipelineOptions

    with errors_to_exit():
        config = BenchConfig(
            methods=parse_methods(methods),
            modes=parse_modes(eval_modes),
            n=n,
            concurrency=concurrency,
            context_tokens=context_tokens,
            judge_reasoning_effort=_effort(judge_reasoning_effort),
            pipeline=PipelineOptions(reasoning_effort=_effort(reasoning_effort)),
            seeds=seeds,
            debug=DebugOptions(sandbox=SandboxSpec(gpus=task_gpus > 0)) if debug else None,
            rpm=rpm,
            tpm=tpm,
        )
        runner = make_executor(executor, ray_address, task_cpus=task_cpus, task_gpus=task_gpus)
        target = out_dir or dataset.parent / f"{dataset.name}_bench"
        choice = registry.resolve(model, base_url, api_key_env)
        judge_choice = registry.resolve(judge_model or model, base_url, api_key_env)
        apply_prices([choice.name, judge_choice.name], price_input, price_output, prices)
        for warning in {c.demo_warning for c in (choice, judge_choice) if c.demo_warning}:
            warn(warning)

        def progress(stage: str, message: str) -> None:
            if not quiet:
                text = escape(message)
                err.print(f"[yellow]warning:[/] {text}" if stage == "warning" else f"[bold cyan]{stage:>7}[/] {text}")

        def rate_wait(seconds: float, reason: str) -> None:
            progress("rate-limit", wait_line(seconds, reason))

        # In this process the limits are the process's limiter per model; Ray workers share one per model instead.
        generator = registry.build(choice, rpm=rpm, tpm=tpm, on_rate_wait=rate_wait)
        judge = generator
        if judge_choice != choice:
            judge = registry.build(judge_choice, rpm=rpm, tpm=tpm, on_rate_wait=rate_wait)

        records = run_closing(
            list({id(m): m for m in (generator, judge)}.values()),
            lambda: run_bench(
                dataset,
                target,
                config,
                choice=choice,
                model=generator,
                judge=judge,
                progress=progress,
                executor=runner,
                judge_choice=judge_choice,
            ),
        )
        paths = write_results(target, records, config.methods, config.modes, judge.name, n)
        out.print((target / "results.md").read_text(encoding="utf-8").split("\n## ")[0].rstrip(), markup=False)
        out.print(f"[green]wrote[/] {escape(', '.join(str(p) for p in paths))}")


def register(app: typer.Typer) -> None:
    """Add ``bench`` to ``app``."""
    app.command("bench")(bench_command)
