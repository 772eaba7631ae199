"""The refine loop: grade the repository against the paper's rubric, fix what fails, keep only what does not hurt.

Each round grades the Code-Development leaves (``evaluation/rubric.py``, the judge shown the files most relevant to
each), groups the failed leaves by the file that should hold them (``refine_context.py``) and makes one call per
file (step ``refine/round-NN/<file>``): the failed requirements with the grader's reasons, the paper sections they
cite, the file, and its neighbours' interfaces, answered with SEARCH/REPLACE edits to that file (or one new file,
within ``--max-files``). The edits are applied and the static checks run: a new problem (syntax error, unresolved
import, empty file) rolls the file back. Otherwise the file's leaves are graded again, with every passing leaf
whose grading was shown the file (a regression check); the edits stay only if the rubric score does not drop, else
the file is restored byte for byte. The loop stops after ``rounds`` rounds, or earlier when a round changes no
verdict or every leaf passes.

Records: ``refine/round-NN/`` (``round.json``: per file its leaves, edits applied and refused, the static findings,
the score before and after, kept or rolled back; ``verdicts.json``; ``answers/``; ``round.diff``) and
``refine/summary.json`` (the score per round and each leaf's verdict per round). A score on a rubric this run
derived is labelled self-derived everywhere, never a PaperBench score.

Resuming: ``refine/base.json`` holds the repository as it was before refine first ran. A re-run while a refine is
unfinished, or while the repository is as the last refine left it, starts again from that base: every call already
made is answered by the call cache, so nothing is paid twice and the repository ends as an uninterrupted run's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercoder.errors import InputError
from papercoder.evaluation.repofiles import read_repo
from papercoder.evaluation.rubric import (
    CODE_DEVELOPMENT,
    JudgeSettings,
    LeafVerdict,
    RubricNode,
    filter_category,
    judge_leaves,
    score_tree,
)
from papercoder.fsutil import atomic_write_json
from papercoder.llm.base import ChatModel, Message
from papercoder.llm.cache import CachedModel
from papercoder.paper.model import Paper
from papercoder.parsing.edit_apply import apply_to_repo, unified_diff
from papercoder.parsing.edits import EditParseError, parse_edits
from papercoder.parsing.paths import safe_repo_path
from papercoder.pipeline import rubric as rubric_stage
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.debugging import _refresh_report
from papercoder.pipeline.fixes import MAX_FILE_CHARS
from papercoder.pipeline.refine_context import cited_sections, failed_items, group_by_file, neighbours
from papercoder.pipeline.rundir import repo_sha256
from papercoder.pipeline.steps import ask, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.checks import static_checks
from papercoder.repo.files import snapshot
from papercoder.run_dir import StageClock, StageRecord

STAGE = "refine"
GRADING = "refine-grading"
FOLDER = "refine"
EPSILON = 1e-9


@dataclass(frozen=True)
class RefineOptions:
    """How many rounds, on which rubric (None: derive one, or reuse the run's), and how leaves are judged."""

    rounds: int = 1
    rubric: Path | None = None
    judging: JudgeSettings = field(default_factory=JudgeSettings)


@dataclass
class RefineResult:
    """The score before the first round and after each, why the loop stopped, and where the records are."""

    label: str
    derived: bool
    scores: list[float]
    stopped: str
    folder: Path
    rolled_back: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "derived": self.derived,
            "scores": self.scores,
            "rounds": len(self.scores) - 1,
            "stopped": self.stopped,
            "rolled_back": self.rolled_back,
            "folder": str(self.folder),
        }


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def restore(repo: Path, before: dict[str, str]) -> None:
    """Make the text files of ``repo`` exactly ``before``: differing files rewritten, new ones removed (with the
    folders they emptied)."""
    now = snapshot(repo)
    for path in sorted(set(now) - set(before)):
        target = repo / path
        target.unlink()
        for parent in target.parents:
            if parent == repo or any(parent.iterdir()):
                break
            parent.rmdir()
    for path, text in before.items():
        if now.get(path) != text:
            _write_text(repo / path, text)


def _start(ctx: RunContext, folder: Path) -> None:
    """Restore the pre-refine repository when this is a resume (see the module docstring), else record it as the
    base; clear the round records, which the loop writes again."""
    base, state = folder / "base.json", folder / "state.json"
    replay = False
    if base.is_file() and state.is_file():
        try:
            saved = json.loads(state.read_text(encoding="utf-8"))
            replay = saved.get("status") == "running" or saved.get("final") == repo_sha256(ctx.run.repo)
        except (OSError, ValueError, AttributeError):
            replay = False
    if replay:
        restore(ctx.run.repo, json.loads(base.read_text(encoding="utf-8")))
        ctx.note(STAGE, "starting again from the repository as it was before refine (answers come from calls/)")
    else:
        atomic_write_json(base, snapshot(ctx.run.repo))
    for old in folder.glob("round-*"):
        shutil.rmtree(old)
    atomic_write_json(state, {"status": "running"})


def _paper(ctx: RunContext) -> Paper:
    if ctx.run.exists("paper/paper.json"):
        try:
            return Paper.model_validate_json(ctx.run.read("paper/paper.json"))
        except ValueError:
            pass
    return Paper(sections=[])


class _Loop:
    """The state of one refine session: the tree, the verdicts, the clocks."""

    def __init__(self, ctx: RunContext, options: RefineOptions, judge: ChatModel, tree: RubricNode) -> None:
        self.ctx, self.options, self.tree = ctx, options, tree
        self.leaves = tree.leaves()
        self.judge = CachedModel(judge, ctx.model.cache, ctx.model.budget)
        self.paper_text = ctx.run.read("paper/paper.md")
        self.paper = _paper(ctx)
        record = ctx.manifest.stages.setdefault(GRADING, StageRecord())
        self.grading = StageClock(record, judge.name)
        self.verdicts: dict[str, LeafVerdict] = {}

    def judged_files(self) -> dict[str, str]:
        return read_repo(self.ctx.run.repo).files

    async def grade(self, leaves: list[RubricNode]) -> dict[str, LeafVerdict]:
        found, done = await judge_leaves(
            self.judge, self.tree, leaves, self.judged_files(), paper=self.paper_text, judging=self.options.judging
        )
        for completion in done:
            self.grading.add(completion.usage, completion.from_cache)
        self.ctx.save()
        return found

    def score(self, verdicts: dict[str, LeafVerdict]) -> float:
        return score_tree(self.tree, verdicts).score

    def _messages(self, path: str, group: list[RubricNode], files: dict[str, str]) -> list[Message]:
        code = files.get(path, "")
        if len(code) > MAX_FILE_CHARS:
            code = code[:MAX_FILE_CHARS] + f"\n# … (cut: {len(files[path]):,} characters in all)\n"
        prompt = render(
            "refine/file.j2",
            path=path,
            items=failed_items(group, self.verdicts),
            sections=cited_sections(self.paper, group),
            exists=path in files,
            code=code.rstrip(),
            neighbours=neighbours(path, files),
            new_files=len(files) < self.ctx.options.max_files,
        )
        return [{"role": "system", "content": render("refine/system.j2")}, {"role": "user", "content": prompt}]

    async def fix_file(
        self, clock: StageClock, n: int, path: str, group: list[RubricNode], folder: Path
    ) -> dict[str, Any]:
        """One call for ``path`` and its failed leaves; apply, check, re-grade, keep or roll back."""
        repo = self.ctx.run.repo
        before = snapshot(repo)
        entry: dict[str, Any] = {"file": path, "leaves": [leaf.id for leaf in group], "applied": 0, "refused": []}
        step = f"refine/round-{n:02d}/{path}"
        done = await ask(self.ctx, clock, self._messages(path, group, before), settings_for(self.ctx, step, None))
        _write_text(folder / "answers" / f"{path.replace('/', '__')}.md", done.text)
        try:
            edits = parse_edits(done.text)
        except EditParseError as exc:
            return {**entry, "status": "unusable", "reason": f"the answer could not be read as edits: {exc}"}
        created = 0
        allowed = []
        for edit in edits:
            where = safe_repo_path(edit.path)[0]
            new_file = where is not None and where not in before
            if where == path or (new_file and created < 1 and len(before) < self.ctx.options.max_files):
                allowed.append(edit)
                created += new_file and where != path
            else:
                entry["refused"].append(f"{edit.path}: only {path} (or one new file) may be edited in this step")
        if not allowed:
            return {**entry, "status": "unusable", "reason": "the answer held no usable edit for this file"}
        checks_before = {f for f in static_checks(repo) if f.matters}
        result = apply_to_repo(repo, allowed)
        entry["applied"] = len(result.applied)
        entry["refused"] += [f.message for f in result.failures]
        if not result.files:
            return {**entry, "status": "unchanged", "reason": "no edit changed the file"}
        entry["changed"] = sorted(result.files)
        entry["diff"] = unified_diff(before, {**before, **result.files})
        new_problems = [f for f in static_checks(repo) if f.matters and f not in checks_before]
        if new_problems:
            restore(repo, before)
            entry["findings"] = [f.to_dict() for f in new_problems]
            return {
                **entry,
                "status": "rolled-back",
                "reason": f"the static checks found {len(new_problems)} new problems",
            }
        touched = set(result.files)
        again = [
            leaf
            for leaf in self.leaves
            if leaf in group or (self.verdicts[leaf.id].score == 1 and touched & set(self.verdicts[leaf.id].files))
        ]
        regraded = await self.grade(again)
        trial = {**self.verdicts, **regraded}
        old, new = self.score(self.verdicts), self.score(trial)
        entry.update(score_before=old, score_after=new, regraded=[leaf.id for leaf in again])
        entry["changed_verdicts"] = [k for k, v in regraded.items() if v.score != self.verdicts[k].score]
        if new < old - EPSILON:
            restore(repo, before)
            broke = [k for k in entry["changed_verdicts"] if self.verdicts[k].score == 1]
            return {
                **entry,
                "status": "rolled-back",
                "reason": f"the score dropped (leaves broken: {', '.join(broke)})",
            }
        self.verdicts = trial
        return {**entry, "status": "kept"}


def _verdicts(verdicts: dict[str, LeafVerdict]) -> dict[str, Any]:
    return {k: v.model_dump() for k, v in verdicts.items()}


async def run(ctx: RunContext, options: RefineOptions, judge: ChatModel) -> RefineResult:
    """Grade, fix and re-grade for ``options.rounds`` rounds at most (see the module docstring).

    Raises:
        InputError: the rubric has no Code-Development leaf, or the repository holds no file to judge.
        StageError: the rubric derivation failed.
        ModelError, BudgetExceeded: a call failed or would pass the budget (re-run to resume).
    """
    if not ctx.run.repo.is_dir():
        raise InputError(f"{ctx.run.root} has no repo/ folder to refine; run `papercoder run` first")
    chosen = await rubric_stage.choose(ctx, options.rubric)
    tree = filter_category(chosen.tree, CODE_DEVELOPMENT)
    if tree is None:
        raise InputError(f"the rubric {chosen.path} has no Code Development leaf to refine against")
    folder = ctx.run.root / FOLDER
    _start(ctx, folder)
    loop = _Loop(ctx, options, judge, tree)
    history: dict[str, list[int]] = {}
    rolled: list[str] = []
    with ctx.stage(STAGE) as clock:
        loop.grading.start()
        loop.verdicts = await loop.grade(loop.leaves)
        scores = [loop.score(loop.verdicts)]
        for leaf in loop.leaves:
            history[leaf.id] = [loop.verdicts[leaf.id].score]
        ctx.note(STAGE, f"score {scores[0]:.4f} on the {chosen.label} ({len(loop.leaves)} leaves)")
        stopped = "rounds"
        for n in range(1, options.rounds + 1):
            failed = [leaf for leaf in loop.leaves if loop.verdicts[leaf.id].score == 0]
            if not failed:
                stopped = "every leaf passes"
                break
            round_dir = folder / f"round-{n:02d}"
            start_repo, start_verdicts = snapshot(ctx.run.repo), dict(loop.verdicts)
            groups = group_by_file(failed, loop.verdicts, loop.judged_files(), ctx.manifest.files)
            entries = []
            for path, group in groups.items():
                ctx.note(STAGE, f"round {n}: {path} ({len(group)} failed requirements)")
                entries.append(await loop.fix_file(clock, n, path, group, round_dir))
                atomic_write_json(round_dir / "round.json", {"round": n, "files": entries, "partial": True})
            scores.append(loop.score(loop.verdicts))
            for leaf in loop.leaves:
                history[leaf.id].append(loop.verdicts[leaf.id].score)
            back = [e["file"] for e in entries if e["status"] == "rolled-back"]
            rolled += [f"round {n}: {p}" for p in back]
            atomic_write_json(
                round_dir / "round.json",
                {
                    "round": n,
                    "label": chosen.label,
                    "score_before": scores[-2],
                    "score_after": scores[-1],
                    "files": entries,
                    "rolled_back": back,
                },
            )
            atomic_write_json(
                round_dir / "verdicts.json", {"before": _verdicts(start_verdicts), "after": _verdicts(loop.verdicts)}
            )
            _write_text(round_dir / "round.diff", unified_diff(start_repo, snapshot(ctx.run.repo)))
            ctx.note(STAGE, f"round {n}: score {scores[-2]:.4f} → {scores[-1]:.4f} ({chosen.label})")
            if all(loop.verdicts[k].score == v.score for k, v in start_verdicts.items()):
                stopped = "no leaf changed"
                break
        loop.grading.finish("done")
        result = RefineResult(chosen.label, chosen.derived, scores, stopped, folder, rolled)
        leaves = [
            {
                "id": leaf.id,
                "requirement": leaf.requirements,
                "section": leaf.section,
                "verdicts": history[leaf.id],
                "files": loop.verdicts[leaf.id].files,
                "explanation": loop.verdicts[leaf.id].explanation,
            }
            for leaf in loop.leaves
        ]
        summary = {**result.record(), "rubric": str(chosen.path), "judge": loop.judge.name, "leaves": leaves}
        atomic_write_json(folder / "summary.json", summary)
        atomic_write_json(folder / "state.json", {"status": "done", "final": repo_sha256(ctx.run.repo)})
    _refresh_report(ctx)
    return result
