"""``bench --debug``: run and fix one generated repository before it is judged, resumably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from papercoder._events import as_lines
from papercoder.evaluation.bench import ProgressFn
from papercoder.llm.base import ChatModel
from papercoder.pipeline.debugging import DebugOptions, open_run
from papercoder.pipeline.debugging import run as debug_run
from papercoder.rundir_lock import hold


async def debug_run_dir(root: Path, model: ChatModel, options: DebugOptions, progress: ProgressFn) -> dict[str, Any]:
    """The debug loop's summary for the run dir ``root``, running the loop only when no earlier bench finished it.

    A finished loop (``debug/summary.json``, converged or not) is kept: re-running the benchmark resumes rather
    than runs the generated code again. The loop itself is ``papercoder debug``'s (sandboxed, fix rounds).
    """
    summary = root / "debug" / "summary.json"
    if not summary.is_file():
        with hold(root, "bench --debug"):  # one process at a time in a run dir, as `papercoder debug`
            await debug_run(open_run(root, model, on_event=as_lines(progress)), options)
    loaded: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    return loaded
