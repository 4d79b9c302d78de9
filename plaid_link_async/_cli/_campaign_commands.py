"""`plaid-link worker` and `plaid-link campaign ...`: Link campaigns on a saq queue.

The pieces are `fleet`'s; this module reads the command line, the input file and the
environment, and prints what a person running a campaign needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Final

from ._common import EXIT_FAILED, CommandError, session_for
from ._input_rows import check_encoding, command_line, read_rows
from ._records import read_records

#: `campaign start`'s exit code after SIGTERM: 128 + 15, as a shell reports it.
EXIT_TERMINATED: Final = 143


def _redis_url(args: Any) -> str:
    from .._calls._settings import env_redis_url

    url = getattr(args, "redis", None) or env_redis_url()
    if not url:
        raise CommandError("campaigns need Redis: --redis URL or $PLAID_LINK_REDIS_URL")
    return str(url)


def _client_id(args: Any) -> str:
    client_id = getattr(args, "client_id", None) or os.environ.get("PLAID_CLIENT_ID")
    if not client_id:
        raise CommandError("a campaign belongs to a client id: --client-id or $PLAID_CLIENT_ID")
    return str(client_id)


async def _reachable(url: str) -> None:
    """One PING: an unreachable Redis or a refused password fails here, in one line."""
    from ..fleet._outage import connect

    redis = connect(url)
    try:
        await redis.ping()
    finally:
        await redis.aclose()


def worker(args: Any) -> int:
    """Run a saq worker until SIGTERM or Ctrl-C; the jobs taken finish first. Exits 1
    when Plaid refused its credentials (its jobs handed back to the queue)."""
    from saq import Worker

    from .._calls._rate_limit import LocalRateLimit
    from .._calls._settings import env_max_per_second
    from ..fleet._worker import worker_settings

    for flag, value, least in (
        ("--concurrency", args.concurrency, 1),
        ("--grace", args.grace, 0),
        ("--sweep-seconds", args.sweep_seconds, 1),
    ):
        if value < least:
            raise CommandError(f"{flag} must be at least {least}, got {value}")
    env_max_per_second()  # a rate that is no rate fails now, not in every job
    url = _redis_url(args)
    # The session's settings (credentials, environment, URL) are checked once, now.
    client_id = session_for(args, rate_limiter=LocalRateLimit()).client_id
    asyncio.run(_reachable(url))
    metrics = None
    if args.metrics_port is not None:
        from ..fleet._metrics import WorkerMetrics

        metrics = WorkerMetrics()
        metrics.serve(args.metrics_port, args.metrics_host)
    settings = worker_settings(
        url,
        lambda **options: session_for(args, **options),
        client_id=client_id,
        concurrency=args.concurrency,
        sweep_seconds=args.sweep_seconds,
        metrics=metrics,
    )
    if not (args.verbose or args.debug):
        # Warnings and errors (a Redis outage, refused credentials) with their time.
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    queue = settings["queue"]
    print(f"plaid-link worker: pid {os.getpid()}, queue {queue.name}", flush=True)
    saq_worker = Worker(shutdown_grace_period_s=args.grace, **settings)
    asyncio.run(saq_worker.start())
    campaigns = saq_worker.context.get("campaigns")
    return EXIT_FAILED if campaigns is not None and campaigns.refused else 0


def fingerprint(path: Path) -> str:
    """The input's identity: the SHA-256 of its bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


def input_rows(path: Path, encoding: str) -> int:
    """How many rows the input holds, read once without building requests: the bar's
    total and the ETA's from the start, not once the last row is fed."""
    last = 0
    for record in read_records(path, encoding):
        last = record.number
    return last


def start(args: Any, defaults: Any) -> int:
    """Feed campaign NAME from --input; with --wait, until every row has a result."""
    from .._calls._settings import env_max_per_second
    from ..fleet._errors import CampaignLost
    from ..fleet._feeder import check_campaign_rate, check_durable, feed
    from ..fleet._outage import connect
    from ..fleet._queue import CampaignQueue, queue_name
    from ..fleet._records import CampaignRecords

    if args.max_queued < 1:
        raise CommandError("--max-queued must be at least 1")
    asked = args.max_per_second
    from_env = env_max_per_second() if asked is None else None
    flag = "$PLAID_LINK_MAX_PER_SECOND" if from_env is not None else "--max-per-second"
    rate = check_campaign_rate(asked if asked is not None else from_env, flag)
    url = _redis_url(args)
    client_id = _client_id(args)
    encoding = check_encoding(args.encoding)
    identity = fingerprint(args.input)
    expected = input_rows(args.input, encoding)
    show = args.wait and not args.no_progress and sys.stderr.isatty()
    progress = WaitProgress(sys.stderr, args.name) if show else None

    async def run() -> int:
        # SIGTERM (a container stopped, a deploy) stops the feeding as Ctrl-C does: the
        # campaign is let go at once rather than held until its lease runs out.
        main = asyncio.current_task()
        assert main is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        redis = connect(url)
        queue = CampaignQueue.from_url(url, name=queue_name(client_id))
        records = CampaignRecords(redis, args.name)
        epoch: str | None = None

        async def feed_all() -> int:
            nonlocal epoch
            rows = read_rows(args.input, defaults, encoding)
            total, epoch = await feed(
                redis, queue, args.name, rows, client_id=client_id, fingerprint=identity,
                rate=rate, hosted=args.hosted_link, keep_days=args.keep_days,
                expected=expected, max_queued=args.max_queued, job_timeout=args.job_timeout,
                job_heartbeat=args.job_heartbeat,
                epoch=epoch,
            )  # fmt: skip
            return total

        watching = None
        try:
            if args.hosted_link:
                risk = await check_durable(redis, allow_volatile=args.allow_volatile_redis)
                if risk:
                    _say(risk)
            if progress is not None:
                watching = asyncio.ensure_future(_watch(redis, queue, args.name, progress))
            total = await feed_all()
            _say(f"campaign {args.name}: {total} rows fed", progress)
            if not args.wait:
                return 0
            idle = 0
            while True:
                meta = await _patiently(records.meta_fields)
                if meta.get("epoch") != epoch:
                    raise CampaignLost(
                        f"campaign {args.name!r}: its records are gone from Redis (did "
                        "Redis lose its data, or evict keys?); nothing is fed again, since "
                        "nothing tells any more who was texted"
                    )
                done = int(meta.get("done", 0))
                if meta.get("state") == "cancelled":
                    _say(
                        f"campaign {args.name} was cancelled: {done} of {total} rows have a "
                        "result; the others were not sent and will not be",
                        progress,
                    )
                    return EXIT_FAILED
                if done >= total:
                    break
                # Rows without a result while no job is queued or running: their jobs
                # were lost (a Redis restart cut a job's bookkeeping short). Feeding
                # again enqueues exactly those rows, as a resume does.
                busy = await _patiently(lambda: _queue_busy(queue))
                idle = 0 if busy else idle + 1
                if idle >= 6:
                    _say(f"{total - done} rows have no job left; feeding them again", progress)
                    await _patiently(feed_all)
                    idle = 0
                await asyncio.sleep(0.5)
            if watching is not None:
                watching.cancel()
                watching = None
            return _finished(args.name, await _patiently(records.meta_fields), progress)
        finally:
            if watching is not None:
                watching.cancel()
            await queue.disconnect()
            await redis.aclose()

    try:
        return asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError) as stopped:
        if progress is not None:
            progress.close()
        # Ctrl-C stops the feeding only: the jobs queued stay, and the workers go on.
        _say(
            "interrupted; the rows queued are still worked on. To feed the rest, run the "
            f"same command again: {command_line()}"
        )
        if isinstance(stopped, KeyboardInterrupt):
            raise
        return EXIT_TERMINATED


def _finished(name: str, meta: dict[str, str], progress: WaitProgress | None) -> int:
    total, done, failed = int(meta["total"]), int(meta["done"]), int(meta["failed"])
    if progress is not None:
        progress.show({"rows": total, "done": done, "failed": failed, "fed": total})
        progress.close()
    kinds = ", ".join(
        f"{key.removeprefix('failed:')} {value}"
        for key, value in sorted(meta.items())
        if key.startswith("failed:") and int(value) > 0
    )
    by_kind = f" ({kinds})" if kinds else ""
    _say(f"{total} rows: {done - failed} created, {failed} failed{by_kind}")
    if failed:
        _say(f"see them with: plaid-link campaign export {name} --output FILE")
    return EXIT_FAILED if failed else 0


def _say(text: str, progress: WaitProgress | None = None) -> None:
    if progress is not None:
        progress.clear()
    print(text, file=sys.stderr, flush=True)


class WaitProgress:
    """`campaign start --wait`'s display: rows with a result over the input's rows, by
    tqdm when installed (the `progress` extra), else one line rewritten in place."""

    def __init__(self, err: Any, name: str) -> None:
        self._err = err
        self._bar: Any = None
        self._width = 0
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=None, unit="row", desc=name, file=err, dynamic_ncols=True)

    def show(self, counts: dict[str, Any]) -> None:
        total, done, failed = counts["rows"], counts["done"], counts["failed"]
        if self._bar is not None:
            if total is not None and self._bar.total != total:
                self._bar.total = total
            self._bar.update(max(0, done - self._bar.n))
            self._bar.set_postfix(failed=failed, fed=counts["fed"])
            return
        of = total if total is not None else f"{counts['fed']}+"
        eta = counts.get("eta_seconds")
        text = f"{done}/{of} rows, {failed} failed" + (f", ~{eta} s left" if eta else "")
        self._err.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self._err.flush()

    def clear(self) -> None:
        if self._bar is not None:
            self._bar.clear()
        elif self._width:
            self._err.write("\r" + " " * self._width + "\r")
            self._width = 0

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._width:
            self._err.write("\n")
            self._width = 0
        self._err.flush()


async def _watch(redis: Any, queue: Any, name: str, progress: WaitProgress) -> None:
    from redis.exceptions import RedisError

    from ..fleet._errors import CampaignError
    from ..fleet._status import campaign_state

    while True:
        # Redis restarting, or the campaign not yet written: shown next time.
        with contextlib.suppress(RedisError, CampaignError):
            progress.show(await campaign_state(redis, queue, name))
        await asyncio.sleep(0.5)


async def _queue_busy(queue: Any) -> bool:
    return bool(await queue.count("queued") or await queue.count("active"))


async def _patiently(read: Any, patience: float = 120.0) -> Any:
    """`await read()`, again while Redis is away, saying so once."""
    from ..fleet._outage import patiently

    said: list[bool] = []

    def waiting(error: BaseException) -> None:
        if not said:
            said.append(True)
            _say("Redis unreachable; waiting for it")

    until = asyncio.get_running_loop().time() + patience
    return await patiently(read, until, waiting)


def show_status(args: Any) -> int:
    from ..fleet import campaign_status

    counts = asyncio.run(campaign_status(_redis_url(args), args.name))
    if args.json:
        print(json.dumps(counts, allow_nan=False))
        return 0
    for key, value in counts.items():
        if key == "warnings":
            for warning in value:
                print(f"warning: {warning}")
        elif key == "workers":
            for one in value:
                print(f"worker: {one['id']} (seen {one['seen_seconds_ago']} s ago)")
        elif key == "failed_by_kind":
            print(f"{key}: " + (", ".join(f"{k} {n}" for k, n in value.items()) or "-"))
        else:
            print(f"{key}: {'-' if value is None else value}")
    return 0


def show_list(args: Any) -> int:
    from ..fleet import campaigns

    listed = asyncio.run(campaigns(_redis_url(args)))
    if args.json:
        print(json.dumps(listed, allow_nan=False))
        return 0
    columns = ("campaign", "client_id", "state", "rows", "done", "failed", "created")
    table = [columns] + [tuple(str(c.get(k) if c.get(k) is not None else "-") for k in columns)
                         for c in listed]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def export(args: Any) -> int:
    from ..fleet._campaign_faces import connected, results

    async def run() -> int:
        written = 0
        async with connected(_redis_url(args)) as redis:
            with args.output.open("w", encoding="utf-8") as out:
                async for line in results(redis, args.name):
                    out.write(line + "\n")
                    written += 1
        return written

    started = time.perf_counter()
    written = asyncio.run(run())
    print(
        f"{written} lines written to {args.output} in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def cancel(args: Any) -> int:
    from ..fleet import cancel_campaign

    live = asyncio.run(cancel_campaign(_redis_url(args), args.name))
    calls = "1 request was" if live == 1 else f"{live} requests were"
    print(
        f"campaign {args.name}: cancelled; no request of it starts from now on. {calls} "
        "being written or awaited by live workers and may still finish. Results are kept.",
        file=sys.stderr,
    )
    return 0


def delete(args: Any) -> int:
    from ..fleet import delete_campaign

    dropped = asyncio.run(delete_campaign(_redis_url(args), args.name))
    jobs = f", and its {dropped} queued jobs" if dropped else ""
    print(f"campaign {args.name}: deleted, every key{jobs}", file=sys.stderr)
    return 0


def retry(args: Any) -> int:
    from ..fleet import retry_campaign

    queued = asyncio.run(
        retry_campaign(_redis_url(args), args.name, unknown_deliveries=args.unknown_deliveries)
    )
    print(f"campaign {args.name}: {queued} failed rows queued again", file=sys.stderr)
    return 0
