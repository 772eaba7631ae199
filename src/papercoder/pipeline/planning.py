"""Stage 1, planning: one conversation of four turns — plan, architecture, logic design, config.yaml.

A method of the ablation ladder (``papercoder._engine.METHODS``) asks only the first ``turns`` of them; what the
missing turns would have given is empty (no file list before the architecture, the file list as the task order
before the logic design, no config.yaml before the configuration turn)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import yaml

from papercoder.errors import StageError
from papercoder.llm.base import Message
from papercoder.parsing.code_extract import extract_yaml
from papercoder.parsing.paths import dedupe_paths, is_source_file
from papercoder.pipeline.context import RunContext
from papercoder.pipeline.schemas import ArchitectureDesign, LogicDesign
from papercoder.pipeline.steps import ask, ask_json, settings_for
from papercoder.pipeline.templates import render
from papercoder.repo.files import ENTRY_NAMES
from papercoder.run_dir import StageClock

# Files the pipeline writes itself; the model's plan may list them but they are not coded.
GENERATED_FILES = {"config.yaml", "requirements.txt", "reproduce.sh"}
MAX_PLAN_WARNINGS = 20  # a 10,000-file plan would otherwise bury the manifest in one warning per file
SMOKE_NAMES = re.compile(r"data|loader|train|eval|experiment|bench|^main$|^run", re.IGNORECASE)
EMPTY_CONFIG = "# The paper states no settings this run could extract.\n{}\n"
#: The turns of the planning conversation, in order: the progress bar counts them, the estimate prices them.
TURNS = ("overall plan", "architecture design", "logic design", "configuration")
FULL = len(TURNS)
#: What each turn leaves in ``planning/`` (the trajectory is written after the last turn asked).
ARTIFACTS = ("planning/1_plan.md", "planning/2_architecture.json", "planning/3_logic.json", "planning/config.yaml")
TRAJECTORY = "planning/trajectory.json"


@dataclass
class PlanningResult:
    """The four planning answers, the conversation that produced them, and the files to write, in order."""

    trajectory: list[Message]
    plan: str
    architecture: ArchitectureDesign
    logic: LogicDesign
    config_yaml: str
    files: list[str]

    def reads_smoke(self, path: str) -> bool:
        """Whether ``path`` takes part in smoke mode: a file the logic design's smoke plan names, or, when the plan
        names none (an older or a compact answer), a file whose name says it loads data, trains or evaluates."""
        named = {f.strip().lstrip("./") for f in self.logic.smoke_mode.files}
        if named & set(self.files):
            return path in named
        return SMOKE_NAMES.search(PurePosixPath(path).stem) is not None

    def logic_for(self, path: str) -> str:
        for entry in self.logic.logic_analysis:
            if entry.file.strip().lstrip("./") == path:
                return entry.logic
        return "(the logic design has no entry for this file: follow the architecture and the plan)"


def ordered_files(ctx: RunContext, architecture: ArchitectureDesign, logic: LogicDesign) -> list[str]:
    """The files to code, in task order, made safe: no unsafe paths, duplicates, non-source or generated files;
    every file of the file list present. Each fix is a warning in the manifest."""
    tasks, warnings = dedupe_paths(logic.task_list)
    listed, more = dedupe_paths(architecture.file_list)
    warnings += [w for w in more if w not in warnings]
    files: list[str] = []
    for path in tasks:
        if path in GENERATED_FILES:
            continue
        if not is_source_file(path):
            warnings.append(f"task list: {path!r} is not a source file; skipped")
            continue
        files.append(path)
    lowered = {f.lower() for f in files}
    for path in listed:
        if path.lower() not in lowered and path not in GENERATED_FILES and is_source_file(path):
            warnings.append(f"{path!r} is in the file list but not in the task list; coded last")
            files.append(path)
            lowered.add(path.lower())
    listed_lower = {p.lower() for p in listed}
    for path in files:
        if path.lower() not in listed_lower:
            warnings.append(f"{path!r} is in the task list but not in the file list; coded anyway")
    if len(warnings) > MAX_PLAN_WARNINGS:
        warnings[MAX_PLAN_WARNINGS:] = [f"... and {len(warnings) - MAX_PLAN_WARNINGS:,} more such fixes"]
    for warning in warnings:
        ctx.warn(f"planning: {warning}")
    files = _capped(ctx, files)
    if not files:
        ctx.warn("planning: the plan names no usable source file; writing a single main.py")
        files = ["main.py"]
    return files


def _capped(ctx: RunContext, files: list[str]) -> list[str]:
    """The first ``--max-files`` files in task order, the entry point (``main.py``, last in task order) kept in place
    of the last of them. Cutting, rather than asking for a smaller plan, costs no call, keeps the files the others
    import (they come first), and a re-run with a higher ``--max-files`` replays the planning answers from cache."""
    cap = ctx.options.max_files
    if len(files) <= cap:
        return files
    kept = files[:cap]
    entry = next((f for f in files[cap:] if f in ENTRY_NAMES), None)
    swapped = entry is not None and not any(f in ENTRY_NAMES for f in kept)
    if entry is not None and swapped:
        kept[-1] = entry
    keep = set(kept)
    dropped = [f for f in files if f not in keep]
    shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5:,} more" if len(dropped) > 5 else "")
    ctx.warn(
        f"planning: the plan lists {len(files):,} files, more than --max-files {cap}; coding the first {cap} in task "
        f"order{f' (with {entry}, the entry point)' if swapped else ''} and dropping {shown}; pass a higher "
        "--max-files to code them all"
    )
    return kept


async def run(ctx: RunContext, turns: int = FULL) -> PlanningResult:
    """Run the first ``turns`` planning turns (all four by default) and write their artifacts under ``planning/``."""
    with ctx.stage("planning", total=turns) as clock:
        result = await _converse(ctx, clock, turns)
        ctx.manifest.files = result.files
    return result


def _partial(
    ctx: RunContext, messages: list[Message], plan: str, architecture: ArchitectureDesign | None
) -> PlanningResult:
    """The result of a conversation cut before the logic design: the file list (when there is one) in its own
    order, no packages, no config."""
    if architecture is None:
        empty = ArchitectureDesign(implementation_approach="", file_list=[], class_diagram="", sequence_diagram="")
        return PlanningResult(
            messages, plan, empty, LogicDesign(required_packages=[], logic_analysis=[], task_list=[]), "", []
        )
    logic = LogicDesign(required_packages=[], logic_analysis=[], task_list=list(architecture.file_list))
    return PlanningResult(messages, plan, architecture, logic, "", ordered_files(ctx, architecture, logic))


async def _converse(ctx: RunContext, clock: StageClock, turns: int) -> PlanningResult:
    opts, limits = ctx.options, ctx.options.limits
    paper = ctx.run.read("paper/paper.md")
    messages: list[Message] = [
        {"role": "system", "content": render("system.j2")},
        {"role": "user", "content": render("planning/plan.j2", paper=paper, compact=opts.compact)},
    ]
    ctx.advance("planning", 0, turns, TURNS[0])
    plan = (await ask(ctx, clock, messages, settings_for(ctx, "planning/plan", limits.plan))).text.strip()
    messages.append({"role": "assistant", "content": plan})
    ctx.run.write("planning/1_plan.md", plan + "\n")
    if turns == 1:
        ctx.run.write(TRAJECTORY, json.dumps(messages, indent=2, ensure_ascii=False) + "\n")
        return _partial(ctx, messages, plan, None)

    ctx.advance("planning", 1, turns, TURNS[1])
    turn = render("planning/architecture.j2", compact=opts.compact, max_files=limits.max_files or 0)
    messages.append({"role": "user", "content": _with_example(turn, "architecture", opts.compact)})
    architecture, raw = await ask_json(
        ctx, clock, messages, ArchitectureDesign, "planning/architecture", limits.json_step
    )
    messages.append({"role": "assistant", "content": raw})
    ctx.run.write("planning/2_architecture.json", architecture.model_dump_json(indent=2) + "\n")
    ctx.run.write("planning/class_diagram.mmd", architecture.class_diagram.strip() + "\n")
    ctx.run.write("planning/sequence_diagram.mmd", architecture.sequence_diagram.strip() + "\n")
    if turns == 2:
        ctx.run.write(TRAJECTORY, json.dumps(messages, indent=2, ensure_ascii=False) + "\n")
        return _partial(ctx, messages, plan, architecture)

    ctx.advance("planning", 2, turns, TURNS[2])
    turn = render("planning/logic.j2", compact=opts.compact)
    messages.append({"role": "user", "content": _with_example(turn, "logic", opts.compact)})
    planned = list(dict.fromkeys(f for f in architecture.file_list if is_source_file(f)))
    logic, raw = await ask_json(ctx, clock, messages, LogicDesign, "planning/logic", limits.json_step, planned)
    messages.append({"role": "assistant", "content": raw})
    ctx.run.write("planning/3_logic.json", logic.model_dump_json(indent=2) + "\n")
    if turns == 3:
        ctx.run.write(TRAJECTORY, json.dumps(messages, indent=2, ensure_ascii=False) + "\n")
        return PlanningResult(messages, plan, architecture, logic, "", ordered_files(ctx, architecture, logic))

    ctx.advance("planning", 3, turns, TURNS[3])
    messages.append({"role": "user", "content": render("planning/config.j2", compact=opts.compact)})
    config_settings = settings_for(ctx, "planning/config", limits.config)
    answer = (await ask(ctx, clock, messages, config_settings)).text
    try:
        config_yaml = _config_text(ctx, answer)
    except StageError:
        ctx.model.cache.evict(ctx.model.key(messages, config_settings))  # a re-run asks again, not replays it
        raise
    messages.append({"role": "assistant", "content": answer})
    ctx.run.write("planning/config.yaml", config_yaml)
    ctx.run.write(TRAJECTORY, json.dumps(messages, indent=2, ensure_ascii=False) + "\n")

    files = ordered_files(ctx, architecture, logic)
    return PlanningResult(messages, plan, architecture, logic, config_yaml, files)


def _with_example(turn: str, step: str, compact: bool) -> str:
    """A compact turn ends with a worked answer for an unrelated toy paper: a small model copies the shape of what it
    sees, and without one it names its files after the JSON keys (``file_list.py``)."""
    return turn + "\n" + render(f"planning/compact/{step}_example.j2") if compact else turn


def _config_text(ctx: RunContext, answer: str) -> str:
    try:
        return extract_yaml(answer).rstrip() + "\n"
    except ValueError as exc:
        if not ctx.options.compact:
            raise StageError(
                f"planning step 'planning/config' gave no valid YAML mapping ({exc}); run dir {ctx.run.root} keeps "
                "the earlier steps: re-run the same command to retry, or try a stronger --model"
            ) from None
        ctx.warn(f"planning: config.yaml answer was not a YAML mapping ({exc}); wrote an empty config")
        return EMPTY_CONFIG


def load(ctx: RunContext, turns: int = FULL) -> PlanningResult | None:
    """The finished planning (of ``turns`` turns) of an earlier run in this directory, or None when it must be
    (re)done."""
    run = ctx.run
    needed = [TRAJECTORY, *ARTIFACTS[:turns]]
    record = ctx.manifest.stages.get("planning")
    if record is None or record.status != "done" or not all(run.exists(p) for p in needed):
        return None
    try:
        trajectory: list[Message] = json.loads(run.read(TRAJECTORY))
        plan = run.read(ARTIFACTS[0]).strip()
        if turns < 3:
            architecture = None
            if turns == 2:
                architecture = ArchitectureDesign.model_validate_json(run.read(ARTIFACTS[1]))
            partial = _partial(ctx, trajectory, plan, architecture)
            return partial if not ctx.manifest.files else replace(partial, files=ctx.manifest.files)
        architecture = ArchitectureDesign.model_validate_json(run.read(ARTIFACTS[1]))
        logic = LogicDesign.model_validate_json(run.read(ARTIFACTS[2]))
        config_yaml = run.read(ARTIFACTS[3]) if turns == FULL else ""
        yaml.safe_load(config_yaml)
    except (ValueError, yaml.YAMLError, RecursionError):
        return None
    files = ctx.manifest.files or ordered_files(ctx, architecture, logic)
    return PlanningResult(trajectory, plan, architecture, logic, config_yaml, files)
