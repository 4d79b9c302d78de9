"""A campaign worker: the saq task `link_row`, and `CampaignWorker`, what one worker
process keeps (its Redis, a session and a shared limiter per campaign rate, what it
has learnt of campaigns and credentials) and does besides rows (its heartbeat).

A row, step by step:

1. a look at the campaign (`claim` without taking): cancelled, lost, another client's,
   done, or a delivery another run may have sent (recorded as `UnknownDelivery`);
2. the call, through a view of the session whose limiter is a `RowGate`: the rate slot,
   then the claim that marks the row, atomically with the same checks, right before
   the request is written;
3. the result recorded (`CampaignRecords.record`), which ends the mark.

Guarantees. A plain token is made at least once: a job whose worker died is run again
once its heartbeat stops, and `results` keeps the first token. A Hosted Link delivery
is made at most once: a row found marked by another run is never sent again. A
delivery that failed without Plaid's answer is an `AmbiguousOutcomeError`, recorded
the same way. A 429 (Plaid did not act) is tried again, at the fleet's slowed pace,
for up to half the job's lease. A credentials error stops the worker: its rows go back
to the queue for workers whose credentials work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from .._cli._journal import journal_line
from .._errors._exceptions import (
    CREDENTIAL_ERROR_CODES,
    PlaidAPIError,
    PlaidLinkError,
    RateLimitError,
)
from .._schema._converter import from_dict
from ..models import LinkTokenCreateRequest
from ._errors import UnknownDelivery
from ._outage import RedisOutage, connect, is_outage, patiently
from ._records import CampaignRecords, workers_key
from ._row_gate import RowGate, RowStopped

logger: Final = logging.getLogger("plaid_link_async")
T = TypeVar("T")

#: A job's lease: a job still running after it is cancelled and run again.
JOB_TIMEOUT: Final = 120
#: A job whose worker has not touched it for this long is taken back by the sweep.
JOB_HEARTBEAT: Final = 15
#: How often a worker renews its entry in the registry (a job touches itself three
#: times per heartbeat).
BEAT_EVERY: Final = 5.0
#: A worker not seen for this long is counted as dead.
WORKER_ALIVE_FOR: Final = 15.0
#: The share of a job's lease a row keeps trying through Plaid's 429s before failing.
RATE_LIMIT_PATIENCE: Final = 0.5
#: The share of a job's lease its Redis calls wait for Redis to come back.
REDIS_PATIENCE: Final = 0.9


class CampaignWorker:
    """One worker process's campaign state; `link_row` finds it in saq's context.

    Args:
        redis: a `redis.asyncio.Redis` for the campaigns' records.
        make_session: builds an `AsyncLinkSession` from keyword arguments
            (`rate_limiter=`, and `on_response=` with metrics).
        limiter_for: the shared limiter for a campaign's rate.
        client_id: the client id of every session this worker makes.
        stopping: whether the worker was asked to stop (SIGTERM, a refused credential).
        stop: asks the worker to stop.
        outage: says once that Redis went away, once that it is back.
        metrics: a `WorkerMetrics`, or None.
    """

    def __init__(
        self,
        redis: Any,
        *,
        make_session: Callable[..., Any],
        limiter_for: Callable[[float], Any],
        client_id: str,
        stopping: Callable[[], bool],
        stop: Callable[[], None],
        outage: RedisOutage,
        metrics: Any = None,
    ) -> None:
        self.redis = redis
        self.client_id = client_id
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outage = outage
        self.metrics = metrics
        #: The Plaid error code that refused this worker's credentials, once one did.
        self.refused: str | None = None
        self._make_session = make_session
        self._limiter_for = limiter_for
        self._stopping = stopping
        self._stop = stop
        self._sessions: dict[float, tuple[Any, Any]] = {}
        self._told: set[tuple[str, str]] = set()  # (campaign, what): said once

    def __repr__(self) -> str:
        return f"<CampaignWorker {self.id} client_id={self.client_id!r}>"

    def session_for(self, rate: float) -> tuple[Any, Any]:
        """The session and its shared limiter for campaigns paced at `rate`."""
        if rate not in self._sessions:
            limiter = self._limiter_for(rate)
            options: dict[str, Any] = {"rate_limiter": limiter}
            if self.metrics is not None:
                options["on_response"] = self.metrics.observe_response
            session = self._make_session(**options)
            if session.client_id != self.client_id:
                raise PlaidLinkError("a campaign worker's sessions must use its client id")
            self._sessions[rate] = (session, limiter)
        return self._sessions[rate]

    async def close(self) -> None:
        for session, limiter in self._sessions.values():
            await session.close()
            await limiter.aclose()
        self._sessions.clear()

    async def beat(self) -> None:
        """Say this worker is alive, every few seconds, until cancelled."""
        key = workers_key(self.client_id)
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        while True:
            try:
                now = time.time()
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.zadd(key, {self.id: now})
                    pipe.hset(f"{key}:info", self.id, info)
                    pipe.zremrangebyscore(key, 0, now - 3600)  # an hour gone: forgotten
                    await pipe.execute()
            except Exception as error:
                if not is_outage(error):
                    raise
                self.outage.down(error)
            else:
                self.outage.up()
            await asyncio.sleep(BEAT_EVERY)

    async def leave(self) -> None:
        """Take this worker out of the registry (a clean stop)."""
        key = workers_key(self.client_id)
        try:
            await self.redis.zrem(key, self.id)
            await self.redis.hdel(f"{key}:info", self.id)
        except Exception as error:
            if not is_outage(error):
                raise

    def _once(self, campaign: str, what: str, message: str, *args: Any) -> None:
        if (campaign, what) not in self._told:
            self._told.add((campaign, what))
            logger.error(message, *args)

    def _refuse(self, code: str) -> None:
        if self.refused is None:
            self.refused = code
            logger.error(
                "worker %s: Plaid refused this worker's credentials (%s): it takes no more "
                "jobs, hands the ones it holds back to the queue, and exits; check "
                "PLAID_CLIENT_ID, PLAID_SECRET and PLAID_ENV",
                os.getpid(),
                code,
            )
        self._stop()

    async def run_row(self, job: Any, task: dict[str, Any]) -> None:
        """Run one row: `task` is its job's keyword arguments (see `link_row`), kept as
        they are for `campaign retry` if the row fails."""
        campaign, row, epoch = task["campaign"], task["row"], task["epoch"]
        user_id, fp, request = task["user_id"], task["fp"], task["request"]
        loop = asyncio.get_running_loop()
        lease = float(getattr(job, "timeout", None) or JOB_TIMEOUT)
        started = loop.time()
        until = started + REDIS_PATIENCE * lease
        records = CampaignRecords(self.redis, campaign)
        model = from_dict(LinkTokenCreateRequest, request)
        hosted = model.hosted_link is not None and model.hosted_link.delivery_method is not None
        mark = f"{self.id}|{uuid.uuid4().hex}"

        async def redis(call: Callable[[], Awaitable[T]]) -> T:
            answer = await patiently(call, until, self.outage.down)
            self.outage.up()
            return answer

        async def claim(take: bool) -> tuple[str, float | None]:
            return await redis(
                lambda: records.claim(epoch, self.client_id, row, mark, delivers=hosted, take=take)
            )

        async def record(line: dict[str, Any]) -> None:
            verdict = await redis(lambda: records.record(epoch, row, line, task))
            if verdict == "lost":
                self._lost(campaign)
            elif verdict == "kept" and self.metrics is not None:
                self.metrics.row_done(line)

        verdict, rate = await claim(take=False)
        if verdict != "go":
            await self._stopped(verdict, campaign, row, user_id, fp, record)
            return

        async def take() -> str:
            verdict, _ = await claim(True)
            return verdict

        session, limiter = self.session_for(rate or 0.0)
        plaid = session.with_options(rate_limiter=RowGate(limiter, take, self._stopping))
        give_up_at = started + RATE_LIMIT_PATIENCE * lease
        while True:
            try:
                created = await plaid.link_token_create(model)
            except RowStopped as stop:
                await self._stopped(stop.verdict, campaign, row, user_id, fp, record)
                return
            except RateLimitError as error:
                # Plaid said "not yet", never "no": the row waits its turn (the shared
                # limiter slowed the fleet) for up to half its lease.
                if loop.time() < give_up_at:
                    continue
                line = journal_line(row, user_id, fp, error=error)
            except PlaidAPIError as error:
                if error.error_code in CREDENTIAL_ERROR_CODES:
                    # Plaid did not act (a 4xx): the row is handed back, whole, for a
                    # worker whose credentials work.
                    await redis(lambda: records.release(row, mark))
                    self._refuse(error.error_code or "")
                    await loop.create_future()  # cancelled by saq, which requeues it
                line = journal_line(row, user_id, fp, error=error)
            except PlaidLinkError as error:
                line = journal_line(row, user_id, fp, error=error)
            else:
                line = journal_line(row, user_id, fp, created=created)
            break
        await record(line)

    async def _stopped(
        self,
        verdict: str,
        campaign: str,
        row: int,
        user_id: str | None,
        fp: str,
        record: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if verdict == "unknown":
            failure = UnknownDelivery(
                "the delivery's state is unknown: its worker stopped mid-call, so it was "
                "not sent again; check the user's Link webhooks before sending another"
            )
            await record(journal_line(row, user_id, fp, error=failure))
        elif verdict == "lost":
            self._lost(campaign)
        elif verdict == "client":
            self._once(
                campaign,
                "client",
                "campaign %s belongs to another client id than this worker's (%s): none "
                "of its rows is sent from here",
                campaign,
                self.client_id,
            )
        # cancelled, done: nothing to send, nothing to record.

    def _lost(self, campaign: str) -> None:
        self._once(
            campaign,
            "lost",
            "campaign %s: its records are gone from Redis (did Redis lose its data, or "
            "evict keys?); this worker delivers none of its rows, since nothing tells any "
            "more who was texted",
            campaign,
        )


async def link_row(
    ctx: dict[str, Any],
    *,
    campaign: str,
    row: int,
    user_id: str | None,
    fp: str,
    request: dict[str, Any],
    epoch: str,
) -> None:
    """The saq task: one row's token (and delivery), its result recorded in Redis."""
    worker: CampaignWorker = ctx["campaigns"]
    job = ctx.get("job")
    touching = asyncio.ensure_future(_touch(job, worker.outage))
    metrics = worker.metrics
    if metrics is not None:
        metrics.jobs_in_flight.inc()
    task = {"campaign": campaign, "row": row, "user_id": user_id, "fp": fp,
            "request": request, "epoch": epoch}  # fmt: skip
    try:
        await worker.run_row(job, task)
    except Exception as error:
        if not is_outage(error):
            raise
        # Redis stayed away past the job's patience: the row has no result and, unless
        # its request was written, no mark; a resumed feeder finds it. Said once, by
        # the outage, not as a traceback per job.
        worker.outage.down(error)
    finally:
        touching.cancel()
        if metrics is not None:
            metrics.jobs_in_flight.dec()


async def _touch(job: Any, outage: RedisOutage) -> None:
    """The job's heartbeat: touched every few seconds while it runs, so that the sweep
    takes back a dead worker's jobs within `JOB_HEARTBEAT`, and never a live one's."""
    if job is None:
        return
    every = max(1.0, (job.heartbeat or JOB_HEARTBEAT) / 3)
    while True:
        await asyncio.sleep(every)
        try:
            await job.update()
        except Exception as error:
            if not is_outage(error):
                raise
            outage.down(error)


def worker_settings(
    redis_url: str,
    make_session: Callable[..., Any],
    *,
    client_id: str,
    concurrency: int = 10,
    sweep_seconds: int = 10,
    metrics: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for `saq.Worker`: `client_id`'s campaign queue, `link_row`, and
    hooks that keep, per process, one `AsyncLinkSession` per campaign rate (made by
    `make_session(**options)`, which must use `client_id`), a shared rate limit, and a
    heartbeat.

    `saq.Worker(**settings).start()` runs it; `settings["campaigns"]` (after startup) is
    the `CampaignWorker`, whose `refused` says whether Plaid refused the credentials.
    """
    from redis.asyncio import Redis

    from ._queue import CampaignQueue, queue_name
    from ._shared import SharedRateLimit

    queue = CampaignQueue(Redis.from_url(redis_url), name=queue_name(client_id))
    tasks: list[asyncio.Task[None]] = []
    settings: dict[str, Any] = {}

    outage = RedisOutage(f"worker {os.getpid()}")

    async def startup(ctx: dict[str, Any]) -> None:
        saq_worker = ctx["worker"]
        worker = CampaignWorker(
            connect(redis_url),
            make_session=make_session,
            limiter_for=lambda rate: SharedRateLimit(
                redis_url, client_id=client_id, max_per_second=rate or None, outage=outage
            ),
            client_id=client_id,
            stopping=saq_worker.event.is_set,
            stop=saq_worker.event.set,
            outage=outage,
            metrics=metrics,
        )
        queue.attach(worker.outage)
        ctx["campaigns"] = settings["campaigns"] = worker
        tasks.append(asyncio.ensure_future(worker.beat()))

    async def shutdown(ctx: dict[str, Any]) -> None:
        worker: CampaignWorker = ctx["campaigns"]
        for task in tasks:
            task.cancel()
        await worker.leave()
        await worker.close()
        await worker.redis.aclose()

    settings.update(
        queue=queue,
        functions=[link_row],
        concurrency=concurrency,
        startup=startup,
        shutdown=shutdown,
        timers={"sweep": int(sweep_seconds)},  # whole seconds: saq's script wants them
    )
    return settings
