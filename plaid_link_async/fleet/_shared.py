"""`SharedRateLimit`: the rate limit of `_calls._rate_limit`, kept in Redis for a whole fleet.

Each call reserves its start in Redis, in one script that runs on Redis's own clock
(so workers whose clocks disagree still share one pace): the next free slot, a slot
being `1 / rate` seconds, after the cooldown of the last 429; the caller then sleeps
until its slot. This is the generic cell rate algorithm, as a reservation. A 429
anywhere lowers the shared rate, moves the next free slot to the cooldown's end and
voids the slots handed out before it: a caller that slept asks once more (one `HGET`)
whether a 429 came meanwhile, and if so books again at the new pace. Per client id
and operation Redis holds a few small keys: the next free slot, the cooldown's end,
the factor the rate is scaled by (with the time of the 429 that set it), and the
429s counted per ten seconds for `campaign status`.

A counting limiter (`limits`' sliding window, tried first) can only answer "not now",
so a refused caller polls: measured here with three processes sharing 20 calls a
second, they achieved 8 a second. The reservation spaces them exactly.

When Redis cannot be reached the limiter never crashes a call and never changes what
it does in silence: it logs one WARNING and paces this process alone (a
`LocalRateLimit` at the same rate) until Redis answers again, which it tries every few
seconds, and logs that too. `on_redis_error="raise"` raises instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final, Literal

from .._calls._rate_limit import (
    BURST_SECONDS,
    DECREASE,
    MIN_FACTOR,
    RECOVERY_PER_SECOND,
    LocalRateLimit,
    check_rate,
    cooldown_for,
)
from .._errors._exceptions import ConfigurationError, TransportError
from ._outage import RedisOutage

logger: Final = logging.getLogger("plaid_link_async")

#: How long to pace alone after Redis failed, before trying it again.
RETRY_REDIS_AFTER: Final = 5.0
#: 429s are counted in buckets of this many seconds, each kept a few minutes.
COUNT_BUCKET_SECONDS: Final = 10
# Shared by both scripts: Redis's clock in microseconds, the factor in force (lowered
# by a 429 at `at`, climbing back by `per_second` of the rate each second), and
# keeping a time in a key.
_COMMON: Final = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local function factor_of(key, per_second)
  local f = tonumber(redis.call('HGET', key, 'f') or '1')
  local at = tonumber(redis.call('HGET', key, 'at') or '0')
  return math.min(1, f + math.max(now - at, 0) / 1000000 * tonumber(per_second))
end
local function keep(key, micros, expire_ms)
  redis.call('SET', key, string.format('%.0f', micros), 'PX', math.ceil(expire_ms))
end
local function time_in(key)
  return tonumber(redis.call('GET', key) or '0')
end
"""
# One call's start, reserved. KEYS: next free slot, cooldown's end, factor. ARGV: the
# rate (0: none), the recovery per second. Returns the wait in microseconds, the
# factor in force, and the time of the 429 that set it (what voids this slot).
_RESERVE: Final = (
    _COMMON
    + """
local start = math.max(now, time_in(KEYS[2]))
local factor = 1
local rate = tonumber(ARGV[1])
if rate > 0 then
  factor = factor_of(KEYS[3], ARGV[2])
  local slot = 1000000 / (rate * factor)
  start = math.max(start, time_in(KEYS[1]))
  keep(KEYS[1], start + slot, (start + slot - now) / 1000 + 60000)
end
local booked_under = redis.call('HGET', KEYS[3], 'at') or '0'
return {string.format('%.0f', start - now), tostring(factor), booked_under}
"""
)
# A 429. KEYS: next free slot, cooldown's end, factor, the 429s' bucket. ARGV: the
# cooldown in microseconds, the recovery per second, the lowest factor, the seconds of
# a burst, the decrease. Moves the cooldown's end later; unless an earlier 429 of the
# same burst did, lowers the factor and voids the slots handed out.
_THROTTLE: Final = (
    _COMMON
    + """
redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], 300)
local ends = now + tonumber(ARGV[1])
if ends > time_in(KEYS[2]) then
  keep(KEYS[2], ends, tonumber(ARGV[1]) / 1000 + 1000)
end
local last = tonumber(redis.call('HGET', KEYS[3], 'at') or '0')
if now - last < tonumber(ARGV[4]) * 1000000 then
  return tostring(factor_of(KEYS[3], ARGV[2]))  -- the same burst: lowered once
end
local factor = math.max(tonumber(ARGV[3]), factor_of(KEYS[3], ARGV[2]) * tonumber(ARGV[5]))
redis.call('HSET', KEYS[3], 'f', tostring(factor), 'at', string.format('%.0f', now))
redis.call('EXPIRE', KEYS[3], 3600)
keep(KEYS[1], math.max(ends, time_in(KEYS[2])), tonumber(ARGV[1]) / 1000 + 60000)
return tostring(factor)
"""
)


class SharedRateLimit:
    """At most `max_per_second` calls of each operation started per second by every
    process that uses this Redis with this `client_id` (None: no pace, only the shared
    cooldown after a 429).

    `AsyncLinkSession(redis_url=...)` (or `PLAID_LINK_REDIS_URL`) makes one; pass one
    as `rate_limiter=` to choose `on_redis_error` or the `key_prefix`.

    Args:
        redis_url: `redis://host:port/db` (or `rediss://`, with a password if needed).
        client_id: the Plaid client id: apps with other credentials never share a budget.
        max_per_second: calls started per second, per operation, by the whole fleet.
        on_redis_error: "fallback" (pace this process alone, with a WARNING, until
            Redis answers again) or "raise" (a `TransportError` for the call).
        key_prefix: the prefix of every key this limiter writes.
        outage: a `RedisOutage` to tell of Redis failing and answering again, instead of
            logging it here (a campaign worker says it once for all its parts).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        client_id: str,
        max_per_second: float | None = None,
        on_redis_error: Literal["fallback", "raise"] = "fallback",
        key_prefix: str = "plaid-link",
        outage: RedisOutage | None = None,
    ) -> None:
        if on_redis_error not in ("fallback", "raise"):
            raise ConfigurationError('on_redis_error must be "fallback" or "raise"')
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError(
                "a shared rate limit needs the `fleet` extra: pip install 'plaid-link-async[fleet]'"
            ) from None
        self.max_per_second = check_rate(max_per_second)
        self.on_redis_error = on_redis_error
        self._prefix = f"{key_prefix}:{client_id}"
        self._redis = Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._reserve = self._redis.register_script(_RESERVE)
        self._throttle = self._redis.register_script(_THROTTLE)
        self._factors: dict[str, float] = {}  # operation: the factor Redis last gave
        self._local = LocalRateLimit(self.max_per_second)
        self._alone_until = 0.0  # while Redis failed: pace alone until then
        self._outage = outage

    #: Seconds to pace alone after Redis failed, before trying it again.
    retry_redis_after: float = RETRY_REDIS_AFTER

    def __repr__(self) -> str:
        state = "alone (Redis unreachable)" if self.alone else "shared"
        return f"<SharedRateLimit {self._prefix} max_per_second={self.max_per_second} {state}>"

    @property
    def alone(self) -> bool:
        """Whether this process is pacing itself alone because Redis failed."""
        return time.monotonic() < self._alone_until

    async def acquire(self, operation: str) -> None:
        """Return when a call of `operation` may start, fleet-wide."""
        if self.alone:
            await self._local.acquire(operation)
            return
        try:
            await self._acquire(operation)
        except Exception as error:
            self._redis_failed(error)  # raises in "raise" mode
            await self._local.acquire(operation)
            return
        if self._alone_until:
            self._alone_until = 0.0
            if self._outage is not None:
                self._outage.up()
            else:
                logger.warning(
                    "shared rate limit %s: Redis answers again; shared again", self._prefix
                )

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        """Plaid answered 429: every process waits out the cooldown and slows down."""
        await self._local.throttled(operation, retry_after)
        if self.alone:
            return
        key = f"{self._prefix}:{operation}"
        bucket = int(time.time()) // COUNT_BUCKET_SECONDS
        try:
            factor = await self._throttle(
                keys=[f"{key}:next", f"{key}:cooldown", f"{key}:factor", f"{key}:429s:{bucket}"],
                args=[
                    int(cooldown_for(retry_after) * 1_000_000),
                    RECOVERY_PER_SECOND,
                    MIN_FACTOR,
                    BURST_SECONDS,
                    DECREASE,
                ],
            )
            self._factors[operation] = float(factor)
        except Exception as error:
            # Never raised here: the call is failing with its 429 already, and the next
            # acquire meets the same Redis (and raises, if asked to).
            self._redis_failed(error, may_raise=False)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def rate(self, operation: str) -> float | None:
        """The fleet's rate for `operation` as Redis last gave it to this process."""
        if self.max_per_second is None:
            return None
        return self.max_per_second * self._factors.get(operation, 1.0)

    async def _acquire(self, operation: str) -> None:
        key = f"{self._prefix}:{operation}"
        while True:
            wait, factor, booked_under = await self._reserve(
                keys=[f"{key}:next", f"{key}:cooldown", f"{key}:factor"],
                args=[self.max_per_second or 0, RECOVERY_PER_SECOND],
            )
            self._factors[operation] = float(factor)
            micros = int(wait)
            if micros <= 0:
                return
            await asyncio.sleep(micros / 1_000_000)
            now_under = await self._redis.hget(f"{key}:factor", "at")  # type: ignore[misc]
            if (now_under or b"0") == booked_under:
                return
            # A 429 came while this caller slept: its slot was of the pace refused.

    def _redis_failed(self, error: BaseException, *, may_raise: bool = True) -> None:
        what = f"{type(error).__name__}: {str(error)[:200]}"
        if self.on_redis_error == "raise":
            if not may_raise:
                return
            raise TransportError(
                f"the shared rate limit's Redis failed ({what})", retryable=True, sent=False
            ) from None
        if self._outage is not None:
            self._outage.down(error)
        elif not self._alone_until:
            logger.warning(
                "shared rate limit %s: Redis failed (%s); pacing this process alone at "
                "%s calls a second until it answers again",
                self._prefix,
                what,
                self.max_per_second,
            )
        self._alone_until = time.monotonic() + self.retry_redis_after
