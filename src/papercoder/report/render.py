"""Render a run directory as one self-contained HTML file (``write_report``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from papercoder._version import __version__
from papercoder.fsutil import atomic_write_text
from papercoder.report.calls import CallIndex, CallView, load_calls
from papercoder.report.chart import render_svg, stage_charts
from papercoder.report.graph import ImportGraph, import_graph, to_mermaid
from papercoder.report.load import DebugIteration, JsonDoc, RunData, eval_score, load_run
from papercoder.report.markup import (
    Table,
    as_table,
    highlight_code,
    plan_markdown,
    pretty_json,
    pygments_css,
    render_markdown,
    scalars,
    status_class,
    tables,
    text_block,
)
from papercoder.report.refine import load_refine
from papercoder.report.views import (
    DebugText,
    checks_view,
    critique_rows,
    debug_text,
    file_anchor,
    file_views,
    section_anchor,
)
from papercoder.run_dir import now_iso

ASSETS = ("mermaid.min.js", "report.js", "report.css")
_SCRIPT_TAG = re.compile(r"<(/?)script", re.IGNORECASE)


@dataclass(frozen=True)
class Diagram:
    """A mermaid diagram: the element id, its heading and its source (rendered in the browser)."""

    id: str
    title: str
    source: str
    links: dict[str, str] = field(default_factory=dict)  # node id → anchor, made clickable by report.js


@dataclass(frozen=True)
class JsonView:
    """A JSON artifact ready to show: headline score, scalar fields, tables, and the whole thing pretty-printed."""

    name: str
    data: object
    score: float | None
    fields: list[tuple[str, str]]
    tables: list[tuple[str, Table]]
    pretty: Markup
    unreadable: bool


@dataclass(frozen=True)
class IterationView:
    """One debug iteration: a one-line summary, its text files (diffs side by side too), its JSON files, its call."""

    name: str
    summary: str
    texts: list[DebugText]
    docs: list[JsonView]
    calls: list[CallView]


def read_asset(name: str) -> str:
    """A vendored asset's text, refused if it could end an inline ``<script>`` or ``<style>`` early."""
    text = resources.files("papercoder.report").joinpath("assets", name).read_text(encoding="utf-8")
    if _SCRIPT_TAG.search(text) or "</style" in text.lower():
        raise RuntimeError(f"vendored asset {name} holds a script or style tag and cannot be inlined")
    return text


@lru_cache(maxsize=1)
def _assets() -> dict[str, Markup]:
    # Checked by read_asset: no "<script", "</script" or "</style" inside, so inlining them raw is safe.
    return {name: Markup(read_asset(name)) for name in ASSETS}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("papercoder.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = render_markdown
    env.filters["plan_markdown"] = plan_markdown
    env.filters["status_class"] = status_class
    env.filters["thousands"] = lambda n: f"{int(n):,}" if isinstance(n, int | float) else "—"
    env.filters["usd"] = lambda v: "unknown" if v is None else f"${float(v):.4f}"
    return env


def json_view(doc: JsonDoc) -> JsonView:
    """A JSON artifact as a view; one that did not parse shows its text."""
    if doc.data is None:
        return JsonView(doc.name, None, None, [], [], text_block(doc.raw), unreadable=True)
    return JsonView(
        name=doc.name,
        data=doc.data,
        score=eval_score(doc.data),
        fields=scalars(doc.data),
        tables=[("", top)] if (top := as_table(doc.data)) else [(k, t) for k, t in tables(doc.data) if k != "samples"],
        pretty=pretty_json(doc.data),
        unreadable=False,
    )


_EXIT_KEYS = ("exit_code", "returncode", "exit", "rc")
_COMMAND_KEYS = ("command", "cmd")


def _iteration_view(it: DebugIteration, calls: CallIndex) -> IterationView:
    facts: dict[str, str] = {}
    for doc in it.docs:
        if isinstance(doc.data, dict):
            for key in (*_EXIT_KEYS, *_COMMAND_KEYS):
                if key in doc.data and doc.data[key] is not None:
                    facts.setdefault(key, str(doc.data[key]))
    for text in it.texts:
        stem = text.name.rsplit(".", 1)[0]
        if stem in (*_EXIT_KEYS, *_COMMAND_KEYS) and len(text.text) < 300:
            facts.setdefault(stem, text.text.strip())
    exit_code = next((facts[k] for k in _EXIT_KEYS if k in facts), None)
    command = next((facts[k] for k in _COMMAND_KEYS if k in facts), None)
    summary = " · ".join(p for p in (f"exit {exit_code}" if exit_code else "", command or "") if p)
    texts = [debug_text(t.name, t.text, t.note) for t in it.texts]
    return IterationView(it.name, summary, texts, [json_view(d) for d in it.docs], calls.for_step(f"debug/{it.name}"))


def _graph(data: RunData, anchors: dict[str, str]) -> tuple[ImportGraph, Diagram | None]:
    sources = {f.path: f.code.text for f in data.files if f.code and f.path.endswith(".py")}
    graph = import_graph(sources)
    source = to_mermaid(graph)
    if not source:
        return graph, None
    # Node n<i> is graph.nodes[i] (to_mermaid's ids): report.js makes each node a link to its file's section.
    links = {f"n{i}": f"#{anchors[p]}" for i, p in enumerate(graph.nodes) if p in anchors}
    return graph, Diagram("diagram-deps", "File dependencies (imports)", source, links)


def _text_field(mapping: dict[str, object], key: str) -> str:
    value = mapping.get(key)
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def _text_list(value: object) -> list[str]:
    """A list of texts from a JSON value: a list as is (items as text), one text as a one-item list."""
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v) for v in value]
    return [value] if isinstance(value, str) and value.strip() else []


def _records(value: object) -> list[dict[str, object]]:
    """The objects of a JSON list (anything else: none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _sections(paper: dict[str, object]) -> list[dict[str, object]]:
    """The paper's sections with their anchors and rendered text, for the paper part and the search."""
    out = []
    for i, s in enumerate(_records(paper.get("sections"))):
        text = _text_field(s, "text")
        level = s.get("level")
        out.append(
            {
                "anchor": section_anchor(i),
                "title": _text_field(s, "title"),
                "level": level if isinstance(level, int) and 1 <= level <= 6 else 1,
                "body": render_markdown(text),
                "search": text,
            }
        )
    return out


def _stage_calls(calls: CallIndex) -> list[tuple[str, list[CallView]]]:
    """The calls that belong to a stage rather than a file, by stage heading."""
    groups = [
        ("Planning", calls.with_prefix("planning/")),
        ("Checks repair", calls.with_prefix("repair/")),
        ("reproduce.sh", calls.with_prefix("repo/")),
    ]
    return [(name, found) for name, found in groups if found]


def build_context(data: RunData) -> dict[str, object]:
    """Everything the template needs, computed from the loaded run."""
    m = data.manifest
    title = m.paper.title or _text_field(data.paper, "title") or data.root.name
    diagrams = [
        Diagram(f"diagram-{key}", heading, source)
        for key, heading, source in (
            ("class", "Class diagram", data.class_diagram),
            ("sequence", "Sequence diagram", data.sequence_diagram),
        )
        if source
    ]
    anchors = {f.path: file_anchor(f.path) for f in data.files}
    graph, graph_diagram = _graph(data, anchors)
    total = m.total_usage()
    evals = [json_view(d) for d in data.evals]
    sections = _sections(data.paper)
    calls = load_calls(data.root / "calls")
    checks = checks_view(data.checks, anchors)
    return {
        "title": title,
        "run_name": data.root.resolve().name,
        "m": m,
        "paper": data.paper,
        "paper_md": data.paper_md,
        "outline": sections,
        "plan_md": data.plan_md,
        "approach": _text_field(data.architecture, "implementation_approach"),
        "arch_unclear": _text_field(data.architecture, "unclear_points"),
        "diagrams": diagrams,
        "logic": data.logic,
        "packages": _text_list(data.logic.get("required_packages")),
        "tasks": _text_list(data.logic.get("task_list")),
        "logic_rows": _records(data.logic.get("logic_analysis")),
        "anchors": anchors,
        "config_yaml": highlight_code(data.config_yaml, language="yaml") if data.config_yaml else None,
        "graph": graph,
        "graph_diagram": graph_diagram,
        "files": file_views(data, calls, checks, [str(s["title"]) for s in sections]),
        "stage_calls": _stage_calls(calls),
        "charts": [(c.title, Markup(render_svg(c))) for c in stage_charts(m.stages)],
        "total": total,
        "total_cost": m.total_cost(),
        "total_wall": sum(r.wall_s for r in m.stages.values()),
        "checks_doc": json_view(data.checks) if data.checks else None,
        "checks": checks,
        "debug": [_iteration_view(it, calls) for it in data.debug],
        "refine": load_refine(data.root, file_anchor),
        "evals": evals,
        "critiques": {e.name: critique_rows(e.data, anchors) for e in evals},
        "scores": [(e.name.removesuffix(".json"), e.score) for e in evals if e.score is not None],
        "css": Markup(pygments_css()),
        "assets": _assets(),
        "generated_at": now_iso(),
        "version": __version__,
    }


def render_report(run_dir: Path) -> str:
    """The HTML report of ``run_dir`` as a string; ``InputError`` when it is not a run directory."""
    data = load_run(run_dir)
    return _environment().get_template("report.html.j2").render(build_context(data))


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``) and return its path."""
    target = out if out is not None else run_dir / "report.html"
    atomic_write_text(target, render_report(run_dir))
    return target
