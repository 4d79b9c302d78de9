"""`RowGate`: the rate limiter one campaign row's calls pass, which marks the row only
when its request is about to be written.

A session asks its limiter for a slot right before every attempt, after which nothing
but getting a connection comes before the request's first byte. So that is where a
Hosted Link row is marked as "maybe sent": a worker killed while its rows still wait
for their slots leaves them unmarked, and another worker delivers them. The same step
checks, atomically with the mark, that the campaign is not cancelled, lost or another
client's (`CampaignRecords.claim`): after `campaign cancel` returns, no request starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .._calls._rate_limit import RateLimiter


class RowStopped(Exception):
    """The row may not be sent: `verdict` is the claim's (cancelled, lost, client, done
    or unknown)."""

    def __init__(self, verdict: str) -> None:
        super().__init__(verdict)
        self.verdict = verdict


class RowGate:
    """`limiter`'s slot, then `claim()`'s go; while `stopping()` (the worker was asked
    to stop), no slot is taken: the row waits to be handed back to the queue."""

    def __init__(
        self,
        limiter: RateLimiter,
        claim: Callable[[], Awaitable[str]],
        stopping: Callable[[], bool],
    ) -> None:
        self._limiter = limiter
        self._claim = claim
        self._stopping = stopping

    def __repr__(self) -> str:
        return f"<RowGate over {self._limiter!r}>"

    async def acquire(self, operation: str) -> None:
        await self._hand_back_if_stopping()
        await self._limiter.acquire(operation)
        await self._hand_back_if_stopping()
        verdict = await self._claim()
        if verdict != "go":
            raise RowStopped(verdict)

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        await self._limiter.throttled(operation, retry_after)

    async def aclose(self) -> None:
        """The limiter is the worker's, shared by every row: it stays open."""

    async def _hand_back_if_stopping(self) -> None:
        if self._stopping():
            # saq cancels a job still running when its grace ends and puts it back in
            # the queue: nothing was written for this row, so waiting for that hands
            # it back whole.
            await asyncio.get_running_loop().create_future()
