"""Live progress of a run (per stage: done/total, tokens and cost so far, elapsed) and the closing summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from papercoder.llm.budget import Budget
from papercoder.run import Manifest

_COUNTED = re.compile(r"^(\d+)/(\d+)\s+(.*)$")
PLANNING_TURNS = 4


#: The progress "stage" under which a wait for the rate limiter is shown (``rate_wait_reporter``).
RATE_LIMIT = "rate-limit"


def rate_wait_reporter(progress: Callable[[str, str], None]) -> Callable[[float, str], None]:
    """A rate limiter's ``on_wait`` that shows each wait through the ``progress(stage, message)`` callback."""

    def report(seconds: float, reason: str) -> None:
        progress(RATE_LIMIT, f"waiting {seconds:.1f} s: {reason}")

    return report


def usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


class ProgressView:
    """A rich progress display fed by the pipeline's ``progress(stage, message)`` callback."""

    def __init__(self, console: Console, budget: Budget, *, enabled: bool = True) -> None:
        self.console = console
        self.budget = budget
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
        self.turns: dict[str, int] = {}

    def __enter__(self) -> ProgressView:
        return self  # the live display starts with the first stage, so an early error prints nothing else

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.tasks:
            self.progress.stop()

    def _spent(self) -> str:
        cost = usd(self.budget.spent_cost_usd) if self.budget.priced else "cost unknown"
        return f"{self.budget.spent_tokens:,} tokens · {cost}"

    def __call__(self, stage: str, message: str) -> None:
        if not self.enabled:
            return
        if stage == "warning":
            self.progress.console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)
            return
        if stage == RATE_LIMIT:
            self.progress.console.print(f"[dim]{stage:>9} {escape(message)}[/]", soft_wrap=True)
            return
        if stage == "report":
            self.progress.console.print(f"[bold cyan]{stage:>9}[/] {escape(message)}", soft_wrap=True)
            return
        task = self.tasks.get(stage)
        if task is None:
            if not self.tasks:
                self.progress.start()
            total = PLANNING_TURNS if stage == "planning" else 1
            task = self.progress.add_task(message, total=total, stage=stage, spent="")
            self.tasks[stage] = task
            # A new stage starts: the earlier ones are finished.
            for other, tid in self.tasks.items():
                if other != stage:
                    t = self.progress.tasks[tid]
                    self.progress.update(tid, completed=t.total)
        counted = _COUNTED.match(message)
        if counted:
            done, total, what = int(counted.group(1)), int(counted.group(2)), counted.group(3)
            # Coding reports the file it starts; analysis the file it finished.
            completed = done - 1 if stage == "coding" else done
            self.progress.update(task, total=total, completed=completed, description=what)
        elif stage == "planning":
            turn = self.turns.get(stage, 0)  # each planning message starts the next turn
            self.progress.update(task, completed=turn, description=message)
            self.turns[stage] = turn + 1
        else:
            self.progress.update(task, description=message)
        self.progress.update(task, spent=self._spent())

    def finish(self) -> None:
        for tid in self.tasks.values():
            self.progress.update(tid, completed=self.progress.tasks[tid].total, spent=self._spent())


def problem_count(problems: list[str]) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def summary_table(manifest: Manifest) -> Table:
    """Per stage: status, calls (from cache), tokens (cached share), cost and time."""
    table = Table(title=f"{manifest.paper.get('title') or 'run'} · {manifest.model.name}")
    for column in ("stage", "status", "calls", "prompt", "cached", "completion", "cost", "time"):
        table.add_column(
            column, justify="left" if column in ("stage", "status") else "right", no_wrap=column == "status"
        )
    for name, record in manifest.stages.items():
        if record.status == "pending":
            continue
        u = record.usage
        share = f"{u.cached_tokens:,} ({u.cached_tokens / u.prompt_tokens:.0%})" if u.prompt_tokens else "0"
        calls = f"{record.calls}" + (f" ({record.cached_calls} cached)" if record.cached_calls else "")
        table.add_row(
            name,
            record.status,
            calls,
            f"{u.prompt_tokens:,}",
            share,
            f"{u.completion_tokens:,}",
            usd(record.cost_usd),
            f"{record.wall_s:.1f}s",
        )
    total = manifest.total_usage()
    colour = {"done": "green", "failed": "red"}.get(manifest.status, "yellow")
    if manifest.problems:
        table.caption = f"[yellow]{problem_count(manifest.problems)} left after the repair round: see checks.json[/]"
    table.add_row(
        "total",
        f"[{colour}]{manifest.status}[/]",
        str(sum(r.calls for r in manifest.stages.values())),
        f"{total.prompt_tokens:,}",
        f"{total.cached_tokens:,}",
        f"{total.completion_tokens:,}",
        usd(manifest.total_cost()),
        f"{sum(r.wall_s for r in manifest.stages.values()):.1f}s",
    )
    return table
