"""How fast a batch goes: a concurrency limit that halves on a rate limit and climbs
back when it is quiet (AIMD), and an optional pace of call starts."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from .._errors._exceptions import PlaidLinkError, RateLimitError

logger = logging.getLogger("plaid_link_async")

#: A rate limit halves the concurrency at most this often, and a quiet spell this long
#: raises it by a tenth of the ceiling: one burst of 429s is one signal, not fifty.
ADJUST_INTERVAL: Final = 0.5


class Limiter:
    """How many calls may run at once: halved on a rate limit, raised when quiet."""

    def __init__(self, ceiling: int, loop: asyncio.AbstractEventLoop) -> None:
        self.ceiling = ceiling
        self.limit = float(ceiling)
        self.in_flight = 0
        self._loop = loop
        self._changed = loop.time()
        self._room = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._room:
            await self._room.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1

    async def release(self) -> None:
        async with self._room:
            self.in_flight -= 1
            now = self._loop.time()
            if self.limit < self.ceiling and now - self._changed >= ADJUST_INTERVAL:
                self.limit = min(self.ceiling, self.limit + max(1.0, self.ceiling / 10))
                self._changed = now
            self._room.notify(max(1, int(self.limit) - self.in_flight))

    def rate_limited(self, error: PlaidLinkError) -> None:
        if not isinstance(error, RateLimitError):
            return
        now = self._loop.time()
        if now - self._changed >= ADJUST_INTERVAL or self.limit == self.ceiling:
            before = int(self.limit)
            self.limit = max(1.0, self.limit / 2)
            self._changed = now
            logger.info(
                "rate limited (%s): batch concurrency %d -> %d",
                error.error_code,
                before,
                int(self.limit),
            )


class Pacer:
    """Spaces call starts at least `1 / per_second` apart."""

    def __init__(self, per_second: float, loop: asyncio.AbstractEventLoop) -> None:
        self._gap = 1.0 / per_second
        self._loop = loop
        self._next = loop.time()

    async def wait(self) -> None:
        now = self._loop.time()
        slot = max(now, self._next)
        self._next = slot + self._gap
        if slot > now:
            await asyncio.sleep(slot - now)
