"""``papercoder bench DIR --paperbench``: the options it adds to ``bench`` and what it does with them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from papercoder.errors import InputError
from papercoder.llm import registry

PaperBenchOpt = Annotated[
    bool,
    typer.Option(
        "--paperbench",
        help="DIR is PaperBench's data (papers/<id>/paper.md, addendum.md, rubric.json, config.yaml); grade in "
        "Code-Dev mode on each official rubric. Methods: papercoder, paper, abstract, each also as NAME+refine.",
    ),
]
PapersOpt = Annotated[str | None, typer.Option("--papers", help="With --paperbench: only these ids, comma-separated.")]
SeedsOpt = Annotated[
    int, typer.Option("--seeds", min=1, help="Runs per paper and generating method, seed k in <method>/seed-<k>/.")
]
RoundsOpt = Annotated[int, typer.Option("--refine-rounds", min=1, help="Rounds of a +refine method.")]
EstimateOpt = Annotated[
    bool, typer.Option("--estimate", help="With --paperbench: print the planned calls, tokens and cost; call nothing.")
]
BenchJsonOpt = Annotated[bool, typer.Option("--json", help="With --estimate: print JSON.")]
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", min=0, help="Stop (exit 3) before a call that could pass this USD.")
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Stop (exit 3) past this many tokens.")]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class PaperBenchArgs:
    """What ``bench --paperbench`` was given."""

    dataset: Path
    out_dir: Path | None
    methods: str
    papers: str | None
    seeds: int
    refine_rounds: int
    concurrency: int
    model: str | None
    judge_model: str | None
    base_url: str | None
    api_key_env: str | None
    reasoning_effort: str | None
    judge_reasoning_effort: str | None
    context_tokens: int | None
    estimate: bool
    as_json: bool
    max_cost: float | None
    max_tokens: int | None
    quiet: bool
    rpm: float | None
    tpm: float | None

    @classmethod
    def of(cls, options: dict[str, Any]) -> PaperBenchArgs:
        """From ``bench``'s options by name (the command passes ``locals()``: its parameters carry these names)."""
        return cls(**{name: options[name] for name in cls.__dataclass_fields__})


def _effort(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    ids = [p.strip() for p in text.split(",") if p.strip()]
    if not ids:
        raise InputError("--papers: name at least one paper id")
    return ids


def estimate(args: PaperBenchArgs) -> None:
    from papercoder.evaluation.paperbench import discover, parse_methods
    from papercoder.evaluation.paperbench_estimate import estimate_paperbench
    from papercoder.pipeline.estimate import is_reasoning_model

    env = dict(os.environ)
    for name in (args.model, args.judge_model):
        if name and not name.startswith("local/"):  # an estimate sends nothing: no key is needed
            env[args.api_key_env or "OPENAI_API_KEY"] = env.get(args.api_key_env or "OPENAI_API_KEY") or "estimate"
    choice = registry.resolve(args.model, args.base_url, args.api_key_env, env=env)
    judge = registry.resolve(args.judge_model or args.model, args.base_url, args.api_key_env, env=env)
    plan = estimate_paperbench(
        discover(args.dataset, _ids(args.papers)),
        parse_methods(args.methods),
        args.seeds,
        model=choice.name,
        judge=judge.name,
        reasoning=is_reasoning_model(choice.name, args.reasoning_effort),
        judge_reasoning=is_reasoning_model(judge.name, args.judge_reasoning_effort),
        refine_rounds=args.refine_rounds,
    )
    if args.as_json:
        out.print_json(json.dumps(plan))
        return
    for stage in plan["stages"]:  # type: ignore[attr-defined]
        cost = "unknown" if stage["cost_usd"] is None else f"${stage['cost_usd']:.2f}"
        out.print(
            f"{stage['stage']:>15}: {stage['calls']:>6} calls · {stage['prompt_tokens']:,} prompt + "
            f"{stage['completion_tokens']:,} completion tokens · {cost} ({escape(stage['model'])})"
        )
    total = plan["cost_usd"]
    cost = "unknown" if total is None else f"${total:.2f}"
    out.print(f"{'total':>15}: {plan['calls']:>6} calls · {cost}")


def paperbench_command(args: PaperBenchArgs) -> None:
    """Generate, refine when asked, grade on the official rubrics, write the tables (resumable)."""
    if args.estimate:
        estimate(args)
        return
    from papercoder._cli._common import run_closing
    from papercoder.evaluation.paperbench import PBConfig, parse_methods, run_paperbench
    from papercoder.evaluation.paperbench_report import write_results
    from papercoder.evaluation.rubric import JudgeSettings
    from papercoder.llm.budget import Budget
    from papercoder.settings import PipelineOptions

    config = PBConfig(
        methods=parse_methods(args.methods),
        seeds=args.seeds,
        refine_rounds=args.refine_rounds,
        concurrency=args.concurrency,
        judging=JudgeSettings(
            reasoning_effort=_effort(args.judge_reasoning_effort), context_tokens=args.context_tokens
        ),
        pipeline=PipelineOptions(reasoning_effort=_effort(args.reasoning_effort)),
    )
    papers = _ids(args.papers)
    target = args.out_dir or args.dataset.parent / f"{args.dataset.name}_paperbench"
    choice = registry.resolve(args.model, args.base_url, args.api_key_env)
    judge_choice = registry.resolve(args.judge_model or args.model, args.base_url, args.api_key_env)
    generator = registry.build(choice, rpm=args.rpm, tpm=args.tpm)
    judge = generator if judge_choice == choice else registry.build(judge_choice, rpm=args.rpm, tpm=args.tpm)
    budget = Budget(choice.name, max_cost_usd=args.max_cost, max_tokens=args.max_tokens)

    def progress(stage: str, message: str) -> None:
        if not args.quiet:
            text = escape(message)
            err.print(f"[yellow]warning:[/] {text}" if stage == "warning" else f"[bold cyan]{stage:>7}[/] {text}")

    records = run_closing(
        list({id(m): m for m in (generator, judge)}.values()),
        lambda: run_paperbench(
            args.dataset,
            target,
            config,
            choice=choice,
            model=generator,
            judge=judge,
            papers=papers,
            budget=budget,
            progress=progress,
        ),
    )
    paths = write_results(target, records, config.methods, config.seeds, judge.name)
    out.print((target / "results.md").read_text(encoding="utf-8").rstrip(), markup=False)
    out.print(f"[green]wrote[/] {escape(', '.join(str(p) for p in paths))}")
