"""How cost grows with the repository and the paper: a table, not a timed test.

Coding: for plans of 5, 10, 20, 40 and 80 files (``scale_shape.py``: each module imports its predecessor, main.py
imports all) and each coding order, one run against the loopback fake server in a process of its own, paced like
a real model (``LatencyModel``, every duration times ``--time-scale``), with a 128k context window declared. Per run:
calls; coding-prompt tokens, whole-run prompt tokens and its uncached part (as the server counted them); the largest
coding prompt (cl100k tokens) and the files attached as interfaces to fit or left out (``coding/context.json``);
wall time against the critical path (the longest chain of calls that must follow one another, from the durations
the server measured; the run's ``--concurrency`` of 8 chains the analysis calls too: the 9th starts when one of the
first 8 ends). Then the log-log growth exponent of coding-prompt tokens per order.

PDF: the shared paper (15 pages) and copies of it made with PyMuPDF (60, 300 pages), read with layout analysis at
``--jobs 1`` and ``--jobs 2``, each in a fresh process: pages per second, peak memory (the process, and the
largest worker), and whether the two texts are the same (every differing line is listed when not).

The default time scale, 0.1, paces the server ten times faster than o3-mini: our own work per call (about 10 ms)
is a fixed cost, which a faster scale would magnify against the calls (at 0.01, wall/critical at 80 files reads
1.26-1.31 for the same 10 ms). The ``ms/call over`` column gives that cost directly, whatever the scale.

Run: ``python benchmarks/scale.py [--time-scale 0.1] [--sizes 5,10,20,40,80] [--orders dag,auto] [--no-pdf]
[--no-coding]``.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import math
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import scale_shape  # noqa: E402
from benchmarks.speed_shape import critical_path, paper_markdown  # noqa: E402

import papercoder  # noqa: E402
from papercoder import _engine  # noqa: E402
from papercoder.llm.openai_compat import OpenAICompatModel  # noqa: E402
from papercoder.paper.tokens import count_tokens  # noqa: E402
from papercoder.run_dir import RunDir  # noqa: E402

LATENCY = {"ttft_s": 0.8, "output_tokens_per_s": 150.0, "prefill_tokens_per_s": 5000.0, "cached_discount": 1.0}
WINDOW = 128_000
CONCURRENCY = 8
ORDERS = ("sequential", "dag", "auto")
PLANNING = ["planning/plan", "planning/architecture", "planning/logic", "planning/config"]
SHARED_PDF = ROOT / ".." / "shared" / "examples" / "attention" / "paper.pdf"


class ReportClock:
    """Times the HTML report written after the last call (the same in every schedule), to leave it out of wall."""

    def __init__(self) -> None:
        self.wall = 0.0
        self._inner = getattr(_engine, "_write_report", None)
        if self._inner is not None:
            setattr(_engine, "_write_report", self)  # noqa: B010 - the attribute may go; then nothing is timed

    def __call__(self, ctx: Any) -> None:
        start = time.perf_counter()
        assert self._inner is not None
        self._inner(ctx)
        self.wall = time.perf_counter() - start


REPORT = ReportClock()


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def slots(steps: list[str], durations: dict[str, float], cap: int) -> dict[str, list[str]]:
    """For calls that all start together but at most ``cap`` at a time, in order (the analysis stage at
    ``--concurrency``): the earlier call whose end frees the slot each one takes, in the tightest such schedule of
    the measured durations. A chain of calls that must follow one another too: the run cannot start more at once."""
    ends: list[tuple[float, str]] = []  # (end, step) of the calls holding a slot
    needs: dict[str, list[str]] = {}
    for step in steps:
        start, freed = 0.0, []
        if len(ends) == cap:
            ends.sort()
            start, first = ends.pop(0)
            freed = [first]
        needs[step] = freed
        ends.append((start + durations.get(step, 0.0), step))
    return needs


def prerequisites(
    files: list[str], context: dict[str, Any], dag: dict[str, Any] | None, durations: dict[str, float]
) -> dict[str, list[str]]:
    """For each call, the calls that must finish before it starts, as the run scheduled them."""
    needs: dict[str, list[str]] = {step: PLANNING[:i][-1:] for i, step in enumerate(PLANNING)}
    analyses = [f"analysis/{f}" for f in files]
    needs.update({step: ["planning/config", *slot] for step, slot in slots(analyses, durations, CONCURRENCY).items()})
    sequential = [f for f in files if context["files"][f]["order"] == "sequential"]
    for i, path in enumerate(sequential):
        needs[f"coding/{path}"] = analyses + [f"coding/{p}" for p in sequential[i - 1 : i]]
    for path in (f for f in files if f not in sequential):
        deps = dag["depends_on"][path] if dag else []
        # The dag part of an auto run starts once the sequential part is done.
        needs[f"coding/{path}"] = analyses + [f"coding/{d}" for d in deps] + [f"coding/{p}" for p in sequential[-1:]]
    needs["repair/checks"] = [f"coding/{f}" for f in files]
    needs["repo/reproduce"] = ["repair/checks"]
    return needs


async def one_run(url: str, paper: Path, out: Path, order: str) -> dict[str, Any]:
    model = OpenAICompatModel("scale-shape", base_url=url, api_key="sk-bench", max_retries=0, context_window=WINDOW)
    REPORT.wall = 0.0
    start = time.perf_counter()
    try:
        await papercoder.run_async(paper, out, model=model, coding_order=order, concurrency=CONCURRENCY, fresh=True)
    finally:
        await model.aclose()
    wall = time.perf_counter() - start - REPORT.wall
    manifest = RunDir(out).load_manifest()
    assert manifest is not None
    stages = manifest.stages
    total = manifest.total_usage()
    prompts = [json.loads(p.read_text()) for p in (out / "calls").glob("*.json")]
    coding = [p for p in prompts if p["step"].startswith("coding/")]
    context = json.loads((out / "coding/context.json").read_text())
    dag_path = out / "coding/dag.json"
    return {
        "wall": wall,
        "coding_prompt": stages["coding"].usage.prompt_tokens,
        "prompt": total.prompt_tokens,
        "uncached": total.prompt_tokens - total.cached_tokens,
        "largest": max(sum(count_tokens(m["content"]) for m in p["messages"]) for p in coding),
        "fitted": sum(len(f["fitted_as_interface"]) for f in context["files"].values()),
        "dropped": sum(len(f["dropped"]) for f in context["files"].values()),
        "switched": context["switched_to_dag_at"],
        "context": context,
        "dag": json.loads(dag_path.read_text()) if dag_path.exists() else None,
        "files": list(manifest.files),
    }


def coding_rows(
    sizes: list[int], scale: float, work: Path, paper: Path, orders: tuple[str, ...] = ORDERS
) -> dict[tuple[int, str], dict[str, Any]]:
    spawn = multiprocessing.get_context("spawn")
    runs: dict[tuple[int, str], dict[str, Any]] = {}
    for n in sizes:
        parent, child = spawn.Pipe()
        server = spawn.Process(target=scale_shape.serve, args=(child, n, {**LATENCY, "time_scale": scale}))
        server.start()
        url = parent.recv()
        for order in orders:
            parent.send("reset")
            parent.recv()
            result = asyncio.run(one_run(url, paper, work / f"{n}-{order}", order))
            parent.send("stats")
            rows = parent.recv()
            if not all(r["status"] == 200 for r in rows):
                raise SystemExit(f"unexpected answers in the {n}-file {order} run")
            durations = {r["step"]: r["finished"] - r["started"] for r in rows}
            needs = prerequisites(result["files"], result["context"], result["dag"], durations)
            result["calls"] = len(rows)
            result["critical"] = critical_path(durations, needs)
            runs[n, order] = result
            print(f"  {n} files, {order}: {result['wall']:.1f} s", file=sys.stderr, flush=True)
        parent.send("stop")
        errors = parent.recv()
        server.join(5)
        if errors:
            raise SystemExit(f"fake server errors: {errors}")
    return runs


def exponent(points: list[tuple[int, int]]) -> float:
    """The least-squares slope of log(tokens) on log(files)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def coding_report(
    runs: dict[tuple[int, str], dict[str, Any]], sizes: list[int], scale: float, orders: tuple[str, ...] = ORDERS
) -> None:
    rows = []
    for n in sizes:
        for order in orders:
            r = runs[n, order]
            rows.append(
                [
                    str(n),
                    order,
                    str(r["calls"]),
                    f"{r['coding_prompt']:,}",
                    f"{r['prompt']:,}",
                    f"{r['uncached']:,}",
                    f"{r['largest']:,}",
                    f"{r['fitted']}/{r['dropped']}",
                    r["switched"] or "-",
                    f"{r['wall'] / scale:.0f}",
                    f"{r['critical'] / scale:.0f}",
                    f"{r['wall'] / r['critical']:.2f}",
                    f"{(r['wall'] - r['critical']) / r['calls'] * 1000:.0f}",
                ]
            )
    print(f"\nCoding at scale (loopback server paced like o3-mini, time scale {scale}; window {WINDOW:,} tokens);")
    print("times in seconds at real speed; prompt tokens as the server counted them, the largest in cl100k tokens.")
    header = ["files", "order", "calls", "coding prompt", "run prompt", "run uncached", "largest coding prompt"]
    header += ["fitted/dropped", "auto → dag at", "wall", "critical path", "wall/critical", "ms/call over"]
    print(table(rows, header))
    # Our own work per call (prompt building, cache and manifest writes, the SDK) does not shrink with the time
    # scale: at 0.01 each of its milliseconds weighs a hundred times what it would against a real model.
    print("ms/call over: (wall - critical path) / calls, in real milliseconds: the time scale does not shrink it")
    print("\nGrowth exponent of coding-prompt tokens (log-log slope over the sizes):")
    print(
        table(
            [[o, f"{exponent([(n, runs[n, o]['coding_prompt']) for n in sizes]):.2f}"] for o in orders],
            ["order", "exponent"],
        )
    )
    print("targets: auto and dag ≤ 1.2; at 80 files no prompt over the window, nothing dropped, wall ≤ 1.10× critical")


_MEASURE = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {src!r})
from papercoder.paper.pdf import load_pdf
if __name__ == "__main__":
    start = time.perf_counter()
    paper = load_pdf(Path({path!r}), jobs={jobs})
    wall = time.perf_counter() - start
    Path({text!r}).write_text(paper.markdown())
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({{"wall": wall, "pages": paper.pages,
        "cpu": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""


def make_pdf(pages: int, path: Path) -> Path:
    import pymupdf  # type: ignore[import-untyped]

    source = pymupdf.open(SHARED_PDF)
    out = pymupdf.open()
    while out.page_count < pages:
        out.insert_pdf(source, to_page=min(source.page_count, pages - out.page_count) - 1)
    out.save(path)
    return path


def pdf_report(work: Path) -> None:
    if not SHARED_PDF.is_file():
        print("\nPDF: ../shared/examples/attention/paper.pdf is absent; skipped")
        return
    rows = []
    seams: list[str] = []
    for pages in (15, 60, 300):
        path = SHARED_PDF if pages == 15 else make_pdf(pages, work / f"paper-{pages}.pdf")
        texts: dict[int, str] = {}
        results: dict[int, dict[str, Any]] = {}
        for jobs in (1, 2):
            text = work / f"text-{pages}-{jobs}.md"
            code = _MEASURE.format(src=str(ROOT / "src"), path=str(path), jobs=jobs, text=str(text))
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            results[jobs] = json.loads(done.stdout.strip().splitlines()[-1])
            texts[jobs] = text.read_text()
            print(f"  {pages} pages, --jobs {jobs}: {results[jobs]['wall']:.1f} s", file=sys.stderr, flush=True)
        diff = [
            line
            for line in difflib.unified_diff(texts[1].splitlines(), texts[2].splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        seams += [f"{pages} pages: {line}" for line in diff]
        for jobs in (1, 2):
            r = results[jobs]
            rows.append(
                [
                    str(pages),
                    str(jobs),
                    f"{r['wall']:.1f}",
                    f"{r['pages'] / r['wall']:.2f}",
                    f"{r['cpu']:.1f}",
                    f"{r['rss']:.0f}",
                    f"{r['child_rss']:.0f}" if jobs > 1 else "-",
                    f"{results[1]['wall'] / r['wall']:.2f}",
                    "yes" if texts[1] == texts[2] else f"NO ({len(diff)} lines)",
                ]
            )
    print("\nPDF layout ingest (a fresh process per row):")
    header = ["pages", "--jobs", "seconds", "pages/s", "CPU s", "peak MB", "largest worker MB", "speed-up", "same text"]
    print(table(rows, header))
    print("targets: 60 pages ≥ 1.7× faster at --jobs 2, the same text; 300 pages < 60 s and < 500 MB peak")
    print("(CPU s counts the workers too; each process runs the layout model on one thread)")
    if seams:
        print("\nLines that differ between --jobs 1 and --jobs 2:")
        print("\n".join(seams))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=0.1, help="real seconds per simulated second")
    parser.add_argument("--sizes", default="5,10,20,40,80", help="plan sizes, comma-separated")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF part")
    parser.add_argument("--no-coding", action="store_true", help="skip the coding part")
    parser.add_argument("--orders", default=",".join(ORDERS), help="coding orders, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    orders = tuple(o for o in args.orders.split(",") if o)
    if not set(orders) <= set(ORDERS):
        parser.error(f"--orders: use some of {', '.join(ORDERS)}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="papercoder-scale-") as tmp:
        work = Path(tmp)
        if not args.no_coding:
            text, source = paper_markdown()
            paper = work / "paper.md"
            paper.write_text(text)
            print(f"paper: {source}, {len(text):,} characters", file=sys.stderr)
            runs = coding_rows(sizes, args.time_scale, work, paper, orders)
            coding_report(runs, sizes, args.time_scale, orders)
        if not args.no_pdf:
            pdf_report(work)
    print(f"\nbenchmark took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
