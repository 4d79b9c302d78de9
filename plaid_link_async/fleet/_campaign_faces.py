"""Campaigns from Python: start one (feeding it from requests), read it, cancel, retry,
delete and list them. The CLI's `campaign` commands are these, over a Redis URL.

The machinery is `_feeder` (feeding), `_worker` (rows), `_records` (the records and
their scripts) and `_status` (reading).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import attrs

from .._errors._exceptions import PlaidLinkError
from .._schema._converter import to_dict
from ..models import LinkTokenCreateRequest
from ._errors import CampaignError
from ._feeder import check_durable, each, feed
from ._outage import connect
from ._records import MAYBE_SENT, CampaignRecords
from ._status import campaign_state, list_campaigns
from ._worker import JOB_HEARTBEAT, JOB_TIMEOUT, WORKER_ALIVE_FOR


@contextlib.asynccontextmanager
async def connected(redis_url: str) -> AsyncIterator[Any]:
    """A Redis client for the campaigns' records, closed on leaving."""
    redis = connect(redis_url)
    try:
        yield redis
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def client_queue(redis_url: str, client_id: str) -> AsyncIterator[Any]:
    """`client_id`'s campaign queue, disconnected on leaving."""
    from ._queue import CampaignQueue, queue_name

    queue = CampaignQueue.from_url(redis_url, name=queue_name(client_id))
    try:
        yield queue
    finally:
        await queue.disconnect()


async def client_of(redis: Any, name: str) -> str:
    """The client id campaign `name` belongs to.

    Raises:
        CampaignError: there is no such campaign.
    """
    client = await redis.hget(CampaignRecords(redis, name).meta, "client_id")
    if client is None:
        raise CampaignError(f"no campaign {name!r}")
    return str(client.decode())


@attrs.frozen
class CampaignRow:
    """One row of a campaign fed from Python: its number, the request, and what
    identifies it (`user_id`, a fingerprint of the request)."""

    number: int
    request: LinkTokenCreateRequest | None
    user_id: str | None
    fingerprint: str
    error: PlaidLinkError | None = None


async def _rows(
    requests: Iterable[LinkTokenCreateRequest] | AsyncIterable[LinkTokenCreateRequest],
) -> AsyncIterator[CampaignRow]:
    number = 0
    async for request in each(requests):
        number += 1
        body = json.dumps(to_dict(request), sort_keys=True, separators=(",", ":"))
        user = request.user.client_user_id if request.user is not None else None
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        yield CampaignRow(number, request, user, digest)


async def start_campaign(
    redis_url: str,
    name: str,
    requests: Iterable[LinkTokenCreateRequest] | AsyncIterable[LinkTokenCreateRequest],
    *,
    client_id: str,
    input_id: str,
    max_per_second: float,
    hosted_link: str | None = None,
    keep_days: float = 30,  # KEEP_DAYS, spelled out for the reference
    job_timeout: int = 120,  # JOB_TIMEOUT, likewise
    allow_volatile_redis: bool = False,
) -> int:
    """Feed campaign `name` of `client_id` from `requests`, row 1 first; returns how
    many there were.

    `input_id` names the input (a file's digest, an export's id): starting the campaign
    again with the same one resumes it (rows with a result are skipped), with another
    is refused. `max_per_second` is the fleet's rate for it, a little under Plaid's
    limit. `hosted_link` ("sms" or "email") delivers each row's Hosted Link, and then a
    Redis that may forget (no append-only file, evicting keys) is refused unless
    `allow_volatile_redis`. The records are kept `keep_days` after it ends. Run
    `worker_settings` workers with the same client id to do the rows.

    Raises:
        CampaignError: a bad name or rate, a volatile Redis, another process feeds the
            campaign, or it was cancelled, or had another input or client id.
        CampaignLost: its records vanished from Redis while feeding.
    """
    async with connected(redis_url) as redis, client_queue(redis_url, client_id) as queue:
        if hosted_link:
            await check_durable(redis, allow_volatile=allow_volatile_redis)
        total, _ = await feed(
            redis, queue, name, _rows(requests), client_id=client_id, fingerprint=input_id,
            rate=max_per_second, hosted=hosted_link, keep_days=keep_days,
            job_timeout=job_timeout,
        )  # fmt: skip
        return total


async def campaign_status(redis_url: str, name: str) -> dict[str, Any]:
    """Campaign `name`'s figures: its counts (rows, fed, done, failed, by kind), state,
    workers alive, the rate achieved and 429s over the last minute, rows held by dead
    workers, the ETA, and its client's queue (`queued`, `active`).

    Raises:
        CampaignError: there is no such campaign.
    """
    async with connected(redis_url) as redis:
        client_id = await client_of(redis, name)
        async with client_queue(redis_url, client_id) as queue:
            return await campaign_state(redis, queue, name)


async def results(redis: Any, name: str) -> AsyncIterator[str]:
    """Every row's journal line, in row order, read a thousand rows at a time."""
    records = CampaignRecords(redis, name)
    meta = await records.meta_fields()
    if not meta:
        raise CampaignError(f"no campaign {name!r}")
    total = int(meta.get("total") or meta.get("fed") or 0)
    for start in range(1, total + 1, 1000):
        rows = list(range(start, min(start + 1000, total + 1)))
        for line in await redis.hmget(records.results, rows):
            if line is not None:
                yield line.decode()


async def campaign_results(redis_url: str, name: str) -> AsyncIterator[dict[str, Any]]:
    """Each row's result, in row order: `batch create`'s journal line, as a dict."""
    async with connected(redis_url) as redis:
        async for line in results(redis, name):
            yield json.loads(line)


async def cancel_campaign(redis_url: str, name: str) -> int:
    """Stop campaign `name` for good: once this returns, no request of it starts, from
    any worker or feeder. Returns how many requests live workers were writing or
    awaiting then; they may still finish. Results are kept.

    Raises:
        CampaignError: no such campaign, or it has finished.
    """
    async with connected(redis_url) as redis:
        return await CampaignRecords(redis, name).cancel(time.time() - WORKER_ALIVE_FOR)


async def delete_campaign(redis_url: str, name: str) -> int:
    """Remove every key of campaign `name`, finished or cancelled, its jobs still queued
    (a cancelled campaign's) included; returns how many such jobs there were.

    Raises:
        CampaignError: no such campaign, or it still runs.
    """
    async with connected(redis_url) as redis:
        client_id = await client_of(redis, name)
        await CampaignRecords(redis, name).delete()
        async with client_queue(redis_url, client_id) as queue:
            dropped: int = await queue.drop(name)
            return dropped


async def retry_campaign(redis_url: str, name: str, *, unknown_deliveries: bool = False) -> int:
    """Queue again the rows of campaign `name` that failed; returns how many. Rows
    whose text may have been sent (`UnknownDelivery`, `AmbiguousOutcomeError`) only
    with `unknown_deliveries`, once the users' Link webhooks were checked.

    Raises:
        CampaignError: no such campaign, or it was cancelled.
    """
    async with connected(redis_url) as redis:
        records = CampaignRecords(redis, name)
        meta = await records.meta_fields()
        if not meta:
            raise CampaignError(f"no campaign {name!r}")
        async with client_queue(redis_url, meta["client_id"]) as queue:
            queued = 0
            async for row, _ in redis.hscan_iter(records.retry, count=1000):
                line = await redis.hget(records.results, row)
                kind = json.loads(line)["error"]["type"] if line else ""
                if kind in MAYBE_SENT and not unknown_deliveries:
                    continue
                job = await records.unrecord(meta["epoch"], int(row), kind)
                if job is None:
                    continue
                # A key of its own: the row's first job may still be finishing in saq
                # (its result recorded, the job not yet taken off the queue), and saq
                # drops a job whose key is still there. The row's claim in Redis, not
                # the key, is what keeps it from being sent twice.
                enqueued = await queue.enqueue(
                    "link_row", key=f"{name}:{job['row']}:retry-{uuid.uuid4().hex[:12]}",
                    timeout=JOB_TIMEOUT, heartbeat=JOB_HEARTBEAT, retries=5, ttl=60, **job,
                )  # fmt: skip
                if enqueued is None:  # pragma: no cover - a fresh key is never taken
                    raise CampaignError(f"row {job['row']} of {name!r} could not be queued")
                queued += 1
            return queued


async def campaigns(redis_url: str) -> list[dict[str, Any]]:
    """Every campaign on this Redis: name, client id, state, rows, done, failed, created."""
    async with connected(redis_url) as redis:
        return await list_campaigns(redis)
