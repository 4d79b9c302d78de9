"""`plaid-link worker` and `plaid-link campaign ...`: Link campaigns on a saq queue.

The pieces are `fleet._campaign`'s; this module reads the command line, the input file
and the environment, and prints what a person running a campaign needs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._cli_input import check_encoding, read_rows


def _redis_url(args: Any) -> str:
    from ._config import env_redis_url

    url = getattr(args, "redis", None) or env_redis_url()
    if not url:
        from ._exceptions import ConfigurationError

        raise ConfigurationError("campaigns need Redis: --redis URL or $PLAID_LINK_REDIS_URL")
    return str(url)


def worker(args: Any, make_session: Any) -> int:
    """Run a saq worker until SIGTERM or Ctrl-C; the jobs taken finish first."""
    from saq import Worker

    from .fleet._campaign import worker_settings

    url = _redis_url(args)
    settings = worker_settings(
        url,
        lambda rate: make_session(args, redis_url=url, max_per_second=rate),
        concurrency=args.concurrency,
        sweep_seconds=args.sweep_seconds,
    )
    print(f"plaid-link worker: pid {os.getpid()}, queue {settings['queue'].name}", flush=True)
    asyncio.run(Worker(shutdown_grace_period_s=args.grace, **settings).start())
    return 0


def fingerprint(path: Path) -> str:
    """The input's identity: the SHA-256 of its bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


def start(args: Any, defaults: Any) -> int:
    """Feed campaign NAME from --input; with --wait, until every row has a result."""
    from redis.asyncio import Redis
    from saq import Queue

    from .fleet._campaign import QUEUE, feed, status

    url = _redis_url(args)
    encoding = check_encoding(args.encoding)
    identity = fingerprint(args.input)

    async def run() -> int:
        redis = Redis.from_url(url)
        queue = Queue.from_url(url, name=QUEUE)

        async def feed_all() -> int:
            rows = read_rows(args.input, defaults, encoding)
            return await feed(
                redis, queue, args.name, rows, fingerprint=identity,
                rate=args.max_per_second, hosted=args.hosted_link, job_timeout=args.job_timeout,
            )  # fmt: skip

        try:
            total = await feed_all()
            print(f"campaign {args.name}: {total} rows fed", file=sys.stderr, flush=True)
            if not args.wait:
                return 0
            idle = 0
            while True:
                counts = await _patiently(lambda: status(redis, args.name))
                if counts["done"] >= total:
                    break
                # Rows without a result while no job is queued or running: their jobs
                # were lost (a Redis restart cut a job's bookkeeping short). Feeding
                # again enqueues exactly those rows, as a resume does.
                busy = await _patiently(lambda: _queue_busy(queue))
                idle = 0 if busy else idle + 1
                if idle >= 6:
                    print(
                        f"{total - counts['done']} rows have no job left; feeding them again",
                        file=sys.stderr,
                        flush=True,
                    )
                    await _patiently(feed_all)
                    idle = 0
                await asyncio.sleep(0.5)
            print(
                f"{total} rows: {counts['done'] - counts['failed']} created, "
                f"{counts['failed']} failed",
                file=sys.stderr,
            )
            return 1 if counts["failed"] else 0
        finally:
            await queue.disconnect()
            await redis.aclose()

    return asyncio.run(run())


async def _queue_busy(queue: Any) -> bool:
    return bool(await queue.count("queued") or await queue.count("active"))


async def _patiently(read: Any, patience: float = 120.0) -> Any:
    """`await read()`, again while Redis is restarting (connection refused, reset)."""
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow

    deadline = time.monotonic() + patience
    said = False
    while True:
        try:
            return await read()
        except (RedisDown, RedisSlow):
            if time.monotonic() > deadline:
                raise
            if not said:
                print("Redis unreachable; waiting for it", file=sys.stderr, flush=True)
                said = True
            await asyncio.sleep(1.0)


def show_status(args: Any) -> int:
    from .fleet import campaign_status

    counts = asyncio.run(campaign_status(_redis_url(args), args.name))
    if args.json:
        print(json.dumps(counts))
    else:
        print(" ".join(f"{key}={value}" for key, value in counts.items()))
    return 0


def export(args: Any) -> int:
    from redis.asyncio import Redis

    from .fleet._campaign import results, status

    async def run() -> int:
        redis = Redis.from_url(_redis_url(args))
        written = 0
        try:
            counts = await status(redis, args.name)
            total = counts["rows"] or counts["fed"]
            with args.output.open("w", encoding="utf-8") as out:
                async for line in results(redis, args.name, total):
                    out.write(line + "\n")
                    written += 1
        finally:
            await redis.aclose()
        return written

    started = time.perf_counter()
    written = asyncio.run(run())
    print(
        f"{written} lines written to {args.output} in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def cancel(args: Any) -> int:
    from .fleet import cancel_campaign

    asyncio.run(cancel_campaign(_redis_url(args), args.name))
    print(f"campaign {args.name}: cancelled; its results are kept", file=sys.stderr)
    return 0
