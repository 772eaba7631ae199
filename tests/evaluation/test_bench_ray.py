"""``bench --executor ray`` on a local Ray runtime against the fake server: the same repositories and table as the
local executor, a killed task that does not stop the others, and a re-run that resumes only what was killed."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import itertools
import json
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import Result

from papercoder.errors import InputError
from papercoder.evaluation.executors import key_variables, make_executor
from papercoder.evaluation.ray_limits import ActorLimiter, start_actor
from papercoder.llm.registry import resolve
from papercoder.rundir_lock import LOCK_NAME
from tests.conftest import TEST_KEY
from tests.evaluation.test_bench import BenchScript, paper_text
from tests.evaluation.test_cli import make_app, runner
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply

KEY_VARS = ("OPENAI_API_KEY", "BENCH_RAY_KEY")


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[ModuleType]:
    """One local Ray runtime for the module (starting one takes seconds), started without any key in its
    environment: the workers get the key only as the executor passes it."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI"):
            pytest.fail("Ray must be installed in CI (.ci/run installs papercoder[ray])")
        pytest.skip("ray is not installed (pip install 'papercoder[ray]')")
    import ray

    with pytest.MonkeyPatch.context() as mp:
        for var in KEY_VARS:
            mp.delenv(var, raising=False)
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=200 * 1024**2,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    try:
        yield ray
    finally:
        ray.shutdown()


def make_pair(root: Path) -> Path:
    """Two papers in two groups (alpha has a gold repository)."""
    for rel, title in {"iclr/alpha.md": "Alpha", "icml/gamma.md": "Gamma"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(paper_text(title))
    (root / "iclr" / "alpha_gold").mkdir()
    (root / "iclr" / "alpha_gold" / "net.py").write_text("class GoldNet:\n    pass\n")
    return root


class BlockingScript(BenchScript):
    """The bench script, except that gamma's paper baseline hangs (once) until the test has killed its worker."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked, self.release = threading.Event(), threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply | list[Reply]:  # type: ignore[override]
        step = request.headers.get("x-papercoder-step", "")
        if step == "baseline/paper" and "Gamma Paper" in request.last_user_content and not self.blocked.is_set():
            self.blocked.set()
            self.release.wait(120)
        return super().__call__(request)


def bench(dataset: Path, out: Path, srv: FakeOpenAIServer, *extra: str) -> Result:
    args = ["bench", str(dataset), "--methods", "papercoder,paper", "-n", "2", "--out", str(out), "--model"]
    args += ["fake-model", "--base-url", srv.base_url, "--concurrency", "4", *extra]
    return runner.invoke(make_app(), args, env={"OPENAI_API_KEY": TEST_KEY})


def tables(out: Path) -> dict[str, str]:
    return {name: (out / name).read_text() for name in ("results.md", "results.csv", "papers.csv")}


def repos(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): p.read_text()
        for p in sorted(out.rglob("repo/**/*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.usefixtures("clean_env")
def test_ray_matches_local_and_resumes_after_a_killed_task(tmp_path: Path, ray_runtime: Any) -> None:
    dataset = make_pair(tmp_path / "data")
    local, distributed = tmp_path / "local", tmp_path / "ray"
    with FakeOpenAIServer(BenchScript()) as srv:
        started = time.monotonic()
        done = bench(dataset, local, srv)
        local_s = time.monotonic() - started
        assert done.exit_code == 0, done.output
        srv.raise_errors()
        local_requests = len(srv.chat_requests)

    # First Ray run: gamma's paper baseline hangs; its worker process is killed (SIGKILL) mid-request.
    script = BlockingScript()
    with FakeOpenAIServer(script) as srv:
        outcome: list[Result] = []
        thread = threading.Thread(target=lambda: outcome.append(bench(dataset, distributed, srv, "--executor", "ray")))
        thread.start()
        assert script.blocked.wait(120), "gamma's paper baseline was never asked for"
        holder = (distributed / "icml" / "gamma" / "paper" / LOCK_NAME).read_text().split()
        pid = int(holder[0])
        assert pid != os.getpid()  # the job ran in a Ray worker process, not in the driver
        os.kill(pid, signal.SIGKILL)
        script.release.set()
        thread.join(180)
        assert outcome and outcome[0].exit_code == 0, outcome[0].output if outcome else "bench did not finish"
    first = tables(distributed)
    assert "icml/gamma [paper]: WorkerCrashedError" in first["results.md"]  # recorded; the others went on
    assert (distributed / "iclr" / "alpha" / "paper" / "eval" / "ref-free.json").is_file()
    assert (distributed / "icml" / "gamma" / "papercoder" / "eval" / "ref-free.json").is_file()

    # Second Ray run: only the killed job talks to the model; the others come from their run dirs and caches.
    with FakeOpenAIServer(BenchScript()) as srv:
        started = time.monotonic()
        again = bench(dataset, distributed, srv, "--executor", "ray")
        assert again.exit_code == 0, again.output
        srv.raise_errors()
        asked = [(r.headers["x-papercoder-step"], "Gamma Paper" in r.last_user_content) for r in srv.chat_requests]
    assert asked == [("baseline/paper", True), ("eval/ref-free", True)]
    assert tables(distributed) == tables(local)
    assert repos(distributed) == repos(local)
    assert len(repos(local)) >= 5 + 1  # the pipeline's files and the baselines' main.py, on both papers

    # The overhead of Ray per task, against the local run (a full, uncached run, like the local one).
    fresh = tmp_path / "ray-fresh"
    with FakeOpenAIServer(BenchScript()) as srv:
        started = time.monotonic()
        timed = bench(dataset, fresh, srv, "--executor", "ray")
        ray_s = time.monotonic() - started
        assert timed.exit_code == 0, timed.output
        assert len(srv.chat_requests) == local_requests
    assert tables(fresh) == tables(local)
    # The key reached the workers (they talked to the server) but none of Ray's files: logs, spilled objects.
    session = Path(ray_runtime._private.worker._global_node.get_session_dir_path())
    leaked = [p for p in session.rglob("*") if p.is_file() and TEST_KEY.encode() in p.read_bytes()]
    assert session.is_dir() and not leaked
    tasks = 2 * 2
    print(f"\nbench: local {local_s:.2f}s, ray {ray_s:.2f}s, overhead {(ray_s - local_s) / tasks:.2f}s per task")


@pytest.mark.usefixtures("clean_env", "bwrap_ready")
def test_ray_debug_phase_runs_in_a_task_with_the_named_resources(tmp_path: Path, ray_runtime: Any) -> None:
    dataset = make_pair(tmp_path / "data")
    out = tmp_path / "ray"
    extra = ["--executor", "ray", "--debug", "--task-cpus", "1.5", "--methods", "paper"]
    with FakeOpenAIServer(BenchScript()) as srv:
        done = bench(dataset, out, srv, *extra)
        assert done.exit_code == 0, done.output
        srv.raise_errors()
    papers = list(csv.DictReader((out / "papers.csv").open()))
    assert [(p["paper"], p["debug"]) for p in papers] == [("alpha", "converged"), ("gamma", "converged")]
    summary = json.loads((out / "results.json").read_text())["records"][0]["debug"]
    assert (summary["converged"], summary["runs"], summary["resources"]) == (True, 1, {"CPU": 1.5})
    with FakeOpenAIServer(BenchScript()) as srv:  # resumed: neither the code nor the model runs again
        again = bench(dataset, out, srv, *extra)
        assert again.exit_code == 0, again.output
        assert srv.chat_requests == []


def test_key_variables_are_only_the_models_keys() -> None:
    env = {"OPENAI_API_KEY": TEST_KEY, "BENCH_RAY_KEY": "sk-judge-0123456789", "HOME": "/root", "AWS_SECRET": "x"}
    generator = resolve("fake-model", "http://127.0.0.1:9/v1", None, env=env)
    judge = resolve("judge-model", "http://127.0.0.1:9/v1", "BENCH_RAY_KEY", env=env)
    wanted = {"OPENAI_API_KEY": TEST_KEY, "BENCH_RAY_KEY": env["BENCH_RAY_KEY"]}
    assert key_variables(generator, judge, env=env) == wanted
    assert key_variables(resolve("m", "http://127.0.0.1:9/v1", None, env={}), env={}) == {}
    with_password = resolve("fake-model", "http://user:secret@127.0.0.1:9/v1", None, env=env)
    with pytest.raises(InputError, match="--api-key-env"):
        key_variables(with_password, env=env)


def test_executor_options() -> None:
    with pytest.raises(InputError, match="--executor dask"):
        make_executor("dask")
    with pytest.raises(InputError, match="--ray-address is for --executor ray"):
        make_executor("local", "127.0.0.1:6379")


def test_unreachable_cluster_is_one_line_in_seconds(tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    dataset = make_pair(tmp_path / "data")
    started = time.monotonic()
    with FakeOpenAIServer(BenchScript()) as srv:
        done = bench(dataset, tmp_path / "out", srv, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert done.exit_code == 2 and f"--ray-address 127.0.0.1:{port}: cannot join that Ray cluster" in done.output
    assert time.monotonic() - started < 30


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("executor", ["ray", "local"])
def test_rpm_is_one_budget_for_every_job(tmp_path: Path, executor: str, request: pytest.FixtureRequest) -> None:
    """Two papers' jobs run at once (under Ray, in worker processes); ``--rpm 100`` spaces all their calls
    together, 0.6 s apart, and the driver's progress shows the waits (under Ray, the workers had them)."""
    if executor == "ray":
        request.getfixturevalue("ray_runtime")
    dataset = make_pair(tmp_path / "data")
    args = ["bench", str(dataset), "--methods", "paper,abstract", "-n", "2", "--out", str(tmp_path / "out")]
    args += ["--model", "fake-model", "--executor", executor, "--concurrency", "4", "--rpm", "100"]
    with FakeOpenAIServer(BenchScript()) as srv:
        done = runner.invoke(make_app(), [*args, "--base-url", srv.base_url], env={"OPENAI_API_KEY": TEST_KEY})
        assert done.exit_code == 0, done.output
        srv.raise_errors()
        calls = sorted(srv.chat_requests, key=lambda r: r.started_at)
    papers = ["Gamma Paper" in r.last_user_content for r in calls]
    assert len(calls) == 8
    # The jobs overlapped (their calls interleave), so per-worker limits would have let calls go closer together.
    assert sum(a != b for a, b in itertools.pairwise(papers)) >= 2
    # Admitted 0.6 s apart by the actor; they reach the server give or take a worker's own latency.
    gaps = [b.started_at - a.started_at for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.3 and calls[-1].started_at - calls[0].started_at >= 7 * 0.6 * 0.95, gaps
    shown = " ".join(done.output.split())  # the console wraps long lines
    if executor == "ray":
        assert re.search(r"rate-limit fake-model: \d+ calls waited [\d.]+ s in all so far \(requests per minute", shown)
    else:
        assert re.search(r"rate-limit waiting 0\.[56] s: requests per minute \(--rpm\)", shown), shown


def test_a_servers_retry_after_holds_back_another_worker(ray_runtime: Any) -> None:
    """A 429's Retry-After seen by one worker (sent to the actor) makes a call from another process wait."""
    handle = start_actor(ray_runtime, None, None)
    ActorLimiter(handle, wants_tokens=False).observe({"retry-after": "1.5", "content-type": "text/plain"}, 429)
    assert ray_runtime.get(handle.stats.remote()).waits == 0  # after the observation: one caller's calls keep order

    @ray_runtime.remote(num_cpus=0.25)
    def elsewhere(handle: Any) -> tuple[float, int]:
        limiter = ActorLimiter(handle, wants_tokens=False)
        return asyncio.run(limiter.acquire(10)), os.getpid()

    waited, pid = ray_runtime.get(elsewhere.remote(handle), timeout=60)
    assert pid != os.getpid() and 1.0 <= waited <= 1.6
    stats = ray_runtime.get(handle.stats.remote())
    assert (stats.waits, stats.reason) == (1, "the server asked to retry later")
