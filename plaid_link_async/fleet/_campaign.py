"""Link campaigns on a saq queue: a feeder enqueues one job per row, workers create
(and, with Hosted Link, deliver) the tokens, and each row's result lives in Redis.

Redis keys, per campaign NAME, under `plaid-link:campaign:NAME:`:

- `meta` (hash): the input's fingerprint, the rate, the Hosted Link method, the state
  (feeding, fed, cancelled), the input rows read (`fed`), and the counts done and failed;
- `results` (hash): row number to its journal line, the same line `batch create`
  writes, kept for as long as the campaign (not saq's job result, which expires);
- `inflight` (hash): rows whose delivery call is under way;
- `feeder`: held (with the feeder's PID) while one process feeds the campaign.

Guarantees. A plain token is made at least once: a job whose worker died is run again
after its lease, and `results` keeps the first token. A Hosted Link delivery is made
at most once: before its call a worker marks the row in `inflight`, and a row found
marked (its worker died mid-call) is never sent again but exported as an error saying
its delivery's state is unknown. A delivery that failed without an answer from Plaid is
an `AmbiguousOutcomeError`, exported the same way. A row answered 429 (Plaid did not
act) is tried again, at the fleet's slowed pace, for up to half its job's lease.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar

import attrs

from .._cli_journal import journal_line
from .._converter import from_dict, to_dict
from .._exceptions import PlaidLinkError, RateLimitError
from ..models import LinkTokenCreateHostedLink, LinkTokenCreateRequest

#: The saq queue every campaign's jobs go through.
QUEUE: Final = "plaid-link-campaigns"
#: Jobs kept queued at most while feeding; the feeder waits below it.
MAX_QUEUED: Final = 10_000
#: A job's lease: a job whose worker has not finished it by then is run again.
JOB_TIMEOUT: Final = 120
_FEEDER_LEASE_MS: Final = 30_000
T = TypeVar("T")
#: The share of a job's lease a row keeps trying through Plaid's 429s before failing.
RATE_LIMIT_PATIENCE: Final = 0.5
#: Seconds between tries of a Redis call while Redis is restarting.
REDIS_RETRY_SECONDS: Final = 0.5


class CampaignError(PlaidLinkError, ValueError):
    """A campaign cannot be started or read as asked; nothing was enqueued."""


def keys(name: str) -> dict[str, str]:
    base = f"plaid-link:campaign:{name}:"
    return {part: base + part for part in ("meta", "results", "inflight", "feeder")}


class UnknownDelivery(PlaidLinkError):
    """A delivery whose worker stopped mid-call: it may have been sent, so it is not sent
    again. Check the user's Link webhooks before sending them another."""


# -- the feeder ----------------------------------------------------------------------------


async def feed(
    redis: Any,
    queue: Any,
    name: str,
    rows: Iterable[Any] | AsyncIterable[Any],
    *,
    fingerprint: str,
    rate: float | None,
    hosted: str | None,
    max_queued: int = MAX_QUEUED,
    job_timeout: int = 120,  # JOB_TIMEOUT, spelled out for the reference
) -> int:
    """Enqueue a job for every row of `rows` (`Row`s of `_cli_input`) without a result.

    Returns the number of rows. Safe to run again: rows with a result are skipped, and a
    row already queued is refused by its job key.

    Raises:
        CampaignError: another feeder holds the campaign, or it was fed another input.
    """
    names = keys(name)
    holder = f"{os.getpid()}"
    if not await redis.set(names["feeder"], holder, nx=True, px=_FEEDER_LEASE_MS):
        other = await redis.get(names["feeder"])
        raise CampaignError(
            f"campaign {name!r} is being fed by another process (PID "
            f"{(other or b'?').decode()}); wait for it, or stop it"
        )
    keep_lease = asyncio.ensure_future(_hold(redis, names["feeder"]))
    try:
        known = await redis.hget(names["meta"], "input")
        if known is not None and known.decode() != fingerprint:
            raise CampaignError(
                f"campaign {name!r} was started with another input; use another name"
            )
        await redis.hset(
            names["meta"],
            mapping={"input": fingerprint, "rate": rate or 0, "hosted": hosted or "",
                     "state": "feeding"},
        )  # fmt: skip
        total = 0
        async for row in _each(rows):
            total = row.number
            # Rows read so far, set rather than counted: a resume reads them again.
            await redis.hset(names["meta"], "fed", total)
            if await redis.hexists(names["results"], row.number):
                continue
            problem: PlaidLinkError | None = row.error
            request = row.request
            if request is not None and hosted:
                try:
                    request = with_hosted_link(request, hosted)
                except CampaignError as error:
                    problem = error
            if request is None or problem is not None:
                line = journal_line(row.number, row.user_id, row.fingerprint, error=problem)
                await record(redis, name, row.number, line)
                continue
            # Other processes drain the queue: there is nothing to await but its count.
            while await queue.count("queued") >= max_queued:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await queue.enqueue(
                "link_row",
                key=f"{name}:{row.number}",
                timeout=job_timeout,
                retries=5,
                # Results live in `results`; a finished job is kept only briefly, for
                # saq's bookkeeping (a swept job is retried from its record).
                ttl=60,
                campaign=name,
                row=row.number,
                user_id=row.user_id,
                fp=row.fingerprint,
                request=to_dict(request),
            )
        await redis.hset(names["meta"], mapping={"total": total, "state": "fed"})
        return total
    finally:
        keep_lease.cancel()
        await redis.delete(names["feeder"])


async def _each(rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
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


def with_hosted_link(request: LinkTokenCreateRequest, method: str) -> LinkTokenCreateRequest:
    """`request` delivering its Hosted Link by `method` ("sms" or "email")."""
    user = request.user
    needed = "phone_number" if method == "sms" else "email_address"
    if user is None or not getattr(user, needed):
        raise CampaignError(f"{needed}: missing (a {needed} column is needed for {method})")
    return attrs.evolve(request, hosted_link=LinkTokenCreateHostedLink(delivery_method=method))


# One row's result, its counts and the end of its delivery mark, together: a Redis
# restart between them would leave a result uncounted, and `--wait` waiting forever.
# KEYS: results, meta, inflight. ARGV: the row, its line, 1 if the line is an error.
_RECORD: Final = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'done', 1)
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[2], 'failed', 1) end
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


async def record(redis: Any, name: str, row: int, line: dict[str, Any]) -> bool:
    """Keep `line` as `row`'s result unless it has one; True if this one was kept."""
    names = keys(name)
    text = json.dumps(line, separators=(",", ":"))
    failed = "1" if "error" in line else "0"
    kept = await redis.eval(
        _RECORD, 3, names["results"], names["meta"], names["inflight"], row, text, failed
    )
    return bool(kept)


async def patiently(
    call: Callable[[], Awaitable[T]], until: float, on_wait: Callable[[], Any] | None = None
) -> T:
    """`await call()`, and again while Redis restarts (refused, reset, timed out), until
    the loop's clock reads `until`; `on_wait` is called once, at the first wait."""
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow

    waited = False
    while True:
        try:
            return await call()
        except (RedisDown, RedisSlow):
            if asyncio.get_running_loop().time() >= until:
                raise
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            await asyncio.sleep(REDIS_RETRY_SECONDS)


# -- the worker -----------------------------------------------------------------------------


async def link_row(
    ctx: dict[str, Any],
    *,
    campaign: str,
    row: int,
    user_id: str | None,
    fp: str,
    request: dict[str, Any],
) -> None:
    """The saq task: one row's token (and delivery), its result recorded in Redis.

    Every Redis call waits out a Redis restart, up to 90% of the job's lease: a result
    in hand is recorded rather than lost, and a delivery made is never left unknown for
    want of Redis.
    """
    redis = ctx["redis"]
    names = keys(campaign)
    job = ctx.get("job")
    lease = float(getattr(job, "timeout", None) or JOB_TIMEOUT)
    now = asyncio.get_running_loop().time
    started = now()
    until = started + 0.9 * lease

    async def redis_call(method: str, *args: Any) -> Any:
        return await patiently(lambda: getattr(redis, method)(*args), until)

    if await redis_call("hexists", names["results"], row):
        return
    meta = await redis_call("hmget", names["meta"], ["state", "rate"])
    if meta[0] == b"cancelled":
        return
    model = from_dict(LinkTokenCreateRequest, request)
    hosted = model.hosted_link is not None and model.hosted_link.delivery_method is not None
    if hosted:
        # This run's own mark: a mark set by a call whose answer a restart cut off is
        # known as ours when the call is tried again.
        mine = f"{ctx.get('worker', 'worker')}:{uuid.uuid4().hex}".encode()
        await redis_call("hsetnx", names["inflight"], row, mine)
        if await redis_call("hget", names["inflight"], row) != mine:
            failure = UnknownDelivery(
                "the delivery's state is unknown: its worker stopped mid-call, so it was "
                "not sent again; check the user's Link webhooks before sending another"
            )
            line = journal_line(row, user_id, fp, error=failure)
            await patiently(lambda: record(redis, campaign, row, line), until)
            return
    plaid = await ctx["sessions"](float(meta[1] or 0) or None)
    # A 429 is Plaid saying "not yet", never "no": the row waits its turn (the shared
    # limiter has slowed the fleet) for up to half its lease, rather than failing.
    give_up_at = started + RATE_LIMIT_PATIENCE * lease
    while True:
        try:
            created = await plaid.link_token_create(model)
        except RateLimitError as error:
            if now() < give_up_at:
                continue
            line = journal_line(row, user_id, fp, error=error)
        except PlaidLinkError as error:
            line = journal_line(row, user_id, fp, error=error)
        else:
            line = journal_line(row, user_id, fp, created=created)
        break
    await patiently(lambda: record(redis, campaign, row, line), until)


def worker_settings(
    redis_url: str,
    make_session: Callable[[float | None], Any],
    *,
    concurrency: int = 10,
    sweep_seconds: int = 10,
) -> dict[str, Any]:
    """Keyword arguments for `saq.Worker`: the queue, `link_row`, and hooks that keep one
    `AsyncLinkSession` per campaign rate (made by `make_session(rate)`) per process."""
    from redis.asyncio import Redis

    from ._queue import CampaignQueue

    queue = CampaignQueue.from_url(redis_url, name=QUEUE)
    sessions: dict[float | None, Any] = {}

    async def session_for(rate: float | None) -> Any:
        if rate not in sessions:
            sessions[rate] = make_session(rate)
        return sessions[rate]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["redis"] = Redis.from_url(redis_url)
        ctx["sessions"] = session_for
        ctx["worker"] = str(os.getpid())

    async def shutdown(ctx: dict[str, Any]) -> None:
        for session in sessions.values():
            await session.close()
        await ctx["redis"].aclose()

    return {
        "queue": queue,
        "functions": [link_row],
        "concurrency": concurrency,
        "startup": startup,
        "shutdown": shutdown,
        "timers": {"sweep": int(sweep_seconds)},  # whole seconds: saq's script wants them
    }
