"""The debug loop: run the repository, show the model the failure, apply its edits, run again (``debug/``).

The only stage that executes generated code, and only when asked (``papercoder debug`` or ``run --debug``). Each
run goes through a sandbox backend (``papercoder.repo.sandbox``: bwrap by default, docker/podman, or ``none`` when
asked) in ``repo/``, with a timeout that kills everything it started, an allow-listed environment (no credentials)
and ``PAPERCODER_SMOKE=1``, optionally inside its own virtual environment (``RUN_DIR/venv``). Two phases: creating
the venv and installing ``requirements.txt`` may use the network (``--network install``, the default); the command
itself runs offline. A failed run gives the model the error's tail and the files it involves (step
``debug/iter-NN``); its SEARCH/REPLACE edits are applied and the command runs again, until it exits 0 or the fix
rounds are spent. ``debug/iter-NN/`` keeps each run (``result.json``, ``output.txt``) and each fix (``answer.md``,
``fix.diff``); ``debug/summary.json`` the outcome and the paper's metric, lines modified over total lines.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from papercoder._events import EventHandler, ignore
from papercoder.errors import InputError, PapercoderError
from papercoder.fsutil import disk_errors
from papercoder.llm.base import ChatModel
from papercoder.llm.budget import Budget
from papercoder.llm.cache import CachedModel, CallCache
from papercoder.pipeline.context import RunContext, with_family
from papercoder.pipeline.fixes import answer_tokens, fit_files, fix_round
from papercoder.pipeline.grounding import grounded
from papercoder.repo.files import count_lines, entry_point, files_in_error, modified_lines, snapshot
from papercoder.repo.sandbox import (
    SMOKE_ENV,
    Backend,
    Execution,
    Phase,
    SandboxSpec,
    allowed_env,
    choose_backend,
    prepare_venv,
    tail,
    venv_env,
)
from papercoder.run_dir import RunDir

PROMPT_RESERVE = 1500  # tokens of the debug prompt besides the files
INSTALL_TIMEOUT = 1800.0


class DebugNotConverged(PapercoderError):
    """The command still fails after every fix round (exit code 1)."""


@dataclass(frozen=True)
class DebugOptions:
    """What ``papercoder debug`` runs and for how long.

    Attributes:
        command: The shell command, run in ``repo/``; None means ``python ENTRY`` for the repository's entry point.
        max_iters: Fix rounds (model calls) at most; the command runs once more after the last one.
        timeout: Seconds one run may take before its process group is killed.
        venv: Run inside ``RUN_DIR/venv`` with ``requirements.txt`` installed (re-installed when it changes).
        sandbox: Which backend, image, GPUs and network policy (see :func:`papercoder.repo.sandbox.choose_backend`).
    """

    command: str | None = None
    max_iters: int = 3
    timeout: float = 600.0
    venv: bool = False
    sandbox: SandboxSpec = field(default_factory=SandboxSpec)


@dataclass(frozen=True)
class DebugResult:
    """The outcome: whether the command ended with exit 0, how many runs and fix rounds it took, and the lines the
    fixes modified out of the repository's lines before debugging."""

    converged: bool
    command: str
    runs: int
    fixes: int
    exit_code: int
    timed_out: bool
    modified_lines: int
    total_lines: int
    log_dir: str
    sandbox: str = ""
    network: str = ""

    @property
    def modified_ratio(self) -> float:
        return self.modified_lines / self.total_lines if self.total_lines else 0.0

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "modified_ratio": round(self.modified_ratio, 6)}


def open_run(
    root: Path, model: ChatModel, *, on_event: EventHandler = ignore, budget: Budget | None = None
) -> RunContext:
    """A context on an existing run directory (its manifest, its options, its call cache) for ``model``.

    Raises:
        InputError: ``root`` is not a run directory or has no ``repo/``.
    """
    run = RunDir(root)
    manifest = run.load_manifest()
    if manifest is None:
        raise InputError(f"not a papercoder run directory (no readable manifest.json): {root}")
    if not run.repo.is_dir():
        raise InputError(f"{root} has no repo/ folder to debug; run `papercoder run` first")
    options, _ = with_family(manifest.settings, model.name)  # the debugging model's family, which may not be the run's
    return RunContext(run, CachedModel(model, CallCache(run.calls, run.flusher), budget), options, manifest, on_event)


def default_command(ctx: RunContext) -> str:
    """``python ENTRY`` for the repository's entry point; InputError when there is none."""
    entry = entry_point(snapshot(ctx.run.repo), ctx.manifest.files)
    if entry is None:
        raise InputError(f'{ctx.run.repo} has no Python entry point to run; pass --cmd "..."')
    return f"python {entry}"


def involved(output: str, ctx: RunContext, files: dict[str, str], command: str) -> list[str]:
    """Files to show for a failure: those the error names (innermost frame first), the files the command names, the
    entry point, config.yaml and requirements.txt, then the other Python files in task order."""
    named = list(reversed(files_in_error(output, ctx.run.repo, files)))
    in_command = [p for p in files if p in command.split()]
    entry = entry_point(files, ctx.manifest.files)
    rest = [p for p in [*ctx.manifest.files, *sorted(files)] if p.endswith(".py")]
    wanted = [*named, *in_command, *([entry] if entry else []), "config.yaml", "requirements.txt", *rest]
    return [p for p in dict.fromkeys(wanted) if p in files]


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with disk_errors(folder / name):
        (folder / name).write_text(text, encoding="utf-8")


def _result(execution: Execution, n: int, backend: Backend) -> dict[str, Any]:
    return {
        "iteration": n,
        "command": execution.command,
        "exit_code": execution.exit_code,
        "timed_out": execution.timed_out,
        "seconds": execution.seconds,
        "sandbox": backend.name,
        "network": backend.networked("run"),
        "fix": None,
    }


class _Runner:
    """Runs the command in the sandbox, in the venv when asked, re-installing the requirements when they change
    (the install phase, which may use the network; the run phase may not unless ``--network always``)."""

    def __init__(self, ctx: RunContext, options: DebugOptions, log: Path, backend: Backend) -> None:
        self.ctx, self.options, self.log, self.backend = ctx, options, log, backend
        self.venv = ctx.run.root / "venv"
        self.cache = ctx.run.root / "cache"  # pip's cache survives the sandbox's empty home
        self.installed: str | None = None

    def _env(self, phase: Phase) -> dict[str, str]:
        env = allowed_env(phase=phase, smoke=True)
        if self.options.venv:
            env["XDG_CACHE_HOME"] = str(self.cache)
        return env

    def _install(self) -> None:
        wanted = self.ctx.run.repo / "requirements.txt"
        requirements = wanted.read_text(encoding="utf-8", errors="replace") if wanted.is_file() else ""
        if self.installed != requirements:
            self.ctx.note("debug", f"installing requirements.txt into {self.venv}")
            limit = max(INSTALL_TIMEOUT, self.options.timeout)
            env, repo = self._env("install"), self.ctx.run.repo
            install = prepare_venv(self.backend, self.venv, repo, env, timeout=limit, writable=[self.cache])
            self.installed = requirements  # a failed install is not retried until requirements.txt changes
            if install is not None:
                network = "with" if self.backend.networked("install") else "without"
                report = f"$ {install.command}\n# {self.backend.name} sandbox, {network} network\n"
                report += f"exit {install.exit_code}\n{tail(install.output, 200)}\n"
                _write(self.log, "install.txt", report)
                if not install.ok:
                    where = self.log / "install.txt"
                    self.ctx.warn(f"debug: installing requirements.txt failed (exit {install.exit_code}); see {where}")

    def _execute(self, command: str) -> Execution:
        env, writable = self._env("run"), []
        if self.options.venv:
            self._install()
            env, writable = venv_env(self.venv, env), [self.venv, self.cache]
        timeout = self.options.timeout
        return self.backend.execute(
            command, self.ctx.run.repo, timeout=timeout, phase="run", env=env, writable=writable
        )

    async def __call__(self, command: str) -> Execution:
        return await asyncio.to_thread(self._execute, command)


async def run(ctx: RunContext, options: DebugOptions) -> DebugResult:
    """Run and fix until the command exits 0 or ``options.max_iters`` fix rounds are spent; never raises for a
    command that keeps failing (see :class:`DebugResult`; the CLI turns that into exit code 1)."""
    command = options.command or default_command(ctx)
    backend = choose_backend(options.sandbox)
    if backend.warning:
        ctx.warn(backend.warning)
    log = ctx.run.root / "debug"
    if log.is_dir():
        shutil.rmtree(log)  # the log is of this debug session
    with ctx.stage("debug") as clock:
        original = snapshot(ctx.run.repo)
        runner = _Runner(ctx, options, log, backend)
        ctx.note("debug", f"sandbox: {backend.name} (network: {backend.network})")
        feedback, fixes, execution = "", 0, None
        for n in range(1, options.max_iters + 2):
            folder = log / f"iter-{n:02d}"
            ctx.note("debug", f"run {n}: {command}")
            execution = await runner(command)
            result = _result(execution, n, backend)
            _write(folder, "output.txt", tail(execution.output, 200, 20_000) + "\n")
            _write(folder, "result.json", json.dumps(result, indent=2) + "\n")
            if execution.ok or n > options.max_iters:
                break
            how = "timed out" if execution.timed_out else f"exit {execution.exit_code}"
            ctx.note("debug", f"run {n} failed ({how}): {last_error(execution.output)}; asking for a fix", lasting=True)
            files = snapshot(ctx.run.repo)
            wanted = involved(execution.output, ctx, files, command)
            grounding, extra = grounded(ctx, wanted, tail(execution.output, 40))
            shown = fit_files(ctx, wanted, files, PROMPT_RESERVE + answer_tokens(ctx) + extra)
            done = await fix_round(
                ctx,
                clock,
                f"debug/iter-{n:02d}",
                "debug/iteration.j2",
                shown,
                command=command,
                exit_code=execution.exit_code,
                timed_out=execution.timed_out,
                timeout=f"{options.timeout:g}",
                output=tail(execution.output),
                feedback=feedback,
                smoke_env=SMOKE_ENV,
                offline=not backend.networked("run"),
                grounding=grounding,
            )
            fixes += 1
            feedback = done.feedback
            refused = f", {len(done.failures)} refused" if done.failures else ""
            if done.applied:
                changed = ", ".join(done.changed)
                ctx.note("debug", f"fix {n}: {done.applied} edits applied to {changed}{refused}", lasting=True)
            else:
                ctx.warn(f"debug: fix {n} held no edit that applied{refused}; run {n + 1} is of the same code")
            _write(folder, "answer.md", done.answer)
            _write(folder, "fix.diff", done.diff)
            result["fix"] = done.record()
            _write(folder, "result.json", json.dumps(result, indent=2) + "\n")
            ctx.save()
        assert execution is not None
        final = snapshot(ctx.run.repo)
        outcome = DebugResult(
            converged=execution.ok,
            command=command,
            runs=n,
            fixes=fixes,
            exit_code=execution.exit_code,
            timed_out=execution.timed_out,
            modified_lines=modified_lines(original, final),
            total_lines=sum(count_lines(t) for t in original.values()),
            log_dir=str(log),
            sandbox=backend.name,
            network=backend.network,
        )
        _write(log, "summary.json", json.dumps(outcome.record(), indent=2) + "\n")
        clock.finish("done" if outcome.converged else "failed", None if outcome.converged else failure_message(outcome))
    _refresh_report(ctx)
    return outcome


def last_error(output: str) -> str:
    """The line that names the failure: the last ``SomethingError: ...`` line of the output, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt|Exit)\b.*", line)]
    found = (named or lines or ["no output"])[-1]
    return found if len(found) <= 160 else found[:157] + "…"


def _refresh_report(ctx: RunContext) -> None:
    """Rewrite ``report.html`` with the debug iterations, when the run has one; a failure is only a warning."""
    if not (ctx.run.root / "report.html").is_file():
        return
    from papercoder.report import write_report

    try:
        write_report(ctx.run.root)
    except Exception as exc:  # the debug loop itself is done: keep its outcome
        ctx.warn(f"report: could not rewrite report.html ({type(exc).__name__}: {exc})")
        ctx.save()


def failure_message(outcome: DebugResult) -> str:
    """The one line for a loop that did not converge."""
    how = "timed out" if outcome.timed_out else f"exit {outcome.exit_code}"
    return (
        f"debug: `{outcome.command}` still fails ({how}) after {outcome.fixes} fix iteration"
        f"{'s' if outcome.fixes != 1 else ''} ({outcome.runs} runs); logs in {outcome.log_dir}/"
    )
