"""Calls started per second, per operation, and slowing down when Plaid says 429.

Plaid limits each client id per operation. `AsyncLinkSession(max_per_second=...)` paces
the calls it starts with a `LocalRateLimit`, this process's own; with a Redis URL the
`fleet` extra's `SharedRateLimit` does the same for every process that shares the
client id. Both follow Plaid's answer over their own figure: a 429 sets a cooldown
(its `Retry-After`, or a second) that every later call waits out, and halves the
rate, which then grows by half again (x1.5) every five seconds until it is whole.
The 429s of one burst (a second) halve it once: calls sent together meet the limit
together.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Final, Protocol

import attrs

from ._exceptions import ConfigurationError, PlaidTimeoutError

#: The cooldown after a 429 that named no `Retry-After`, in seconds.
DEFAULT_COOLDOWN: Final = 1.0
#: The longest cooldown taken from a `Retry-After`.
MAX_COOLDOWN: Final = 60.0
#: The rate never falls below this share of the one set.
MIN_FACTOR: Final = 0.05
#: After a 429 the rate climbs back by `RECOVERY_STEP` every `RECOVERY_SECONDS`.
RECOVERY_STEP: Final = 1.5
RECOVERY_SECONDS: Final = 5.0
#: 429s closer together than this are one burst: the rate is halved once for them.
HALVE_AT_MOST_EVERY: Final = 1.0


class RateLimiter(Protocol):
    """What the session asks of a rate limiter; `LocalRateLimit` and `SharedRateLimit`
    are two, and one of your own (a token bucket of your platform) may be a third."""

    async def acquire(self, operation: str) -> None:
        """Return when a call of `operation` may start."""

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        """Plaid answered a call of `operation` with 429: slow down."""

    async def aclose(self) -> None:
        """Let go of what the limiter holds (connections)."""


def check_rate(value: float | None, name: str = "max_per_second") -> float | None:
    """`value` if it is None or a positive, finite number of calls per second."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of calls per second")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def cooldown_for(retry_after: float | None) -> float:
    """How long every call waits after a 429 with this `Retry-After`."""
    if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
        return DEFAULT_COOLDOWN
    return min(retry_after, MAX_COOLDOWN)


def recovered(factor: float, since: float) -> float:
    """`factor`, set `since` seconds ago, after climbing back as the rule says."""
    if factor >= 1.0:
        return 1.0
    # Compared in logs: `since` may be a machine's whole uptime, and 1.5 to its power
    # overflows a float.
    steps = max(since, 0.0) / RECOVERY_SECONDS
    if steps * math.log(RECOVERY_STEP) >= -math.log(factor):
        return 1.0
    return factor * math.pow(RECOVERY_STEP, steps)


@attrs.define
class _Pace:
    next_start: float = 0.0
    cooldown_until: float = 0.0
    factor: float = 1.0
    factor_at: float = 0.0


class LocalRateLimit:
    """This process's own pacing: at most `max_per_second` calls started per second of
    each operation (None: no pace, only the cooldown after a 429).

    Calls are spaced evenly, each reserving the next free slot, so a burst of a
    thousand waiting calls starts as a steady stream, not all at once.
    """

    def __init__(
        self, max_per_second: float | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_per_second = check_rate(max_per_second)
        self._clock = clock
        self._paces: dict[str, _Pace] = {}

    def __repr__(self) -> str:
        return f"<LocalRateLimit max_per_second={self.max_per_second}>"

    def rate(self, operation: str) -> float | None:
        """The rate in force for `operation` now: the one set, lowered after a 429."""
        if self.max_per_second is None:
            return None
        pace = self._paces.get(operation)
        if pace is None:
            return self.max_per_second
        return self.max_per_second * recovered(pace.factor, self._clock() - pace.factor_at)

    async def acquire(self, operation: str) -> None:
        pace = self._paces.setdefault(operation, _Pace())
        now = self._clock()
        start = max(now, pace.cooldown_until)
        rate = self.rate(operation)
        if rate is not None:
            start = max(start, pace.next_start)
            pace.next_start = start + 1 / rate
        if start > now:
            await asyncio.sleep(start - now)

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        pace = self._paces.setdefault(operation, _Pace())
        now = self._clock()
        pace.cooldown_until = max(pace.cooldown_until, now + cooldown_for(retry_after))
        if pace.factor_at and now - pace.factor_at < HALVE_AT_MOST_EVERY:
            return  # the same burst as the last 429
        pace.factor = max(MIN_FACTOR, recovered(pace.factor, now - pace.factor_at) / 2)
        pace.factor_at = now

    async def aclose(self) -> None:
        pass


async def pace(limiter: RateLimiter, operation: str, deadline: float) -> None:
    """Wait for `limiter`'s go for `operation`, until `deadline` on the loop's clock.

    Raises:
        PlaidTimeoutError: no slot came in time (nothing was sent).
    """
    left = deadline - asyncio.get_running_loop().time()
    try:
        await asyncio.wait_for(limiter.acquire(operation), max(left, 0.0))
    except asyncio.TimeoutError:
        pass
    else:
        return
    raise PlaidTimeoutError(
        f"the rate limit gave no slot for {operation} within the call's time",
        retryable=False,
        sent=False,
    )
