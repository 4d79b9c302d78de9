"""CPU per call of AsyncLinkSession against raw aiohttp and against plaid-python.

    python bench/calls.py [--calls 1000] [--rounds 25] [--baseline PATH]

The fake Plaid server runs in its own process (so only the client's CPU is counted),
on loopback. Rounds alternate between contenders; medians are compared.

1. `link_token_create` calls at 64 in flight, no server latency: our CPU per call
   over that of a hand-written aiohttp loop doing the same POST, `json()` and datetime
   parse. Floor (issue 27): at most 1.35, with the `speedups` extra (orjson) or without.
2. 20 ms of server latency, 32 in flight: our CPU per call and throughput against the
   official plaid-python package on a 32-thread pool (`pip install -e '.[bench]'`).
   Floor: CPU at most 0.30x; throughput printed.

Ours runs twice in each round, with orjson and with the standard json (the extra
switched off in-process), when orjson is installed.

`--baseline PATH` adds, to the first part, another checkout of this project (say a
`git worktree` of the last release) as a third contender, loaded under another module
name: a change's cost is then measured side by side in the same rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

from plaid_link_async import AsyncLinkSession
from plaid_link_async import models as m
from plaid_link_async._wire import _json
from plaid_link_async.testing import DEFAULT_CLIENT_ID, DEFAULT_SECRET, fake_server_process

PAYLOAD: dict[str, Any] = {
    "client_name": "Bench App",
    "language": "en",
    "country_codes": ["US"],
    "user": {"client_user_id": "user-123"},
    "products": ["auth", "transactions"],
}
REQUEST = m.LinkTokenCreateRequest(
    client_name="Bench App",
    language="en",
    country_codes=[m.CountryCode.US],
    user=m.LinkTokenCreateRequestUser(client_user_id="user-123"),
    products=[m.Products.AUTH, m.Products.TRANSACTIONS],
)
HEADERS = {
    "PLAID-CLIENT-ID": DEFAULT_CLIENT_ID,
    "PLAID-SECRET": DEFAULT_SECRET,
    "Plaid-Version": "2020-09-14",
}


async def run_workers(call: Callable[[], Awaitable[object]], calls: int, in_flight: int) -> None:
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def parse_expiration(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


Samples = dict[str, tuple[list[float], list[float]]]


async def measure(
    contenders: dict[str, Callable[[int], Awaitable[None]]], calls: int, rounds: int
) -> Samples:
    """Per round, each contender's CPU seconds per call and calls per wall second."""
    samples: Samples = {name: ([], []) for name in contenders}
    for run in contenders.values():
        await run(min(200, calls))  # warm up: connections, lazily built hooks
    names = list(contenders)
    for number in range(rounds):
        # The order turns each round: whoever runs first after a pause (or just after
        # a busy neighbour on this shared machine) is not always the same contender.
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            run = contenders[name]
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            await run(calls)
            samples[name][0].append((time.process_time() - cpu_start) / calls)
            samples[name][1].append(calls / (time.perf_counter() - wall_start))
    return samples


def ratio(samples: Samples, ours: str, theirs: str, index: int) -> str:
    """Median of the per-round ratios (a slow patch hits both sides of a round), and range."""
    ratios = sorted(
        a / b for a, b in zip(samples[ours][index], samples[theirs][index], strict=True)
    )
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return (
        f"{statistics.median(ratios):.2f}x (middle half of rounds: {low:.2f} to {high:.2f}; "
        f"all: {ratios[0]:.2f} to {ratios[-1]:.2f})"
    )


def ours(call: Callable[[], Awaitable[object]], in_flight: int, speedups: bool) -> Any:
    """A contender running our calls with orjson on or off."""

    async def run(n: int) -> None:
        _json.use_speedups(speedups)
        await run_workers(call, n, in_flight)

    return run


#: Our contenders, by whether orjson is on; only the standard json without the extra.
OURS = {True: "plaid_link_async, speedups", False: "plaid_link_async, standard json"}
MODES = (True, False) if _json.SPEEDUPS else (False,)


def load_baseline(checkout: Path) -> Any:
    """The `plaid_link_async` package of another checkout, as `plaid_link_async_baseline`."""
    package = checkout / "plaid_link_async"
    spec = importlib.util.spec_from_file_location(
        "plaid_link_async_baseline",
        package / "__init__.py",
        submodule_search_locations=[str(package)],
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def against_raw_aiohttp(url: str, calls: int, rounds: int, baseline: Any = None) -> Samples:
    in_flight = 64
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with (
        aiohttp.ClientSession(connector=connector) as raw,
        AsyncLinkSession(
            DEFAULT_CLIENT_ID, DEFAULT_SECRET, base_url=url, connector_limit=in_flight
        ) as plaid,
    ):

        async def raw_call() -> None:
            async with raw.post(f"{url}/link/token/create", json=PAYLOAD, headers=HEADERS) as r:
                data = await r.json()
            parse_expiration(data["expiration"])

        async def our_call() -> None:
            await plaid.link_token_create(REQUEST)

        contenders = {"raw aiohttp": lambda n: run_workers(raw_call, n, in_flight)}
        for mode in MODES:
            contenders[OURS[mode]] = ours(our_call, in_flight, mode)
        if baseline is None:
            return await measure(contenders, calls, rounds)
        old_models = importlib.import_module("plaid_link_async_baseline.models")
        old_request = baseline.from_dict(old_models.LinkTokenCreateRequest, PAYLOAD)
        async with baseline.AsyncLinkSession(
            DEFAULT_CLIENT_ID, DEFAULT_SECRET, base_url=url, connector_limit=in_flight
        ) as old:

            async def old_call() -> None:
                await old.link_token_create(old_request)

            contenders["baseline"] = lambda n: run_workers(old_call, n, in_flight)
            return await measure(contenders, calls, rounds)


def plaid_python(url: str, in_flight: int) -> tuple[Any, Callable[[str], Any]] | None:
    """plaid-python's API object for the fake server, and a request for a user id;
    None if plaid-python is not installed."""
    try:
        import plaid
        from plaid.api import plaid_api
        from plaid.model.country_code import CountryCode
        from plaid.model.link_token_create_request import LinkTokenCreateRequest
        from plaid.model.link_token_create_request_user import LinkTokenCreateRequestUser
        from plaid.model.products import Products
    except ImportError:
        return None
    configuration = plaid.Configuration(
        host=url,
        api_key={
            "clientId": DEFAULT_CLIENT_ID,
            "secret": DEFAULT_SECRET,
            "plaidVersion": "2020-09-14",
        },
    )
    configuration.connection_pool_maxsize = in_flight
    api = plaid_api.PlaidApi(plaid.ApiClient(configuration))

    def request_for(user_id: str) -> Any:
        return LinkTokenCreateRequest(
            client_name="Bench App",
            language="en",
            country_codes=[CountryCode("US")],
            user=LinkTokenCreateRequestUser(client_user_id=user_id),
            products=[Products("auth"), Products("transactions")],
        )

    return api, request_for


async def against_plaid_python(url: str, calls: int, rounds: int) -> Samples:
    in_flight = 32
    official = plaid_python(url, in_flight)
    if official is None:
        print("plaid-python is not installed (pip install -e '.[bench]'): skipped")
        return {}
    api, their_request_for = official
    their_request = their_request_for("user-123")
    pool = ThreadPoolExecutor(in_flight)
    loop = asyncio.get_running_loop()

    async def theirs(n: int) -> None:
        await asyncio.gather(
            *(loop.run_in_executor(pool, api.link_token_create, their_request) for _ in range(n))
        )

    try:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as raw,
            AsyncLinkSession(
                DEFAULT_CLIENT_ID, DEFAULT_SECRET, base_url=url, connector_limit=in_flight
            ) as plaid_session,
        ):

            async def our_call() -> None:
                await plaid_session.link_token_create(REQUEST)

            async def raw_call() -> None:
                async with raw.post(f"{url}/link/token/create", json=PAYLOAD, headers=HEADERS) as r:
                    parse_expiration((await r.json())["expiration"])

            contenders: dict[str, Callable[[int], Awaitable[None]]] = {
                "plaid-python, 32 threads": theirs,
                # The latency ceiling of this machine, for reference.
                "raw aiohttp": lambda n: run_workers(raw_call, n, in_flight),
            }
            for mode in MODES:
                contenders[OURS[mode]] = ours(our_call, in_flight, mode)
            return await measure(contenders, calls, rounds)
    finally:
        pool.shutdown()


def report(samples: Samples) -> None:
    for name, (cpu, rate) in samples.items():
        print(
            f"  {name:28} {statistics.median(cpu) * 1e6:8.0f} us CPU/call "
            f"{statistics.median(rate):9.0f} calls/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short rounds: on a shared machine a slow patch then spoils few ratios.
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None

    print(f"1. {args.calls} link_token_create calls, 64 in flight, no latency")
    with fake_server_process() as url:
        first = asyncio.run(against_raw_aiohttp(url, args.calls, args.rounds, baseline))
    report(first)
    for mode in MODES:
        cpu = ratio(first, OURS[mode], "raw aiohttp", 0)
        # Issue 27's floor: where a user would notice, with or without orjson.
        print(f"  CPU per call, {OURS[mode]} / raw aiohttp: {cpu} (floor <= 1.35)")
    if baseline is not None:
        before = ratio(first, "baseline", "raw aiohttp", 0)
        print(f"  CPU per call, baseline / raw aiohttp: {before}")
        print(f"  CPU per call, ours / baseline: {ratio(first, OURS[MODES[0]], 'baseline', 0)}")

    print(f"2. {args.calls} calls, 20 ms server latency, 32 in flight")
    with fake_server_process(latency_ms=20) as url:
        second = asyncio.run(against_plaid_python(url, args.calls, max(3, args.rounds // 2)))
    if second:
        report(second)
        theirs = "plaid-python, 32 threads"
        for mode in MODES:
            cpu = ratio(second, OURS[mode], theirs, 0)
            rate = ratio(second, OURS[mode], theirs, 1)
            print(f"  CPU per call, {OURS[mode]} / plaid-python: {cpu} (floor <= 0.30)")
            print(f"  throughput, {OURS[mode]} / plaid-python: {rate}")
        ceiling = 32 / 0.020
        reached = statistics.median(second["raw aiohttp"][1])
        print(
            f"  (32 in flight at 20 ms allow at most {ceiling:.0f} calls/s on paper; "
            f"raw aiohttp reaches {reached:.0f} here)"
        )


if __name__ == "__main__":
    main()
