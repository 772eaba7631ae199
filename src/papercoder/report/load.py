"""Read a run directory into plain data for the report, tolerating whatever is missing or oddly shaped.

Only ``manifest.json`` is required. Every other artifact may be absent (a run that failed early), truncated, or in
a shape written by a newer papercoder: those are loaded as raw JSON and shown pretty-printed rather than refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from papercoder.errors import InputError
from papercoder.run_dir import Manifest, settle_status

MAX_TEXT_CHARS = 400_000  # one file's text in the report; more is cut with a note
SKIP_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


@dataclass
class TextFile:
    """A text artifact: its name, its text (maybe cut), and why it is not shown in full."""

    name: str
    text: str
    note: str | None = None


@dataclass
class FileEntry:
    """One file of the generated repository, with the analysis and raw coding answer that led to it."""

    path: str
    code: TextFile | None
    analysis: str | None
    answer: str | None
    planned: bool


@dataclass
class JsonDoc:
    """A JSON artifact (eval result, checks, debug step), parsed when possible, else kept as text."""

    name: str
    data: object
    raw: str


@dataclass
class DebugIteration:
    """One ``debug/iter-NN/`` folder: its files, JSON ones parsed."""

    name: str
    texts: list[TextFile] = field(default_factory=list)
    docs: list[JsonDoc] = field(default_factory=list)


@dataclass
class RunData:
    """Everything the report shows about one run."""

    root: Path
    manifest: Manifest
    paper: dict[str, object]
    paper_md: str | None
    plan_md: str | None
    architecture: dict[str, object]
    class_diagram: str | None
    sequence_diagram: str | None
    logic: dict[str, object]
    config_yaml: str | None
    files: list[FileEntry]
    checks: JsonDoc | None
    debug: list[DebugIteration]
    evals: list[JsonDoc]


def eval_score(data: object) -> float | None:
    """The headline score of an eval result: its ``mean`` (judge) or ``score`` (rubric), when a number."""
    if not isinstance(data, dict):
        return None
    for key in ("mean", "score"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a papercoder run directory (it holds a ``manifest.json``)."""
    return (path / "manifest.json").is_file()


def load_manifest(root: Path) -> Manifest:
    """The run's manifest; ``InputError`` when ``root`` is not a run directory or the manifest is unreadable."""
    path = root / "manifest.json"
    if not path.is_file():
        raise InputError(f"not a papercoder run directory (no manifest.json): {root}")
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8", errors="replace"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise InputError(f"{path} is not a readable manifest ({where}: {first['msg']}); re-run to rewrite it") from None
    return settle_status(manifest, root)  # a dead run's ``running`` shows as ``interrupted``


def read_text(path: Path, limit: int = MAX_TEXT_CHARS) -> TextFile | None:
    """A file's text, cut at ``limit`` characters; a placeholder for binary files; None when absent."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return TextFile(path.name, "", f"binary file, {len(data):,} bytes: not shown")
    text = data.decode("utf-8", errors="replace")
    if len(text) > limit:
        return TextFile(path.name, text[:limit], f"cut at {limit:,} of {len(text):,} characters")
    return TextFile(path.name, text)


def _text(path: Path) -> str | None:
    found = read_text(path)
    return None if found is None or (found.note and not found.text) else found.text


def read_json(path: Path) -> JsonDoc | None:
    """A JSON file, parsed when it parses (else ``data`` is None and ``raw`` holds the text); None when absent."""
    found = read_text(path)
    if found is None:
        return None
    try:
        data: object = json.loads(found.text)
    except ValueError:
        data = None
    return JsonDoc(path.name, data, found.text)


def _json_object(path: Path) -> dict[str, object]:
    doc = read_json(path)
    return doc.data if doc is not None and isinstance(doc.data, dict) else {}


def repo_files(repo: Path) -> list[str]:
    """Every file under ``repo`` (relative, POSIX), skipping caches and VCS folders."""
    if not repo.is_dir():
        return []
    found = []
    for path in repo.rglob("*"):
        rel = path.relative_to(repo)
        if path.is_file() and not any(part in SKIP_DIRS for part in rel.parts[:-1]):
            found.append(rel.as_posix())
    return sorted(found)


def _files(
    root: Path, manifest: Manifest, logic: dict[str, object], architecture: dict[str, object]
) -> list[FileEntry]:
    planned: list[str] = []
    for source in (manifest.files, logic.get("task_list"), architecture.get("file_list")):
        if isinstance(source, list):
            planned.extend(str(p) for p in source if str(p) not in planned)
    present = repo_files(root / "repo")
    order = [p for p in planned + [p for p in present if p not in planned] if _inside(root / "repo", p)]
    return [
        FileEntry(
            path=rel,
            code=read_text(root / "repo" / rel),
            analysis=_text(root / "analysis" / f"{rel}.md") if _inside(root / "analysis", f"{rel}.md") else None,
            answer=_text(root / "coding" / f"{rel}.md") if _inside(root / "coding", f"{rel}.md") else None,
            planned=rel in planned,
        )
        for rel in order
    ]


def _inside(base: Path, rel: str) -> bool:
    """Whether ``base/rel`` stays inside ``base``: a planned name such as ``../../etc/passwd`` is never read."""
    if not rel or Path(rel).is_absolute():
        return False
    return (base / rel).resolve().is_relative_to(base.resolve())


def _debug(root: Path) -> list[DebugIteration]:
    folder = root / "debug"
    if not folder.is_dir():
        return []
    iterations = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        iteration = DebugIteration(sub.name)
        for path in sorted(p for p in sub.rglob("*") if p.is_file()):
            rel = path.relative_to(sub).as_posix()
            if path.suffix == ".json":
                doc = read_json(path)
                if doc is not None:
                    doc.name = rel
                    iteration.docs.append(doc)
            else:
                found = read_text(path)
                if found is not None:
                    found.name = rel
                    iteration.texts.append(found)
        iterations.append(iteration)
    return iterations


def _evals(root: Path) -> list[JsonDoc]:
    folder = root / "eval"
    if not folder.is_dir():
        return []
    return [doc for path in sorted(folder.glob("*.json")) if (doc := read_json(path)) is not None]


def load_run(root: Path) -> RunData:
    """Load the run directory ``root``; ``InputError`` when it has no readable manifest."""
    manifest = load_manifest(root)
    planning = root / "planning"
    architecture = _json_object(planning / "2_architecture.json")
    logic = _json_object(planning / "3_logic.json")

    def diagram(name: str, key: str) -> str | None:
        text = _text(planning / name)
        if text is None and isinstance(architecture.get(key), str):
            text = str(architecture[key])
        return text.strip() if text and text.strip() else None

    return RunData(
        root=root,
        manifest=manifest,
        paper=_json_object(root / "paper" / "paper.json"),
        paper_md=_text(root / "paper" / "paper.md"),
        plan_md=_text(planning / "1_plan.md"),
        architecture=architecture,
        class_diagram=diagram("class_diagram.mmd", "class_diagram"),
        sequence_diagram=diagram("sequence_diagram.mmd", "sequence_diagram"),
        logic=logic,
        config_yaml=_text(planning / "config.yaml"),
        files=_files(root, manifest, logic, architecture),
        checks=read_json(root / "checks.json"),
        debug=_debug(root),
        evals=_evals(root),
    )
