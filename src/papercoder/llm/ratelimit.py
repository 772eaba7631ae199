"""Client-side rate limits: requests and tokens per minute, shared by every concurrent call of a process.

A provider that is sent too much answers 429 and the SDK backs off; here requests are spaced before that happens.
``TokenBucketLimiter`` keeps two token buckets (``--rpm``: requests per minute, ``--tpm``: prompt plus answer tokens
per minute), each refilled continuously; the requests bucket holds one request and the tokens bucket one second's
worth, so requests go out evenly spaced rather than in a burst the provider's own per-second quantisation would
refuse. A request larger than the tokens bucket is
let through once the bucket is full and leaves it in debt, so the next ones wait as long as it cost.

It also follows what the server says, with or without ``--rpm``/``--tpm``: ``Retry-After`` (``retry-after-ms``)
pauses every call, not only the one that got it; ``x-ratelimit-remaining-requests``/``-tokens`` with
``x-ratelimit-reset-requests``/``-tokens`` (OpenAI, vLLM, Groq, OpenRouter, ...) hold back calls the server would
refuse until the window resets.

Waiters queue in arrival order (one asyncio lock), so a large call is not starved by small ones. The clock is
injectable (``Clock``) so tests can check the spacing without waiting. ``RateLimiter`` is the interface a model
uses; the limiter shared by a benchmark's Ray workers (``evaluation/ray_limits.py``) is this one inside a Ray actor.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

WaitCallback = Callable[[float, str], None]
"""Called as ``on_wait(seconds, reason)`` when a call is about to wait for the rate limit."""

#: Waits shorter than this are not reported: evenly spaced requests would otherwise flood the display.
REPORT_AFTER_S = 0.5
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def wait_line(seconds: float, reason: str) -> str:
    """How a wait is told in a progress view (``run``'s notes, ``bench``'s lines)."""
    return f"waiting {seconds:.1f} s: {reason}"


class Clock(Protocol):
    """Time as the limiter sees it: ``time.monotonic`` and ``asyncio.sleep``, or a fake in tests."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RateLimiter(Protocol):
    """What a model needs of a rate limiter. ``acquire`` waits (returning the seconds waited); ``settle`` and
    ``observe`` only record, so a cross-process implementation may send them without waiting for an answer."""

    def wants_tokens(self) -> bool:
        """Whether ``acquire`` needs the call's token estimate (counting a long prompt costs time)."""
        ...

    async def acquire(self, tokens: int) -> float:
        """Wait until a call of about ``tokens`` tokens (prompt and answer limit) may be sent."""
        ...

    def settle(self, estimated: int, actual: int) -> None:
        """The call that ``acquire`` admitted with ``estimated`` tokens used ``actual``."""
        ...

    def observe(self, headers: Mapping[str, str], status: int) -> None:
        """A response's rate-limit headers (names lower-cased) and status."""
        ...


def parse_duration(value: str) -> float | None:
    """Seconds in a reset or retry header: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or a bare number of
    seconds; ``None`` when it is none of these."""
    text = value.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a response asks the client to wait (``retry-after-ms``, else ``retry-after`` in seconds)."""
    if (ms := headers.get("retry-after-ms")) is not None and (seconds := parse_duration(ms)) is not None:
        return seconds / 1000
    if (value := headers.get("retry-after")) is not None:
        return parse_duration(value)  # an HTTP date is left to the SDK's own retry
    return None


@dataclass
class _Bucket:
    """A token bucket of ``capacity`` refilled at ``per_minute``, continuously; ``level`` may go below zero
    (debt) after a call larger than the bucket."""

    per_minute: float
    capacity: float
    updated: float
    level: float = 0.0

    def __post_init__(self) -> None:
        self.level = self.capacity

    @property
    def rate(self) -> float:
        return self.per_minute / 60.0

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self, amount: float) -> float:
        """Seconds until ``amount`` (at most a full bucket) is there."""
        need = min(amount, self.capacity)
        return max(0.0, (need - self.level) / self.rate)


@dataclass
class _ServerWindow:
    """What the server last said is left in its window, and when the window resets."""

    remaining: float
    resets_at: float


class TokenBucketLimiter:
    """Requests and tokens per minute for one endpoint, plus the server's own limits; see the module docstring."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Clock | None = None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.clock: Clock = clock or MonotonicClock()
        self.requests: _Bucket | None = None
        self.tokens: _Bucket | None = None
        self.set_limits(rpm, tpm)
        self.on_wait = on_wait
        self.blocked_until = 0.0  # from Retry-After
        self.server_requests: _ServerWindow | None = None
        self.server_tokens: _ServerWindow | None = None
        self.waited_s = 0.0  # over the limiter's life
        self.waits = 0
        self._locks: dict[int, asyncio.Lock] = {}

    def set_limits(self, rpm: float | None, tpm: float | None) -> None:
        """Requests and tokens per minute (``None``: no limit of that kind but the server's)."""
        now = self.clock.now()
        if (self.requests.per_minute if self.requests else None) != rpm:
            self.requests = _Bucket(rpm, 1.0, now) if rpm else None
        if (self.tokens.per_minute if self.tokens else None) != tpm:
            self.tokens = _Bucket(tpm, max(1.0, tpm / 60), now) if tpm else None

    def _lock(self) -> asyncio.Lock:
        # An asyncio lock belongs to one event loop; a process may run several in turn (one per command).
        loop = id(asyncio.get_running_loop())
        if loop not in self._locks:
            self._locks = {loop: asyncio.Lock()}
        return self._locks[loop]

    def _delay(self, tokens: int, now: float) -> tuple[float, str]:
        """Seconds to wait before a call of ``tokens`` tokens, and why (the longest reason wins)."""
        reasons: list[tuple[float, str]] = [(self.blocked_until - now, "the server asked to retry later")]
        if self.requests is not None:
            self.requests.refill(now)
            reasons.append((self.requests.delay(1), "requests per minute (--rpm)"))
        if self.tokens is not None:
            self.tokens.refill(now)
            reasons.append((self.tokens.delay(tokens), "tokens per minute (--tpm)"))
        if (window := self.server_requests) is not None and now < window.resets_at and window.remaining < 1:
            reasons.append((window.resets_at - now, "the server's request limit"))
        if (window := self.server_tokens) is not None and now < window.resets_at and window.remaining < tokens:
            reasons.append((window.resets_at - now, "the server's token limit"))
        return max(reasons)

    def wants_tokens(self) -> bool:
        return self.tokens is not None or self.server_tokens is not None

    async def acquire(self, tokens: int) -> float:
        return (await self.admit(tokens))[0]

    async def admit(self, tokens: int) -> tuple[float, str]:
        """``acquire``, also telling why the call waited (the first reason; ``""`` when it did not wait)."""
        waited, why = 0.0, ""
        async with self._lock():
            while True:
                now = self.clock.now()
                delay, reason = self._delay(tokens, now)
                if delay <= 0:
                    break
                if not why:
                    why = reason
                    if delay >= REPORT_AFTER_S and self.on_wait is not None:
                        self.on_wait(delay, reason)
                await self.clock.sleep(delay)
                waited += delay
            if self.requests is not None:
                self.requests.level -= 1
            if self.tokens is not None:
                self.tokens.level -= tokens
            for window, amount in ((self.server_requests, 1), (self.server_tokens, tokens)):
                if window is not None:
                    window.remaining -= amount
        if waited:
            self.waits += 1
            self.waited_s += waited
        return waited, why

    def settle(self, estimated: int, actual: int) -> None:
        if self.tokens is not None:
            self.tokens.refill(self.clock.now())
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + estimated - actual)

    def observe(self, headers: Mapping[str, str], status: int) -> None:
        now = self.clock.now()
        if status in (429, 503) and (seconds := retry_after(headers)) is not None:
            self.blocked_until = max(self.blocked_until, now + seconds)
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}", ""))
            try:
                left = float(remaining) if remaining is not None else None
            except ValueError:
                left = None
            if left is None or reset is None:
                continue
            window = _ServerWindow(left, now + reset)
            if kind == "requests":
                self.server_requests = window
            else:
                self.server_tokens = window


_SHARED: dict[tuple[str, str], TokenBucketLimiter] = {}


def shared_limiter(endpoint: str, model: str, rpm: float | None, tpm: float | None) -> TokenBucketLimiter:
    """The process's one limiter for ``model`` at ``endpoint`` (providers count limits per model): every client
    of it, in any command of this process, shares the same buckets and the server's last word. Limits given later
    replace earlier ones in place, so the clients made before see them too."""
    key = (endpoint, model)
    limiter = _SHARED.get(key)
    if limiter is None:
        limiter = _SHARED[key] = TokenBucketLimiter(rpm, tpm)
    else:
        limiter.set_limits(rpm, tpm)
    return limiter
