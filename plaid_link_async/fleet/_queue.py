"""The campaigns' saq queues: one per client id, on saq's Redis queue, with a sweep fit
for campaign jobs and a worker's Redis outage waited out in silence.

Imported only where a queue is made, so that `plaid_link_async.fleet` imports without
saq until a campaign is used.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from saq.queue.redis import RedisQueue

from ._outage import RETRY_SECONDS, RedisOutage, is_outage, patiently

#: How long a sweep waits, per stuck job, for the job's worker to abort it. saq waits
#: 5 s, one stuck job after another: a worker killed with 25 jobs held them for two
#: minutes, and the 70 jobs cut short by a Redis restart for six. A campaign job guards
#: itself (a row's result is set once, a delivery is marked before its request is
#: written), so one run twice costs nothing, and the worker of a job whose heartbeat
#: stopped is gone or has lost Redis, and so cannot deliver anything meanwhile.
SWEEP_ABORT_WAIT: Final = 0.1
#: How long saq's own writes (a job's status, its end) wait for Redis to come back.
BOOKKEEPING_PATIENCE: Final = 120.0


def queue_name(client_id: str) -> str:
    """The queue of `client_id`'s campaigns: a worker takes only its own client's jobs,
    so no row is ever sent under another client's credentials."""
    return f"plaid-link-campaigns:{client_id}"


class CampaignQueue(RedisQueue):
    """saq's `RedisQueue`, sweeping stuck jobs without waiting 5 s for each, and waiting
    out a Redis outage: the worker's loops (taking jobs, sweeping, its bookkeeping) log
    it once through `outage` instead of a traceback per try."""

    outage: RedisOutage | None = None

    def attach(self, outage: RedisOutage) -> None:
        """Report outages to `outage` from now on (a worker's; a feeder needs none)."""
        self.outage = outage

    async def _quietly(self, call: Any, empty: Any) -> Any:
        if self.outage is None:
            return await call()
        try:
            answer = await call()
        except Exception as error:
            if not is_outage(error):
                raise
            self.outage.down(error)
            await asyncio.sleep(RETRY_SECONDS)
            return empty
        self.outage.up()
        return answer

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Any:
        return await self._quietly(lambda: super(CampaignQueue, self).dequeue(timeout), None)

    async def sweep(self, lock: int = 60, abort: float = SWEEP_ABORT_WAIT) -> list[str]:
        swept: list[str] = await self._quietly(
            lambda: super(CampaignQueue, self).sweep(lock, abort), []
        )
        return swept

    async def schedule(self, lock: int = 1) -> list[str]:
        scheduled: list[str] = await self._quietly(
            lambda: super(CampaignQueue, self).schedule(lock), []
        )
        return scheduled

    async def write_worker_info(self, worker_id: str, info: Any, ttl: int) -> None:
        await self._quietly(lambda: RedisQueue.write_worker_info(self, worker_id, info, ttl), None)

    async def jobs(self, job_keys: Any) -> list[Any]:
        keys = list(job_keys)
        found: list[Any] = await self._quietly(lambda: super(CampaignQueue, self).jobs(keys), [])
        return found

    # A job's own bookkeeping waits for Redis: a job that ended must be recorded as
    # ended, not left for the sweep (or raised from saq's loop as a traceback).
    async def _update(self, job: Any, status: Any = None, **kwargs: Any) -> None:
        await self._patiently(lambda: super(CampaignQueue, self)._update(job, status, **kwargs))

    async def _finish(self, *args: Any, **kwargs: Any) -> None:
        await self._patiently(lambda: super(CampaignQueue, self)._finish(*args, **kwargs))

    async def _retry(self, job: Any, error: str | None) -> None:
        await self._patiently(lambda: super(CampaignQueue, self)._retry(job, error))

    async def _patiently(self, call: Any) -> None:
        if self.outage is None:
            await call()
            return
        until = asyncio.get_running_loop().time() + BOOKKEEPING_PATIENCE
        await patiently(call, until, self.outage.down)
        self.outage.up()

    async def running(self, limit: int = 10_000) -> list[Any]:
        """The jobs taken by workers and not finished (saq's active list), at most `limit`."""
        active = self.namespace("active")
        ids = await self.redis.lrange(active, 0, limit - 1)  # type: ignore[misc]
        found = await self.jobs(self.job_key_from_id(job_id.decode()) for job_id in ids)
        return [job for job in found if job is not None]

    async def drop(self, campaign: str) -> int:
        """Abort and delete the queued jobs of `campaign` (each holds its row's request:
        a phone number or an email address); how many there were."""
        prefix = f"{campaign}:"
        ids = await self.redis.lrange(self.namespace("queued"), 0, -1)  # type: ignore[misc]
        keys = [self.job_key_from_id(job_id.decode()) for job_id in ids]
        dropped = 0
        for job in await self.jobs(key for key in keys if key.startswith(prefix)):
            if job is not None:
                await self.abort(job, "campaign deleted")
                await self.redis.delete(job.id)
                dropped += 1
        return dropped
