"""`plaid-link worker` and `plaid-link campaign ...`: Link campaigns on a saq queue.

The pieces are `fleet._campaign`'s; this module reads the command line, the input file
and the environment, and prints what a person running a campaign needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Final

from ._cli_input import check_encoding, command_line, read_rows

#: `campaign start`'s exit code after SIGTERM: 128 + 15, as a shell reports it.
EXIT_TERMINATED: Final = 143


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

    from .fleet._campaign import QUEUE, feed
    from .fleet._campaign_faces import status
    from .fleet._queue import CampaignQueue

    if args.max_queued < 1:
        from ._exceptions import ConfigurationError

        raise ConfigurationError("--max-queued must be at least 1")
    url = _redis_url(args)
    encoding = check_encoding(args.encoding)
    identity = fingerprint(args.input)
    show = args.wait and not args.no_progress and sys.stderr.isatty()
    progress = WaitProgress(sys.stderr, args.name) if show else None

    async def run() -> int:
        # SIGTERM (a container stopped, a deploy) stops the feeding as Ctrl-C does: the
        # campaign is let go at once rather than held until its lease runs out.
        main = asyncio.current_task()
        assert main is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        redis = Redis.from_url(url)
        queue = CampaignQueue.from_url(url, name=QUEUE)
        watching = asyncio.ensure_future(_watch(redis, args.name, progress)) if progress else None

        async def feed_all() -> int:
            rows = read_rows(args.input, defaults, encoding)
            return await feed(
                redis, queue, args.name, rows, fingerprint=identity,
                rate=args.max_per_second, hosted=args.hosted_link, job_timeout=args.job_timeout,
                max_queued=args.max_queued,
            )  # fmt: skip

        try:
            total = await feed_all()
            _say(f"campaign {args.name}: {total} rows fed", progress)
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
                    _say(f"{total - counts['done']} rows have no job left; feeding them again")
                    await _patiently(feed_all)
                    idle = 0
                await asyncio.sleep(0.5)
            if progress is not None:
                progress.show(counts)
                progress.close()
            _say(
                f"{total} rows: {counts['done'] - counts['failed']} created, "
                f"{counts['failed']} failed"
            )
            return 1 if counts["failed"] else 0
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
                self._bar.total = total  # known once the whole input was read
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


async def _watch(redis: Any, name: str, progress: WaitProgress) -> None:
    from redis.exceptions import RedisError

    from .fleet._campaign import CampaignError
    from .fleet._campaign_faces import status

    while True:
        # Redis restarting, or the campaign not yet written: shown next time.
        with contextlib.suppress(RedisError, CampaignError):
            progress.show(await status(redis, name))
        await asyncio.sleep(0.5)


async def _queue_busy(queue: Any) -> bool:
    return bool(await queue.count("queued") or await queue.count("active"))


async def _patiently(read: Any, patience: float = 120.0) -> Any:
    """`await read()`, again while Redis is restarting, saying so once."""
    from .fleet._campaign import patiently

    until = asyncio.get_running_loop().time() + patience
    return await patiently(read, until, lambda: _say("Redis unreachable; waiting for it"))


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

    from .fleet._campaign_faces import results, status

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
