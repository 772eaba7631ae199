"""One rate limit for every Ray worker of a benchmark: the limiter of ``llm/ratelimit.py`` in a Ray actor.

Under ``--executor ray`` each job runs in a worker process of its own, so the per-process limiter would let every
worker send ``--rpm`` requests a minute. Instead the driver starts one :class:`LimiterActor` per served model
(endpoint and model name, as providers count their limits) and hands its handle to every task;
:class:`ActorLimiter` is the :class:`~papercoder.llm.ratelimit.RateLimiter` a worker's model client gets. Its
``acquire`` waits inside the actor, where one token-bucket limiter queues every worker's calls in arrival order;
``settle`` and ``observe`` are sent without waiting for an answer, so a server's ``Retry-After`` or
``x-ratelimit-*`` headers seen by one worker hold back the others too. Only the rate-limit headers travel.

The actor is an async actor (its methods share one event loop), needs no CPU in Ray's accounting, and lives as long
as the driver. The driver reads :meth:`LimiterActor.stats` between tasks to show the waits in its progress lines,
since the waits happen in the workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from papercoder.llm.ratelimit import REPORT_AFTER_S, TokenBucketLimiter

#: The response headers a limiter reads (lower-cased): the only ones sent to the actor.
RATE_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


@dataclass(frozen=True)
class LimiterStats:
    """What the shared limiter has made the calls wait, over the benchmark."""

    waits: int
    waited_s: float
    reason: str  # why the latest wait that was long enough to report happened ("" when none was)


class LimiterActor:
    """The shared limiter itself; run as ``ray.remote(LimiterActor)`` (see :func:`start_actor`)."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.reason = ""
        self.limiter = TokenBucketLimiter(rpm, tpm)

    async def acquire(self, tokens: int) -> tuple[float, bool]:
        """Wait until a call of about ``tokens`` tokens may go; the seconds waited, and whether later calls should
        send their token estimate (a tokens limit, or the server's token window, is in force)."""
        waited, why = await self.limiter.admit(tokens)
        if waited >= REPORT_AFTER_S:
            self.reason = why
        return waited, self.limiter.wants_tokens()

    async def settle(self, estimated: int, actual: int) -> None:
        self.limiter.settle(estimated, actual)

    async def observe(self, headers: dict[str, str], status: int) -> None:
        self.limiter.observe(headers, status)

    async def stats(self) -> LimiterStats:
        return LimiterStats(self.limiter.waits, self.limiter.waited_s, self.reason)


def start_actor(ray: Any, rpm: float | None, tpm: float | None) -> Any:
    """A :class:`LimiterActor` on the connected Ray runtime; its handle may be passed to any task."""
    actor_class = ray.remote(num_cpus=0, max_restarts=0, max_concurrency=1000)(LimiterActor)
    return actor_class.remote(rpm, tpm)


class ActorLimiter:
    """A worker's side of the shared limiter: a :class:`~papercoder.llm.ratelimit.RateLimiter` whose state is in
    the actor ``handle``. ``wants_tokens`` is the actor's last answer (so a worker need not ask before each call).
    Its waits are not reported here: the driver shows them from the actor's stats."""

    def __init__(self, handle: Any, *, wants_tokens: bool) -> None:
        self.handle = handle
        self._wants_tokens = wants_tokens

    def wants_tokens(self) -> bool:
        return self._wants_tokens

    async def acquire(self, tokens: int) -> float:
        waited, self._wants_tokens = await self.handle.acquire.remote(tokens)
        return float(waited)

    def settle(self, estimated: int, actual: int) -> None:
        if self._wants_tokens:
            self.handle.settle.remote(estimated, actual)

    def observe(self, headers: Mapping[str, str], status: int) -> None:
        picked = {name: headers[name] for name in RATE_HEADERS if name in headers}
        if picked:
            self.handle.observe.remote(picked, status)
