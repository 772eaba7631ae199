"""Live progress of a run (per stage: done/total, tokens and cost so far, elapsed) and the closing summary.

The view is fed the run's typed events (``papercoder._events``): a stage's bar starts when its first call is sent,
moves on ``StageProgress``, and is filled only when the stage finishes without failing.
"""

from __future__ import annotations

from types import TracebackType

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from papercoder._events import (
    CallFinished,
    CallStarted,
    Event,
    Note,
    RunWarning,
    StageFinished,
    StageProgress,
    StageStarted,
)
from papercoder.llm.base import CallSettings, ChatModel, Completion, Message, ModelWrapper
from papercoder.llm.pricing import cost_usd
from papercoder.run_dir import Manifest


def usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


class ProgressView:
    """A rich progress display: call it with each event of a run."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold cyan]{task.fields[stage]:>9}[/] {task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[spent]}"),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self.tasks: dict[str, TaskID] = {}
        self.totals: dict[str, int] = {}  # from StageStarted, for the bar the first call starts
        self.pending: dict[str, StageProgress] = {}  # progress said before the stage's first call
        self.tokens = 0
        self.cost: float | None = 0.0

    def __enter__(self) -> ProgressView:
        return self  # the live display starts with the first call, so an early error prints nothing else

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.tasks:
            self.progress.stop()

    def _spent(self) -> str:
        return f"{self.tokens:,} tokens · {usd(self.cost) if self.cost is not None else 'cost unknown'}"

    def _print(self, text: str) -> None:
        self.progress.console.print(text, soft_wrap=True)

    def _bar(self, stage: str) -> TaskID:
        task = self.tasks.get(stage)
        if task is None:
            if not self.tasks:
                self.progress.start()
            total = self.totals.get(stage, 1)
            task = self.progress.add_task("", total=total, stage=stage, spent=self._spent())
            self.tasks[stage] = task
            said = self.pending.pop(stage, None)
            if said is not None:
                self.progress.update(task, total=said.total, completed=said.completed, description=escape(said.item))
        return task

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, RunWarning):
            self._print(f"[yellow]warning:[/] {escape(event.message)}")
        elif isinstance(event, StageStarted):
            self.totals[event.stage] = event.total
        elif isinstance(event, CallStarted):
            self._bar(event.stage)
        elif isinstance(event, CallFinished):
            self.tokens += event.usage.prompt_tokens + event.usage.completion_tokens
            self.cost = None if event.cost_usd is None or self.cost is None else self.cost + event.cost_usd
            if event.stage in self.tasks:
                self.progress.update(self.tasks[event.stage], spent=self._spent())
        elif isinstance(event, StageProgress):
            if event.stage in self.tasks:
                self.progress.update(
                    self.tasks[event.stage],
                    total=event.total,
                    completed=event.completed,
                    description=escape(event.item),
                )
            else:
                self.pending[event.stage] = event
        elif isinstance(event, StageFinished):
            self._finished(event)
        elif isinstance(event, Note):
            if event.stage in self.tasks:
                self.progress.update(self.tasks[event.stage], description=escape(event.message))
            if event.lasting or event.stage not in self.tasks:
                self._print(f"[bold cyan]{event.stage:>9}[/] {escape(event.message)}")

    def _finished(self, event: StageFinished) -> None:
        task = self.tasks.get(event.stage)
        if task is None:
            return
        if event.status == "failed":  # the bar stays where the stage stopped
            self.progress.update(task, description=f"[red]failed[/] {escape(event.error or '')}")
            return
        self.progress.update(task, completed=self.progress.tasks[task].total, spent=self._spent())

    def finish(self) -> None:
        """Stop the live display (bars keep what their stages reached)."""
        if self.tasks:
            self.progress.refresh()


def problem_count(problems: list[str]) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def summary_table(manifest: Manifest) -> Table:
    """Per stage: status, calls (from cache), prompt tokens and their cached share, output tokens, cost and time;
    laid out to fit 80 columns (no vertical rules; the run's status, which can be long, in the caption)."""
    colour = {"done": "green", "failed": "red"}.get(manifest.status, "yellow")
    table = Table(
        title=f"{manifest.paper.title or 'run'} · {manifest.model.name}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=f"run [{colour}]{manifest.status}[/]"
        + (f" · [yellow]{problem_count(manifest.problems)} left: see checks.json[/]" if manifest.problems else ""),
    )
    for column in ("stage", "status", "calls", "prompt", "cached", "output", "cost", "time"):
        table.add_column(column, justify="left" if column in ("stage", "status") else "right", no_wrap=True)
    for name, record in manifest.stages.items():
        if record.status == "pending":
            continue
        u = record.usage
        calls = f"{record.calls}" + (f" ({record.cached_calls}⟲)" if record.cached_calls else "")
        table.add_row(
            name,
            record.status,
            calls,
            f"{u.prompt_tokens:,}",
            _share(u.cached_tokens, u.prompt_tokens),
            f"{u.completion_tokens:,}",
            usd(record.cost_usd),
            f"{record.wall_s:.1f}s",
        )
    total = manifest.total_usage()
    table.add_row(
        "total",
        "",
        str(sum(r.calls for r in manifest.stages.values())),
        f"{total.prompt_tokens:,}",
        _share(total.cached_tokens, total.prompt_tokens),
        f"{total.completion_tokens:,}",
        usd(manifest.total_cost()),
        f"{sum(r.wall_s for r in manifest.stages.values()):.1f}s",
        style="bold",
    )
    return table


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


class CallCount(ModelWrapper):
    """A model that shows each answer it gives on a live bar: judge samples for ``eval``, rubric leaves for
    ``grade``. ``per`` counts one answer as its number of texts (samples drawn with ``n``) or as one."""

    def __init__(
        self, inner: ChatModel, console: Console, label: str, total: int, *, per: str = "call", enabled: bool = True
    ) -> None:
        super().__init__(inner)
        self.per = per
        self.tokens = 0
        self.cost: float | None = 0.0
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"[bold cyan]{escape(label):>9}[/] {{task.description}}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[spent]}"),
            console=console,
            disable=not enabled,
        )
        self.task = self.progress.add_task("leaves" if per == "leaf" else per + "s", total=total, spent="")

    def __enter__(self) -> CallCount:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    async def complete(self, messages: list[Message], settings: CallSettings) -> Completion:
        done = await self.inner.complete(messages, settings)
        self.tokens += done.usage.prompt_tokens + done.usage.completion_tokens
        cost = cost_usd(self.inner.name, done.usage)
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        spent = f"{self.tokens:,} tokens · {usd(self.cost) if self.cost is not None else 'cost unknown'}"
        step = len(done.texts) if self.per == "sample" else 1
        self.progress.update(self.task, advance=step, spent=spent + (" (cached)" if done.from_cache else ""))
        return done
