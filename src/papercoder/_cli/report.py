"""``papercoder report`` and ``papercoder runs``: thin commands over ``papercoder.report``."""

from __future__ import annotations

import json
import os
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from papercoder._cli._common import errors_to_exit, warn
from papercoder.report import RunRow, list_runs, write_report
from papercoder.report.load import load_manifest


def _console() -> Console:
    # Made per command, so the terminal's width (COLUMNS) is read when the command runs.
    return Console(highlight=False)


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="The run directory (the folder holding manifest.json).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the HTML (default RUN_DIR/report.html).")
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the report in the default browser.")] = False,
) -> None:
    """Write one self-contained HTML report of a run: paper, plan, diagrams, code, cost; it works offline.

    Example: papercoder report runs/tiny --open
    """
    with errors_to_exit():
        out = _console()
        load_manifest(run_dir)  # a missing or unreadable manifest is an input error (exit 2)
        path = write_report(run_dir, output)
        out.print(f"[green]report[/] {escape(str(path))} ({path.stat().st_size / 1e6:.1f} MB)")
        if open_browser and not _open(path):
            warn(f"no browser could open it here (no display?); open {path.resolve()} where you have one")


def _open(path: Path) -> bool:
    """Open the report in a browser; False when there is none to open it (a server without a display, where
    ``webbrowser`` would find no GUI browser or start a text one in this terminal)."""
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and not os.environ.get("BROWSER"):
        return False
    try:
        return webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        return False


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _when(iso: str) -> str:
    """``2025-01-02T03:04:05+00:00`` → ``2025-01-02 03:04`` (UTC, as recorded)."""
    return iso[:16].replace("T", " ") if len(iso) >= 16 and iso[10] == "T" else iso


def _scores(row: RunRow) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in row.scores.items()) or "—"


def runs_command(
    root: Annotated[Path, typer.Argument(help="The folder to search, two levels deep.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON on stdout.")] = False,
) -> None:
    """List the runs under a folder (default runs/): status, model, files, tokens, cost, scores, last update.

    Example: papercoder runs runs/
    """
    with errors_to_exit():
        out = _console()
        rows = list_runs(root)
        if as_json:
            data = [
                {
                    "name": r.name,
                    "path": str(r.path),
                    "status": r.status,
                    "model": r.model,
                    "files": r.files,
                    "tokens": r.tokens,
                    "cost_usd": r.cost_usd,
                    "score": r.score,
                    "scores": r.scores,
                    "updated": r.updated,
                    "error": r.error,
                }
                for r in rows
            ]
            out.print_json(json.dumps(data))
            return
        if not rows:
            out.print(f"no runs under {escape(str(root))} (a run directory holds a manifest.json)")
            return
        table = Table(title=f"Runs under {root}")
        for column in ("name", "status", "model", "files", "tokens", "cost", "score", "updated (UTC)"):
            right = column in ("files", "tokens", "cost", "score")
            table.add_column(column, justify="right" if right else "left", no_wrap=column == "status")
        colours = {
            "done": "green",
            "done-with-problems": "yellow",
            "failed": "red",
            "running": "yellow",
            "interrupted": "magenta",
            "unreadable": "red",
        }
        for r in rows:
            colour = colours.get(r.status, "white")
            table.add_row(
                escape(r.name),
                f"[{colour}]{escape(r.status)}[/]",
                escape(r.model) or "—",
                str(r.files),
                f"{r.tokens:,}",
                _usd(r.cost_usd),
                escape(_scores(r)),
                escape(_when(r.updated)),
            )
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``runs`` to ``app``."""
    app.command("report")(report_command)
    app.command("runs")(runs_command)
