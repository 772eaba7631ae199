"""The report's views of files, checks and debug iterations: status badges, links between the parts, diffs.

Each repository file gets an anchor (``file-…``) that the task list, the logic table, the check findings and the
dependency graph link to; each file links to the paper sections its analysis and logic cite (``paper-sec-N``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from markupsafe import Markup

from papercoder.paper.citations import cited_sections
from papercoder.report.calls import CallIndex, CallView
from papercoder.report.diffview import FileDiff, side_by_side
from papercoder.report.load import FileEntry, JsonDoc, RunData
from papercoder.report.markup import highlight_code, render_markdown, text_block


def file_anchor(path: str) -> str:
    """The element id of a repository file's section."""
    return "file-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def section_anchor(index: int) -> str:
    """The element id of the paper's ``index``-th section."""
    return f"paper-sec-{index}"


@dataclass(frozen=True)
class Badge:
    """A status badge: its text, CSS class and tooltip."""

    text: str
    css: str
    title: str


@dataclass(frozen=True)
class FileView:
    """One repository file as shown: badges, highlighted code, analysis, cited sections, its calls."""

    path: str
    anchor: str
    lines: int
    code: Markup | None
    note: str | None
    analysis: Markup
    answer: Markup | None
    planned: bool
    badges: list[Badge] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (anchor, title)
    calls: list[CallView] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A check finding, with the anchor of its file when the report shows that file."""

    kind: str
    path: str
    anchor: str | None
    line: str
    message: str


@dataclass(frozen=True)
class ChecksView:
    """checks.json as tables: the findings before and after the repair round, mechanical fixes, the repair's diff."""

    passed: bool
    findings: list[Finding]
    remaining: list[Finding]
    mechanical: list[tuple[str, str]]
    repair: dict[str, object] | None
    diff: list[FileDiff]


def _records(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def checks_view(doc: JsonDoc | None, anchors: dict[str, str]) -> ChecksView | None:
    """The checks as tables, or None when checks.json is absent or not in the shape the checks stage writes."""
    if doc is None or not isinstance(doc.data, dict) or not isinstance(doc.data.get("findings"), list):
        return None
    data = doc.data

    def finding(raw: dict[str, object]) -> Finding:
        path = str(raw.get("path", ""))
        line = raw.get("line")
        return Finding(str(raw.get("kind", "")), path, anchors.get(path), "" if line is None else str(line),
                       str(raw.get("message", "")))  # fmt: skip

    repair = data.get("repair") if isinstance(data.get("repair"), dict) else None
    mechanical = []
    for m in _records(data.get("mechanical")):
        inner = m.get("finding") if isinstance(m.get("finding"), dict) else {}
        mechanical.append((str(inner.get("message", "")) if isinstance(inner, dict) else "", str(m.get("fix", ""))))
    remaining = [finding(f) for f in _records(data.get("remaining"))]
    passed = data.get("passed")
    return ChecksView(
        passed=passed if isinstance(passed, bool) else not remaining,
        findings=[finding(f) for f in _records(data.get("findings"))],
        remaining=remaining,
        mechanical=mechanical,
        repair=repair,
        diff=side_by_side(str(repair.get("diff") or "")) if repair else [],
    )


def _debug_changed(data: RunData) -> set[str]:
    changed: set[str] = set()
    for it in data.debug:
        for doc in it.docs:
            fix = doc.data.get("fix") if isinstance(doc.data, dict) else None
            if isinstance(fix, dict):
                changed.update(_strings(fix.get("files")))
    return changed


def _badges(entry: FileEntry, data: RunData, checks: ChecksView | None, debugged: set[str]) -> list[Badge]:
    badges = []
    if entry.code is not None:
        badges.append(Badge("written", "good", "the file is in repo/"))
    else:
        badges.append(Badge("not written", "bad", "the plan lists it; repo/ does not have it"))
    if checks is not None:
        left = [f for f in checks.remaining if f.path == entry.path]
        if left:
            badges.append(Badge(f"{len(left)} finding{'s' if len(left) != 1 else ''}", "bad", "left after the repair"))
        elif any(f.path == entry.path for f in checks.findings):
            badges.append(Badge("had findings", "warn", "the checks found something; nothing is left"))
        if checks.repair and entry.path in _strings(checks.repair.get("files")):
            badges.append(Badge("repaired", "info", "changed by the repair round of the checks"))
    if entry.path in debugged:
        badges.append(Badge("edited by debug", "info", "changed by a papercoder debug iteration"))
    recorded = data.manifest.repo_sha256.get(entry.path)
    if entry.code is not None and recorded and entry.path not in debugged:
        current = hashlib.sha256((data.root / "repo" / entry.path).read_bytes()).hexdigest()
        if current != recorded:
            badges.append(Badge("edited", "info", "changed since the pipeline wrote it (debug, refine or by hand)"))
    return badges


def file_views(data: RunData, calls: CallIndex, checks: ChecksView | None, titles: list[str]) -> list[FileView]:
    """Every file of the run as a view."""
    logic = {str(r.get("file", "")): str(r.get("logic", "")) for r in _records(data.logic.get("logic_analysis"))}
    debugged = _debug_changed(data)
    views = []
    for entry in data.files:
        code = entry.code
        text = code.text if code else ""
        cited = cited_sections(f"{entry.analysis or ''}\n{logic.get(entry.path, '')}", titles)
        views.append(
            FileView(
                path=entry.path,
                anchor=file_anchor(entry.path),
                lines=text.count("\n") + (1 if text and not text.endswith("\n") else 0),
                code=highlight_code(text, filename=entry.path) if text else None,
                note=code.note if code else None,
                analysis=render_markdown(entry.analysis),
                answer=render_markdown(entry.answer) if entry.answer else None,
                planned=entry.planned,
                badges=_badges(entry, data, checks, debugged),
                sections=[(section_anchor(i), titles[i]) for i in cited],
                calls=[*calls.for_step(f"analysis/{entry.path}"), *calls.for_step(f"coding/{entry.path}")],
            )
        )
    return views


@dataclass(frozen=True)
class DebugText:
    """A text file of a debug iteration: highlighted, or (a diff) as side-by-side rows."""

    name: str
    body: Markup
    note: str | None
    diff: list[FileDiff]


def debug_text(name: str, text: str, note: str | None) -> DebugText:
    """A debug iteration's text file as shown; a diff also as side-by-side rows."""
    is_diff = name.endswith((".diff", ".patch")) or "diff" in name
    body = highlight_code(text, filename=name, language="diff" if is_diff else None) if text else text_block("(empty)")
    return DebugText(name, body, note, side_by_side(text) if is_diff and text else [])


_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def critique_rows(data: object, anchors: Mapping[str, str]) -> list[dict[str, str]]:
    """The judge's critiques of an eval result, worst first, each with the file it names linked when the report
    shows that file (``anchor`` is ``""`` otherwise); ``[]`` for results without critiques (a rubric grade)."""
    found = data.get("critiques") if isinstance(data, dict) else None
    rows: list[dict[str, str]] = []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, dict):
            continue
        path = str(item.get("file") or "")
        rows.append(
            {
                "severity": str(item.get("severity") or ""),
                "component": str(item.get("component") or ""),
                "file": path,
                "anchor": anchors.get(path, ""),
                "function": str(item.get("function") or ""),
                "comment": str(item.get("comment") or ""),
            }
        )
    return sorted(rows, key=lambda r: _SEVERITY_ORDER.get(r["severity"], 3))
