"""Where ``papercoder bench`` runs its jobs: in this process (``local``) or as Ray tasks (``ray``).

A job is one method on one paper with one seed (:class:`~papercoder.evaluation.bench.JobSpec`); both executors run
the same job code (``bench_job.py``) and return one :class:`~papercoder.evaluation.bench.PaperRecord` per job, in
order, so the results table does not depend on the executor.

``local`` runs the jobs as asyncio tasks sharing the driver's two model clients, ``--concurrency`` at a time.

``ray`` (``pip install 'papercoder[ray]'``) runs each job in a Ray worker process: one task per job, which builds
its own model clients from the resolved options and runs the job with ``asyncio.run``. With ``--debug`` a job is
three chained tasks instead: generate, then the debug loop in a task that asks Ray for ``--task-cpus`` CPUs and
``--task-gpus`` GPUs (the generated code runs there), then the judge. Run directories are written under ``--out``
by the workers, so ``--out`` must be storage every node sees; the driver only collects records. Resuming works as
with ``local`` because the state is the run directories and their call caches, not the tasks. A task whose worker
dies is not retried: it is recorded as failed and the next run of the same command resumes it.

Model keys reach the workers inside the tasks' arguments (:class:`TaskKeys`), only the variables the two models read,
and are handed to the model clients without touching the workers' environment. Not as Ray ``runtime_env``
variables: Ray's runtime-env agent writes those, values included, to its log files. Task arguments this small
travel inside the task itself (memory and Ray's own connections; enable Ray's TLS on a network you do not trust).
A key carried in a ``--base-url`` is refused rather than shipped.

Rate limits (``--rpm``/``--tpm`` and the server's headers) hold for the whole run, not per worker: the driver starts
one limiter actor per served model (``ray_limits.py``) and every task's model client waits in it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from papercoder.errors import InputError
from papercoder.evaluation.bench import BenchConfig, JobSpec, PaperRecord, ProgressFn, discover
from papercoder.evaluation.bench_job import label, make_job, one_line, run_dir_of
from papercoder.evaluation.ray_limits import ActorLimiter, LimiterStats, start_actor
from papercoder.llm import registry
from papercoder.llm.base import ChatModel
from papercoder.llm.registry import ModelChoice

EXECUTORS = ("local", "ray")
# Model-call phases wait on the network, not the CPU: a quarter CPU each lets four share a core in Ray's accounting.
# How many run at once is --concurrency; only the debug phase asks for what the user named.
LLM_TASK_CPUS = 0.25
# A local Ray runtime needs little shared memory: the tasks pass small records, the run dirs are files.
LOCAL_OBJECT_STORE = 200 * 1024**2
#: Seconds between two looks at the shared rate limiters' waits, while the tasks run.
RATE_POLL_S = 2.0


@dataclass
class BenchContext:
    """What every job of one benchmark shares: the output folder, the options, and the models."""

    out: Path
    config: BenchConfig
    choice: ModelChoice
    judge_choice: ModelChoice
    model: ChatModel  # the driver's clients: used in-process only (remote workers build their own)
    judge: ChatModel
    progress: ProgressFn


class Executor(Protocol):
    """Runs the jobs of a benchmark and returns one record per job, in the jobs' order."""

    async def run(self, jobs: Sequence[JobSpec], context: BenchContext) -> list[PaperRecord]: ...


class LocalExecutor:
    """The jobs as asyncio tasks in this process, ``--concurrency`` at a time (one with the embedded model)."""

    async def run(self, jobs: Sequence[JobSpec], context: BenchContext) -> list[PaperRecord]:
        c = context
        limit = 1 if c.choice.provider == "local" else max(1, c.config.concurrency)  # the embedded model is not shared
        gate = asyncio.Semaphore(limit)

        async def guarded(spec: JobSpec) -> PaperRecord:
            async with gate:
                return await make_job(spec, c.out, c.config, c.choice, c.model, c.judge, c.progress)()

        return list(await asyncio.gather(*(guarded(spec) for spec in jobs)))


@dataclass(frozen=True)
class _Remote:
    """What a Ray task needs besides its job: picklable, without model clients or keys."""

    out: Path
    config: BenchConfig
    choice: ModelChoice
    judge_choice: ModelChoice
    # ``registry.limit_key`` (endpoint, model) -> the shared limiter's actor handle
    limiters: dict[tuple[str, str], Any] = field(default_factory=dict)


class TaskKeys:
    """The models' key variables for a worker: a plain mapping that never shows its values in a repr."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def __repr__(self) -> str:
        return f"TaskKeys({sorted(self.values)})"


def _worker_progress(stage: str, message: str) -> None:
    # Ray forwards a worker's stderr to the driver's; the driver reports each job's end itself.
    if stage == "warning":
        print(f"warning: {message}", file=sys.stderr, flush=True)


async def _run_phase(
    phase: str, spec: JobSpec, remote: _Remote, keys: TaskKeys, state: tuple[PaperRecord, str | None] | None
) -> tuple[PaperRecord, str | None]:
    model = _build(remote.choice, remote, keys)
    judge = model if remote.judge_choice == remote.choice else _build(remote.judge_choice, remote, keys)
    try:
        job = make_job(spec, remote.out, remote.config, remote.choice, model, judge, _worker_progress)
        if phase == "all":
            return await job(), None
        if phase == "generate":
            repo = await job.generate_phase()
            return job.record, None if repo is None else str(repo)
        assert state is not None
        job.record, repo_text = state
        if repo_text is None:  # an earlier phase ended the job
            return job.record, None
        if phase == "debug":
            await job.debug_phase()
            if job.record.debug is not None:  # what this task was given, to check against --task-cpus/--task-gpus
                resources = _import_ray().get_runtime_context().get_assigned_resources()
                job.record.debug["resources"] = {k: float(v) for k, v in sorted(resources.items())}
            return job.record, repo_text
        return await job.judge_phase(Path(repo_text)), repo_text
    finally:
        await model.aclose()
        if judge is not model:
            await judge.aclose()


def _build(choice: ModelChoice, remote: _Remote, keys: TaskKeys) -> ChatModel:
    """A worker's client for ``choice``, drawing on the benchmark's shared rate limiter (``ray_limits.py``)."""
    handle = remote.limiters.get(registry.limit_key(choice))
    limiter = None if handle is None else ActorLimiter(handle, wants_tokens=remote.config.tpm is not None)
    return registry.build(choice, env=keys.values, rate_limiter=limiter)


def _task(
    phase: str, spec: JobSpec, remote: _Remote, keys: TaskKeys, state: tuple[PaperRecord, str | None] | None
) -> tuple[PaperRecord, str | None]:
    """The body of every Ray task: one phase of one job, on its own event loop in the worker process."""
    return asyncio.run(_run_phase(phase, spec, remote, keys, state))


def _import_ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise InputError("--executor ray needs Ray: pip install 'papercoder[ray]'") from None


def key_variables(*choices: ModelChoice, env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables the workers need to build the models: the models' key variables, nothing else.

    Raises:
        InputError: a ``--base-url`` carries credentials (they would travel inside the task's arguments).
    """
    environ = dict(os.environ) if env is None else env
    for choice in choices:
        if choice.credentials:
            raise InputError(
                "--executor ray: a --base-url with credentials in it is not sent to Ray workers; "
                "put the key in a variable and pass --api-key-env VAR"
            )
    names = {c.api_key_env for c in choices if c.api_key_env}
    return {name: environ[name] for name in sorted(names) if name in environ}


class RayExecutor:
    """Each job as Ray tasks (see the module docstring) on the cluster at ``address``, or on a local runtime."""

    def __init__(
        self,
        address: str | None = None,
        *,
        task_cpus: float = 1.0,
        task_gpus: float = 0.0,
        num_cpus: int | None = None,
    ) -> None:
        self.address, self.task_cpus, self.task_gpus, self.num_cpus = address, task_cpus, task_gpus, num_cpus

    def _connect(self, ray: Any) -> bool:
        """Connect to Ray; True when this call started the runtime (and so shuts it down afterwards)."""
        if self.address is not None:
            _probe(self.address)
        if ray.is_initialized():  # a caller (a notebook, a test) already connected: use that runtime as it is
            return False
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if self.address is None:
            options.update(num_cpus=self.num_cpus, object_store_memory=LOCAL_OBJECT_STORE)
        try:
            ray.init(address=self.address, **options)
        except ConnectionError as exc:
            raise _unreachable(self.address or "(local)", one_line(exc)) from None
        return True

    async def run(self, jobs: Sequence[JobSpec], context: BenchContext) -> list[PaperRecord]:
        ray = _import_ray()
        keys = TaskKeys(key_variables(context.choice, context.judge_choice))
        # Workers may start in another folder, or on another machine: every path they get is absolute.
        out = context.out.resolve()
        specs = [
            replace(
                s,
                entry=replace(
                    s.entry, path=s.entry.path.resolve(), gold=s.entry.gold.resolve() if s.entry.gold else None
                ),
            )
            for s in jobs
        ]
        own = self._connect(ray)
        try:
            # One shared limiter per served model, for every worker (``ray_limits.py``); the embedded model has none.
            config = context.config
            served = {registry.limit_key(c) for c in (context.choice, context.judge_choice) if c.provider != "local"}
            limiters = {key: start_actor(ray, config.rpm, config.tpm) for key in sorted(served)}
            remote = _Remote(out, config, context.choice, context.judge_choice, limiters)
            return await asyncio.to_thread(self._drive, ray, specs, remote, keys, context)
        finally:
            if own:
                ray.shutdown()

    def _drive(
        self, ray: Any, specs: list[JobSpec], remote: _Remote, keys: TaskKeys, context: BenchContext
    ) -> list[PaperRecord]:
        task = ray.remote(_task)
        llm = task.options(num_cpus=LLM_TASK_CPUS, max_retries=0)
        execute = task.options(num_cpus=self.task_cpus, num_gpus=self.task_gpus, max_retries=0)

        def submit(spec: JobSpec) -> Any:
            if remote.config.debug is None:
                return llm.remote("all", spec, remote, keys, None)
            generated = llm.remote("generate", spec, remote, keys, None)
            return llm.remote("judge", spec, remote, keys, execute.remote("debug", spec, remote, keys, generated))

        records: list[PaperRecord | None] = [None] * len(specs)
        waiting = list(range(len(specs)))
        running: dict[Any, int] = {}
        limit = max(1, remote.config.concurrency)
        shown: dict[tuple[str, str], int] = {}
        while waiting or running:
            while waiting and len(running) < limit:
                i = waiting.pop(0)
                running[submit(specs[i])] = i
            ready, _ = ray.wait(list(running), num_returns=1, timeout=RATE_POLL_S if remote.limiters else None)
            for ref in ready:
                i = running.pop(ref)
                records[i] = self._collect(ray, ref, specs[i], remote, context.progress)
            self._show_waits(ray, remote, shown, context.progress)
        return [r for r in records if r is not None]

    @staticmethod
    def _show_waits(ray: Any, remote: _Remote, shown: dict[tuple[str, str], int], progress: ProgressFn) -> None:
        """Tell the progress view of the shared limiters' waits since the last look (they happen in the workers)."""
        for key, handle in remote.limiters.items():
            try:
                stats: LimiterStats = ray.get(handle.stats.remote(), timeout=RATE_POLL_S)
            except ray.exceptions.RayError:  # busy or gone: the next look, or the jobs' own errors, will tell
                continue
            if stats.waits > shown.get(key, 0) and stats.reason:
                shown[key] = stats.waits
                progress(
                    "rate-limit",
                    f"{key[1]}: {stats.waits} calls waited {stats.waited_s:.1f} s in all so far ({stats.reason})",
                )

    def _collect(self, ray: Any, ref: Any, spec: JobSpec, remote: _Remote, progress: ProgressFn) -> PaperRecord:
        where = label(spec)
        try:
            record: PaperRecord = ray.get(ref)[0]
        except ray.exceptions.RayTaskError as exc:  # the job's code raised past its own handling
            return self._failed(spec, remote, one_line(exc.cause if exc.cause is not None else exc), where, progress)
        except ray.exceptions.RayError as exc:  # the worker died, the task was cancelled, the node was lost
            message = f"{type(exc).__name__}: the Ray task did not finish; run the same command again to resume it"
            return self._failed(spec, remote, message, where, progress)
        failed = record.error or next((s.error for s in record.scores.values() if s.error), None)
        progress("bench", f"{where}: {'done' if failed is None else 'done with errors'}")
        return record

    @staticmethod
    def _failed(spec: JobSpec, remote: _Remote, error: str, where: str, progress: ProgressFn) -> PaperRecord:
        progress("warning", f"{where}: {error}")
        return PaperRecord(
            group=spec.entry.group,
            paper=spec.entry.name,
            method=spec.method,
            run_dir=str(run_dir_of(remote.out, spec.entry, spec.method, spec.seed)),
            has_gold=spec.entry.gold is not None,
            seed=spec.seed,
            error=error,
        )


def _unreachable(address: str, why: str) -> InputError:
    return InputError(
        f"--ray-address {address}: cannot join that Ray cluster ({why}); "
        "start it with `ray start --head` or drop --ray-address for a local runtime"
    )


def _probe(address: str) -> None:
    """Fail in seconds on an address nothing listens at: ``ray.init`` retries such an address for minutes."""
    match = re.fullmatch(r"(?:ray://)?\[?([^\[\]/]+?)\]?:(\d+)", address.strip())
    if match is None:  # "auto", or a form Ray itself knows better
        return
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=5).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or type(exc).__name__) from None


def make_executor(name: str, address: str | None = None, *, task_cpus: float = 1.0, task_gpus: float = 0.0) -> Executor:
    """The executor ``--executor NAME`` names.

    Raises:
        InputError: an unknown name, or Ray options given to the local executor.
    """
    if name == "local":
        if address is not None:
            raise InputError("--ray-address is for --executor ray; add --executor ray or drop --ray-address")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, task_cpus=task_cpus, task_gpus=task_gpus)
    raise InputError(f"--executor {name}: choose {' or '.join(EXECUTORS)}")


async def run_bench(
    dataset: Path,
    out: Path,
    config: BenchConfig,
    *,
    choice: ModelChoice,
    model: ChatModel,
    judge: ChatModel,
    progress: ProgressFn = lambda stage, message: None,
    executor: Executor | None = None,
    judge_choice: ModelChoice | None = None,
) -> list[PaperRecord]:
    """Run every method of ``config`` on every paper of ``dataset`` into ``out`` and judge the repositories.

    Args:
        dataset: the dataset folder (see the module docstring).
        out: where run directories and results go.
        config: methods, judge modes, samples and concurrency.
        choice: the generating model's resolved options (the pipeline records them).
        model: the generating model.
        judge: the judge model.
        progress: called with (stage, message) as work proceeds.
        executor: where the jobs run (``executors.py``); default: in this process, as asyncio tasks.
        judge_choice: the judge's resolved options (an executor that builds models elsewhere needs them);
            default: ``choice``.

    Returns:
        One record per paper, method and seed, in dataset order.
    """

    entries = discover(dataset)
    out.mkdir(parents=True, exist_ok=True)
    # Seeds count from 1, as in ``bench --paperbench``; a single run keeps the unseeded layout of earlier benches.
    seeds: list[int | None] = list(range(1, config.seeds + 1)) if config.seeds > 1 else [None]
    jobs = [JobSpec(e, m, s) for e in entries for m in config.methods for s in (seeds if m != "oracle" else [None])]
    context = BenchContext(out, config, choice, judge_choice or choice, model, judge, progress)
    return await (executor or LocalExecutor()).run(jobs, context)
