"""Batch token creation against raw aiohttp and plaid-python, and its memory when streaming.

    python bench/batch.py [--rounds 3] [--stream 1000000]

The fake Plaid server runs in its own process on loopback, with the latency given.

1. 10,000 tokens, 100 ms latency, 500 in flight: `link_token_create_many` wall time over
   a hand-written aiohttp `gather` with the same connection limit. Goal: at most 1.10.
2. 5,000 tokens, 200 ms latency, 250 in flight: wall time over the latency bound
   N * latency / concurrency = 4.0 s. Goal: at most 1.20 (raw aiohttp: about 1.15).
   The same work with plaid-python on a 250-thread pool, as a wall-time ratio.
3. Peak memory growth (RSS) while 1,000,000 generated inputs stream through a batch,
   in a fresh process. Goal: under 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import HEADERS, PAYLOAD, REQUEST, parse_expiration, plaid_python

from plaid_link_async import AsyncLinkSession, RetryPolicy
from plaid_link_async import models as m
from plaid_link_async._wire import _json
from plaid_link_async.testing import DEFAULT_CLIENT_ID, DEFAULT_SECRET, fake_server_process


def requests(count: int) -> Iterator[m.LinkTokenCreateRequest]:
    user = m.LinkTokenCreateRequestUser
    for n in range(count):
        yield attrs.evolve(REQUEST, user=user(client_user_id=f"user-{n}"))


def session(url: str, in_flight: int) -> AsyncLinkSession:
    return AsyncLinkSession(
        DEFAULT_CLIENT_ID,
        DEFAULT_SECRET,
        base_url=url,
        connector_limit=in_flight,
        retry=RetryPolicy(max_attempts=1),  # as the raw loop: a failure is a failure
    )


#: Ours runs with the `speedups` extra (orjson) and without it, when it is installed.
MODES = {"speedups": True, "standard json": False} if _json.SPEEDUPS else {"standard json": False}


async def ours(url: str, count: int, in_flight: int, speedups: bool = True) -> None:
    _json.use_speedups(speedups)
    async with session(url, in_flight) as plaid:
        failed = 0
        async for result in plaid.link_token_create_many(requests(count), concurrency=in_flight):
            failed += not result.ok
        assert failed == 0, f"{failed} calls failed"


async def raw_gather(url: str, count: int, in_flight: int) -> None:
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(n: int) -> None:
            payload = {**PAYLOAD, "user": {"client_user_id": f"user-{n}"}}
            async with http.post(f"{url}/link/token/create", json=payload, headers=HEADERS) as r:
                assert r.status == 200
                parse_expiration((await r.json())["expiration"])

        await asyncio.gather(*(one(n) for n in range(count)))


def theirs(url: str, count: int, in_flight: int) -> float | None:
    """Wall seconds for plaid-python on a thread pool, or None if it is not installed."""
    official = plaid_python(url, in_flight)
    if official is None:
        return None
    api, request_for = official

    def one(n: int) -> None:
        api.link_token_create(request_for(f"user-{n}"))

    with ThreadPoolExecutor(in_flight) as pool:
        started = time.perf_counter()
        list(pool.map(one, range(count)))
        return time.perf_counter() - started


def timed(run: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    asyncio.run(run())  # type: ignore[arg-type]
    return time.perf_counter() - started


def throughput_bound(rounds: int) -> None:
    count, in_flight = 10_000, 500
    print(f"1. {count} tokens, 100 ms latency, {in_flight} in flight")
    walls: dict[str, list[float]] = {"raw aiohttp gather": []}
    walls |= {f"batch, {mode}": [] for mode in MODES}
    with fake_server_process(latency_ms=100) as url:
        timed(lambda: ours(url, 500, in_flight))  # warm up both sides
        for _ in range(rounds):
            walls["raw aiohttp gather"].append(timed(lambda: raw_gather(url, count, in_flight)))
            for mode, on in MODES.items():
                walls[f"batch, {mode}"].append(timed(lambda on=on: ours(url, count, in_flight, on)))
    for name, values in walls.items():
        print(f"  {name:26} {statistics.median(values):6.2f} s")
    for mode in MODES:
        ratios = sorted(
            a / b for a, b in zip(walls[f"batch, {mode}"], walls["raw aiohttp gather"], strict=True)
        )
        print(
            f"  batch, {mode} / raw aiohttp: {statistics.median(ratios):.2f}x "
            f"(rounds: {ratios[0]:.2f} to {ratios[-1]:.2f}) (goal <= 1.10)"
        )
    print(f"  (latency bound: {count * 0.1 / in_flight:.1f} s)")


def latency_bound(rounds: int) -> None:
    count, in_flight, latency = 5_000, 250, 0.2
    bound = count * latency / in_flight
    print(f"2. {count} tokens, 200 ms latency, {in_flight} in flight (bound {bound:.1f} s)")
    walls: dict[str, list[float]] = {f"batch, {mode}": [] for mode in MODES}
    walls["raw aiohttp gather"] = []
    plaid_python: list[float] = []
    with fake_server_process(latency_ms=latency * 1000) as url:
        timed(lambda: ours(url, 250, in_flight))
        for _ in range(rounds):
            for mode, on in MODES.items():
                walls[f"batch, {mode}"].append(timed(lambda on=on: ours(url, count, in_flight, on)))
            walls["raw aiohttp gather"].append(timed(lambda: raw_gather(url, count, in_flight)))
        wall = theirs(url, count, in_flight)
        if wall is not None:
            plaid_python.append(wall)
    for name, values in walls.items():
        wall = statistics.median(values)
        print(f"  {name:26} {wall:6.2f} s = {wall / bound:.2f}x the bound (goal for ours <= 1.20)")
    if plaid_python:
        wall = plaid_python[0]
        print(f"  plaid-python, 250 threads  {wall:6.2f} s = {wall / bound:.2f}x the bound")
        for mode in MODES:
            ours_wall = statistics.median(walls[f"batch, {mode}"])
            print(f"  batch, {mode} / plaid-python wall time: {ours_wall / wall:.2f}x")
    else:
        print("  plaid-python is not installed (pip install -e '.[bench]'): skipped")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


async def stream(url: str, count: int) -> tuple[float, float, float, int]:
    """RSS after warm-up, the highest RSS sampled every 10,000 results, and the peak."""
    async with session(url, 100) as plaid:
        done = 0
        start_rss = highest = 0.0
        async for _ in plaid.link_token_create_many(requests(count), concurrency=100):
            done += 1
            if done == 20_000:  # pools, caches and hooks are warm by now
                start_rss = highest = rss_mb()
            elif done > 20_000 and done % 10_000 == 0:
                highest = max(highest, rss_mb())
        return start_rss, highest, peak_mb(), done


def memory(count: int) -> None:
    """Run in a fresh process: its peak RSS belongs to this measurement alone."""
    with fake_server_process() as url:
        started = time.perf_counter()
        start_rss, highest, peak, done = asyncio.run(stream(url, count))
    print(
        f"  {done} inputs in {time.perf_counter() - started:.0f} s: RSS {start_rss:.1f} MB "
        f"after 20,000, at most {highest:.1f} MB when sampled every 10,000 "
        f"(growth {highest - start_rss:.1f} MB, goal < 50 MB); "
        f"the process's peak RSS: {peak:.1f} MB "
        f"({'speedups' if _json.SPEEDUPS else 'standard json'}; JSON is no part of it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stream", type=int, default=1_000_000, help="inputs for part 3")
    parser.add_argument("--only", choices=["1", "2", "3"], help="run one part")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory(args.stream)
        return
    if args.only in (None, "1"):
        throughput_bound(args.rounds)
    if args.only in (None, "2"):
        latency_bound(args.rounds)
    if args.only in (None, "3"):
        print(f"3. {args.stream} inputs streamed through one batch, 100 in flight")
        subprocess.run(
            [sys.executable, __file__, "--memory-child", "--stream", str(args.stream)], check=True
        )


if __name__ == "__main__":
    main()
