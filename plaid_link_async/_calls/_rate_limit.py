"""Calls started per second, per operation, and slowing down when Plaid says 429.

Plaid limits each client id per operation. `AsyncLinkSession(max_per_second=...)` paces
the calls it starts with a `LocalRateLimit`, this process's own; with a Redis URL the
`fleet` extra's `SharedRateLimit` does the same for every process that shares the
client id. Both follow Plaid's answer over their own figure, gently, because a rate
asked at Plaid's own limit meets a 429 now and then from jitter alone:

- a 429 lowers the rate to 0.9 of what it was (the 429s of one burst, a second, lower
  it once), and it climbs back by a twentieth of the rate set each second: under 429s
  every second it settles at half the rate set, and a lone 429 costs a tenth of the
  rate for two seconds (halving, as this did before, kept a fleet asking for Plaid's
  own limit at 0.7 of it);
- it voids the slots already handed out at the old pace: a caller that waited for one
  asks again (slots booked ahead would otherwise all meet the limit too);
- the next calls wait out its `Retry-After` when it names one (at most a minute), else
  a quarter of a second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import attrs

from .._errors._exceptions import ConfigurationError, PlaidTimeoutError

#: The cooldown after a 429 that named no `Retry-After`, in seconds.
DEFAULT_COOLDOWN: Final = 0.25
#: The longest cooldown taken from a `Retry-After`.
MAX_COOLDOWN: Final = 60.0
#: The rate never falls below this share of the one set.
MIN_FACTOR: Final = 0.05
#: A 429 lowers the rate to this share of the rate in force.
DECREASE: Final = 0.9
#: After a 429 the rate climbs back by this share of the rate set, each second.
RECOVERY_PER_SECOND: Final = 0.05
#: 429s closer together than this are one burst: the rate is lowered once for them.
BURST_SECONDS: Final = 1.0


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
    return min(1.0, factor + max(since, 0.0) * RECOVERY_PER_SECOND)


def lowered(factor: float) -> float:
    """The factor a 429 leaves when `factor` was in force."""
    return max(MIN_FACTOR, factor * DECREASE)


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
    thousand waiting calls starts as a steady stream, not all at once. `clock` (seconds,
    monotonic) and `sleep` are replaceable: a test gives a fake clock's, which moves
    time on instead of waiting for it.
    """

    def __init__(
        self,
        max_per_second: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_per_second = check_rate(max_per_second)
        # Both replaceable, so that a test moves time instead of waiting for it.
        self._clock = clock
        self._sleep = sleep
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
        while True:
            now = self._clock()
            start = max(now, pace.cooldown_until)
            rate = self.rate(operation)
            if rate is not None:
                start = max(start, pace.next_start)
                pace.next_start = start + 1 / rate
            if start <= now:
                return
            booked_under = pace.factor_at
            await self._sleep(start - now)
            if pace.factor_at == booked_under:
                return
            # A 429 came while this caller waited: its slot was of the pace refused.

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        pace = self._paces.setdefault(operation, _Pace())
        now = self._clock()
        pace.cooldown_until = max(pace.cooldown_until, now + cooldown_for(retry_after))
        if pace.factor_at and now - pace.factor_at < BURST_SECONDS:
            return  # the same burst as the last 429
        pace.factor = lowered(recovered(pace.factor, now - pace.factor_at))
        pace.factor_at = now
        pace.next_start = pace.cooldown_until  # the slots handed out are void

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
