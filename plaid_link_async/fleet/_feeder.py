"""The feeder: one saq job per input row without a result, on the client id's queue.

Before a Hosted Link campaign it checks that Redis keeps what it is told
(`check_durable`): at most once rests on the marks and results it holds.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Final

import attrs

from .._calls._rate_limit import check_rate
from .._cli._journal import journal_line
from .._errors._exceptions import PlaidLinkError
from .._schema._converter import to_dict
from ..models import LinkTokenCreateHostedLink, LinkTokenCreateRequest
from ._errors import CampaignError, CampaignLost
from ._records import CampaignRecords
from ._worker import JOB_HEARTBEAT, JOB_TIMEOUT

#: Jobs kept queued at most while feeding; the feeder waits below it.
MAX_QUEUED: Final = 10_000
#: Days a campaign's records are kept once it ends, by default and at the most.
KEEP_DAYS: Final = 30
MAX_KEEP_DAYS: Final = 3650
#: The slowest rate a campaign takes: one call in 100 seconds.
MIN_RATE: Final = 0.01
_FEEDER_LEASE_MS: Final = 30_000


def check_campaign_rate(rate: float | None, flag: str = "--max-per-second") -> float:
    """A campaign's rate: required, a number of calls a second from 0.01 up."""
    if rate is None:
        raise CampaignError(
            f"a campaign needs a rate: {flag} N (or $PLAID_LINK_MAX_PER_SECOND), a little "
            "under Plaid's limit for link_token_create; unpaced, half the calls met 429"
        )
    try:
        checked = check_rate(rate, flag)
    except PlaidLinkError as error:
        raise CampaignError(str(error)) from None
    assert checked is not None
    if checked < MIN_RATE:
        raise CampaignError(f"{flag} must be at least {MIN_RATE} (one call in 100 s), got {rate!r}")
    return checked


async def check_durable(redis: Any, *, allow_volatile: bool = False) -> str | None:
    """Refuse a Redis that may forget what it was told: no append-only file, or a
    `maxmemory-policy` that evicts keys. Read from `INFO` (managed Redis forbids
    `CONFIG`). With `allow_volatile`, the risk is returned as a line to print instead.

    Raises:
        CampaignError: naming the setting.
    """
    persistence = await redis.info("persistence")
    memory = await redis.info("memory")
    problems = []
    if int(persistence.get("aof_enabled", 0)) != 1:
        problems.append(
            "Redis keeps no append-only file (appendonly no): a restart forgets which "
            "users were texted"
        )
    policy = str(memory.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction":
        problems.append(
            f"Redis evicts keys when full (maxmemory-policy {policy}): an evicted record "
            "forgets which users were texted"
        )
    if not problems:
        return None
    text = "; ".join(problems)
    if not allow_volatile:
        raise CampaignError(
            f"{text}. Set appendonly yes and maxmemory-policy noeviction (see the "
            "operations page), or pass --allow-volatile-redis to run anyway"
        )
    return f"warning: {text}; running anyway (--allow-volatile-redis): a user may be texted twice"


def with_hosted_link(request: LinkTokenCreateRequest, method: str) -> LinkTokenCreateRequest:
    """`request` delivering its Hosted Link by `method` ("sms" or "email")."""
    user = request.user
    needed = "phone_number" if method == "sms" else "email_address"
    if user is None or not getattr(user, needed):
        raise CampaignError(f"{needed}: missing (a {needed} column is needed for {method})")
    return attrs.evolve(request, hosted_link=LinkTokenCreateHostedLink(delivery_method=method))


async def feed(
    redis: Any,
    queue: Any,
    name: str,
    rows: Iterable[Any] | AsyncIterable[Any],
    *,
    client_id: str,
    fingerprint: str,
    rate: float,
    hosted: str | None,
    keep_days: float = KEEP_DAYS,
    expected: int | None = None,
    max_queued: int = MAX_QUEUED,
    job_timeout: int = JOB_TIMEOUT,
    job_heartbeat: int = JOB_HEARTBEAT,
    epoch: str | None = None,
) -> tuple[int, str]:
    """Enqueue a job for every row of `rows` (`Row`s of `_cli._input_rows`) without a result;
    (the number of rows, the campaign's epoch). A feeder feeding again gives the
    `epoch` it knows: if the campaign's records are not those, nothing is fed.

    Safe to run again: rows with a result are skipped, and a row already queued is
    refused by its job key.

    Raises:
        CampaignError: another feeder holds the campaign; it was cancelled, or started
            with another input or client id; Redis ran out of memory.
        CampaignLost: the campaign's records vanished from Redis while feeding.
    """
    records = CampaignRecords(redis, name)
    rate = check_campaign_rate(rate)
    if not 0 < keep_days <= MAX_KEEP_DAYS:  # NaN and infinity fail too
        raise CampaignError(
            f"--keep-days must be more than 0 and at most {MAX_KEEP_DAYS}, got {keep_days!r}"
        )
    if job_heartbeat < 2 or job_timeout < 1:
        raise CampaignError("--job-heartbeat must be at least 2 s and --job-timeout 1 s")
    number = 0
    keep_lease = None
    try:
        if not await redis.set(records.feeder, str(os.getpid()), nx=True, px=_FEEDER_LEASE_MS):
            other = await redis.get(records.feeder)
            raise CampaignError(
                f"campaign {name!r} is being fed by another process (PID "
                f"{(other or b'?').decode()}); wait for it, or stop it"
            )
        keep_lease = asyncio.ensure_future(_hold(redis, records.feeder))
        _, epoch = await records.create(
            epoch=uuid.uuid4().hex, client_id=client_id, fingerprint=fingerprint, rate=rate,
            hosted=hosted, keep_seconds=round(keep_days * 86400), expected=expected,
            known=epoch,
        )  # fmt: skip
        async for row in each(rows):
            number = row.number
            verdict = await records.feed_row(epoch, number)
            if verdict != "feed":
                if verdict == "done":
                    continue
                raise _stopped(name, verdict, number)
            request, problem = _prepared(row, hosted)
            if request is None:
                line = journal_line(number, row.user_id, row.fingerprint, error=problem)
                await records.record(epoch, number, line)
                continue
            # Other processes drain the queue: there is nothing to await but its count.
            while await queue.count("queued") >= max_queued:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await queue.enqueue(
                "link_row",
                key=f"{name}:{number}",
                timeout=job_timeout,
                heartbeat=job_heartbeat,
                retries=5,
                # Results live in the campaign's records; a finished job is kept only
                # briefly, for saq's bookkeeping.
                ttl=60,
                campaign=name,
                row=number,
                user_id=row.user_id,
                fp=row.fingerprint,
                request=to_dict(request),
                epoch=epoch,
            )
        verdict = await records.fed(epoch, number)
        if verdict in ("lost", "cancelled"):
            raise _stopped(name, verdict, number)
        return number, epoch
    except Exception as error:
        from redis.exceptions import OutOfMemoryError

        if isinstance(error, OutOfMemoryError):
            raise CampaignError(
                f"Redis is out of memory (its maxmemory): feeding campaign {name!r} stopped "
                f"at row {number}. Give Redis room (see the operations page's sizing), then "
                "run the same command again: it resumes there"
            ) from None
        raise
    finally:
        if keep_lease is not None:
            keep_lease.cancel()
            await redis.delete(records.feeder)


def _prepared(
    row: Any, hosted: str | None
) -> tuple[LinkTokenCreateRequest | None, PlaidLinkError | None]:
    """The row's request as it is sent, or (None, why it cannot be)."""
    if row.error is not None or row.request is None:
        return None, row.error
    if not hosted:
        return row.request, None
    try:
        return with_hosted_link(row.request, hosted), None
    except CampaignError as error:
        return None, error


def _stopped(name: str, verdict: str, number: int) -> PlaidLinkError:
    if verdict == "cancelled":
        return CampaignError(
            f"campaign {name!r} was cancelled (at row {number} of the input): nothing more "
            "is fed, and a cancel is final; start it again under a new name"
        )
    return CampaignLost(
        f"campaign {name!r}: its records are gone from Redis (at row {number} of the "
        "input); did Redis lose its data, or evict keys? Nothing is fed again, since "
        "nothing tells any more who was texted. Check the users' Link webhooks, then "
        "start the rows not reached under a new name"
    )


async def each(rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def _hold(redis: Any, key: str) -> None:
    while True:
        await asyncio.sleep(_FEEDER_LEASE_MS / 3000)
        await redis.pexpire(key, _FEEDER_LEASE_MS)
