"""The campaigns' saq queue: saq's Redis queue with a sweep fit for campaign jobs.

Imported only where a queue is made, so that `plaid_link_async.fleet` imports without
saq until a campaign is used.
"""

from __future__ import annotations

from typing import Final

from saq.queue.redis import RedisQueue

#: How long a sweep waits, per stuck job, for the job's worker to abort it. saq waits
#: 5 s, one stuck job after another: a worker killed with 25 jobs held them for two
#: minutes, and the 70 jobs cut short by a Redis restart for six. A campaign job guards
#: itself (a row's result is set once, a delivery is marked before its call), so one
#: run twice costs nothing, and the worker of a job stuck past its lease is gone or has
#: already given it up (saq cancels a job at its timeout).
SWEEP_ABORT_WAIT: Final = 0.1


class CampaignQueue(RedisQueue):
    """saq's `RedisQueue`, sweeping stuck jobs without waiting 5 s for each."""

    async def sweep(self, lock: int = 60, abort: float = SWEEP_ABORT_WAIT) -> list[str]:
        return await super().sweep(lock, abort)
