"""Campaigns from Python and from the CLI: start one (feeding it from requests), read
its counts and results, cancel it. The machinery (feeder, worker) is `_campaign`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import attrs

from .._converter import to_dict
from .._exceptions import PlaidLinkError
from ..models import LinkTokenCreateRequest
from ._campaign import QUEUE, CampaignError, _each, feed, keys

# -- reading a campaign ------------------------------------------------------------------------


async def status(redis: Any, name: str) -> dict[str, Any]:
    """The campaign's counts: rows, fed, done, failed, in the queue or running; its rate."""
    meta = await redis.hgetall(keys(name)["meta"])
    if not meta:
        raise CampaignError(f"no campaign {name!r}")
    field = {k.decode(): v.decode() for k, v in meta.items()}
    fed, done = int(field.get("fed", 0)), int(field.get("done", 0))
    rows = int(field["total"]) if "total" in field else None
    rate = float(field.get("rate", 0)) or None
    left = (rows if rows is not None else fed) - done
    return {
        "campaign": name,
        "state": field.get("state"),
        "rows": rows,
        "fed": fed,
        "done": done,
        "failed": int(field.get("failed", 0)),
        "queued_or_active": max(0, fed - done),
        "max_per_second": rate,
        "eta_seconds": round(left / rate) if rate and left > 0 else None,
    }


async def results(redis: Any, name: str, total: int) -> AsyncIterator[str]:
    """Every row's journal line, in row order, read a thousand rows at a time."""
    for start in range(1, total + 1, 1000):
        rows = list(range(start, min(start + 1000, total + 1)))
        for line in await redis.hmget(keys(name)["results"], rows):
            if line is not None:
                yield line.decode()


async def cancel(redis: Any, name: str) -> None:
    """Stop the campaign: queued jobs finish at once without a call; results are kept."""
    if not await redis.exists(keys(name)["meta"]):
        raise CampaignError(f"no campaign {name!r}")
    await redis.hset(keys(name)["meta"], "state", "cancelled")


# -- the library's faces ----------------------------------------------------------------------


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
    async for request in _each(requests):
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
    input_id: str,
    max_per_second: float | None = None,
    hosted_link: str | None = None,
    job_timeout: int = 120,  # JOB_TIMEOUT, spelled out for the reference
) -> int:
    """Feed campaign `name` from `requests`, row 1 first; returns how many there were.

    `input_id` names the input (a file's digest, an export's id): starting the campaign
    again with the same one resumes it (rows with a result are skipped), with another
    is refused. `hosted_link` ("sms" or "email") delivers each row's Hosted Link. Run
    `worker_settings` workers to do the rows.

    Raises:
        CampaignError: another process feeds the campaign, or it had another input.
    """
    from redis.asyncio import Redis

    from ._queue import CampaignQueue

    redis = Redis.from_url(redis_url)
    queue = CampaignQueue.from_url(redis_url, name=QUEUE)
    try:
        return await feed(
            redis,
            queue,
            name,
            _rows(requests),
            fingerprint=input_id,
            rate=max_per_second,
            hosted=hosted_link,
            job_timeout=job_timeout,
        )
    finally:
        await queue.disconnect()
        await redis.aclose()


async def campaign_status(redis_url: str, name: str) -> dict[str, Any]:
    """The campaign's counts (rows, fed, done, failed, queued_or_active), its state, rate
    and ETA, and the queue's `queued` and `active` jobs (of every campaign on it).

    Raises:
        CampaignError: there is no such campaign.
    """
    from redis.asyncio import Redis

    from ._queue import CampaignQueue

    redis = Redis.from_url(redis_url)
    queue = CampaignQueue.from_url(redis_url, name=QUEUE)
    try:
        counts = await status(redis, name)
        counts["queued"] = await queue.count("queued")
        counts["active"] = await queue.count("active")
        return counts
    finally:
        await queue.disconnect()
        await redis.aclose()


async def campaign_results(redis_url: str, name: str) -> AsyncIterator[dict[str, Any]]:
    """Each row's result, in row order: `batch create`'s journal line, as a dict."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        counts = await status(redis, name)
        async for line in results(redis, name, counts["rows"] or counts["fed"]):
            yield json.loads(line)
    finally:
        await redis.aclose()


async def cancel_campaign(redis_url: str, name: str) -> None:
    """Stop campaign `name`: its queued rows end without a call; results are kept."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        await cancel(redis, name)
    finally:
        await redis.aclose()
