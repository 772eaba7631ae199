"""The client-side rate limiter: spacing by requests and tokens per minute (with a fake clock), the server's
Retry-After and x-ratelimit headers, sharing across calls, and its waits in the progress display."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from papercoder._api import rate_wait_notes
from papercoder._cli.progress import ProgressView
from papercoder.llm.base import CallSettings
from papercoder.llm.openai_compat import OpenAICompatModel
from papercoder.llm.ratelimit import TokenBucketLimiter, parse_duration, retry_after, shared_limiter
from tests.conftest import EXAMPLE_PAPER
from tests.fakes.openai_server import ErrorReply, FakeOpenAIServer, Reply, ScriptedResponder
from tests.scenario import Paper2CodeScript
from tests.test_pipeline_failures import invoke, run_args


class FakeClock:
    """A test double of the limiter's clock: sleeping moves time on at once, and every sleep is recorded."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


async def admitted_at(limiter: TokenBucketLimiter, clock: FakeClock, sizes: list[int]) -> list[float]:
    """The times at which concurrent calls of ``sizes`` tokens are let through, in arrival order."""
    times: list[float] = []

    async def one(tokens: int) -> None:
        await limiter.acquire(tokens)
        times.append(clock.now())

    await asyncio.gather(*(one(n) for n in sizes))
    return times


def test_requests_per_minute_are_spaced_evenly() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rpm=30, clock=clock)  # one request every 2 s, no burst
    times = asyncio.run(admitted_at(limiter, clock, [10] * 5))
    assert times == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0])
    assert limiter.waits == 4 and limiter.waited_s == pytest.approx(8.0)


def test_a_fast_rate_is_spaced_too_not_sent_in_a_burst() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rpm=180, clock=clock)  # 3 a second
    times = asyncio.run(admitted_at(limiter, clock, [1] * 4))
    assert times == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_tokens_per_minute_space_calls_by_their_size_and_a_large_call_leaves_debt() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(tpm=6000, clock=clock)  # 100 tokens a second, a bucket of 100
    times = asyncio.run(admitted_at(limiter, clock, [100, 300, 50]))
    # 300 > the bucket: sent once the bucket is full (1 s), leaving it 200 in debt; 50 then waits 2.5 s.
    assert times == pytest.approx([0.0, 1.0, 3.5])


def test_settle_gives_back_what_a_call_did_not_use() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(tpm=6000, clock=clock)

    async def go() -> float:
        await limiter.acquire(100)
        limiter.settle(estimated=100, actual=40)  # 60 back: the next 60 need no wait
        return await limiter.acquire(60)

    assert asyncio.run(go()) == 0.0


def test_retry_after_holds_back_every_call_and_is_reported() -> None:
    clock = FakeClock()
    heard: list[tuple[float, str]] = []
    limiter = TokenBucketLimiter(clock=clock, on_wait=lambda s, why: heard.append((s, why)))
    limiter.observe({"retry-after": "7"}, 429)
    times = asyncio.run(admitted_at(limiter, clock, [1, 1]))
    assert times == [7.0, 7.0]
    assert heard == [(7.0, "the server asked to retry later")]  # one report: the second call had no wait left
    limiter.observe({"retry-after-ms": "250", "retry-after": "1"}, 429)  # the precise one wins
    assert limiter.blocked_until == pytest.approx(7.25)


def test_server_rate_limit_headers_hold_back_what_the_server_would_refuse() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    limiter.observe({"x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "6m0s"}, 200)
    assert asyncio.run(admitted_at(limiter, clock, [80])) == [0.0]  # fits what is left
    assert asyncio.run(admitted_at(limiter, clock, [80])) == [360.0]  # 20 left: wait for the reset
    limiter.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"}, 200)
    assert asyncio.run(admitted_at(limiter, clock, [1])) == pytest.approx([360.02])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("2.5", 2.5), ("soon", None), ("", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_ignores_an_http_date() -> None:
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None


def test_one_limiter_per_endpoint_and_model_in_a_process() -> None:
    a = shared_limiter("http://limits.test/v1", "m", 60, None)
    b = shared_limiter("http://limits.test/v1", "m", 120, 1000)
    assert a is b and a.requests is not None and a.requests.per_minute == 120 and a.tokens is not None
    assert shared_limiter("http://limits.test/v1", "other", None, None) is not a


def test_calls_to_the_server_are_spaced_and_a_429_pauses_the_others() -> None:
    """Real HTTP: the limiter spaces three calls; then the Retry-After of a 429 to one call (seen through the
    client's response hook while the SDK retries that call) holds back the other call too."""
    limiter = TokenBucketLimiter(rpm=300)  # one each 0.2 s
    replies = [Reply("a"), Reply("b"), Reply("c"), ErrorReply.rate_limit(0.3), Reply("d"), Reply("e")]
    with FakeOpenAIServer(ScriptedResponder(replies)) as srv:
        model = OpenAICompatModel("fake-model", base_url=srv.base_url, api_key="sk-test", rate_limiter=limiter)

        async def calls(n: int) -> list[str]:
            done = await asyncio.gather(
                *(model.complete([{"role": "user", "content": f"hi {i}"}], CallSettings()) for i in range(n))
            )
            return [c.text for c in done]

        async def go() -> list[str]:
            try:
                return [*await calls(3), *await calls(2)]
            finally:
                await model.aclose()

        texts = asyncio.run(go())
        starts = [r.started_at for r in srv.chat_requests]
    assert sorted(texts[:3]) == ["a", "b", "c"] and sorted(texts[3:]) == ["d", "e"]
    # Spaced by 0.2 s, not sent at once (the first gap also holds the client's first-call setup, so less).
    assert starts[2] - starts[1] >= 0.15 and starts[2] - starts[0] >= 0.3
    # The other call would have gone 0.2 s after the 429; it waited for the retry time (0.3 s) instead.
    assert len(starts) == 6 and min(starts[4:]) - starts[3] >= 0.28


def test_a_wait_shows_in_the_progress_display() -> None:
    buffer = io.StringIO()
    view = ProgressView(Console(file=buffer, width=120))
    rate_wait_notes(view)(12.34, "tokens per minute (--tpm)")
    assert "rate-limit waiting 12.3 s: tokens per minute (--tpm)" in buffer.getvalue()
    assert not view.tasks  # a message, not a stage: the display's stages are untouched


@pytest.mark.usefixtures("clean_env")
def test_run_rpm_spaces_every_call_of_a_run(tmp_path: Path, script: Paper2CodeScript) -> None:
    with FakeOpenAIServer(script) as srv:
        code, output = invoke([*run_args(srv, EXAMPLE_PAPER, tmp_path / "run"), "--rpm", "1200", "--tpm", "9e6"])
        starts = sorted(r.started_at for r in srv.chat_requests)
        url = srv.base_url
    assert code == 0, output
    limiter = shared_limiter(url, "fake-model", 1200, 9e6)
    assert limiter.waits > 0  # the run's own limiter (a new one would have waited for nothing yet)
    assert len(starts) > 5 and starts[-1] - starts[0] >= 0.9 * 0.05 * (len(starts) - 1)  # one each 0.05 s at most
