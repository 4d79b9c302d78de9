"""One Plaid rate limit for every process that shares a client id: real processes, a
real redis-server, and the fake's own rate limit playing Plaid's."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plaid_link_async import (
    AsyncLinkSession,
    ConfigurationError,
    LocalRateLimit,
    RetryPolicy,
    TransportError,
)
from plaid_link_async.fleet import SharedRateLimit
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, FakePlaidThread

from ._helpers import CREATE, FAST_RETRY
from ._redis import RedisServer, redis_server
from .conftest import ROOT
from .test_cli import SECRET as CLI_SECRET
from .test_cli import plaid_link

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


WORKER = """
import asyncio, json, sys
from plaid_link_async import AsyncLinkSession, PlaidLinkError, RetryPolicy
from plaid_link_async.testing import DEFAULT_SECRET
from tests._helpers import CREATE

url, redis_url, rate, calls = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])

async def main() -> None:
    options = {"redis_url": redis_url} if redis_url != "-" else {}
    async with AsyncLinkSession(
        "fleet-client", DEFAULT_SECRET, base_url=url, max_per_second=rate,
        retry=RetryPolicy(initial_delay=0.2, max_delay=1.0), **options,
    ) as plaid:
        async def one() -> bool:
            try:
                await plaid.link_token_create(CREATE)
                return True
            except PlaidLinkError:
                return False
        done = await asyncio.gather(*(one() for _ in range(calls)))
    print(json.dumps({"ok": sum(done), "failed": calls - sum(done)}))

asyncio.run(main())
"""


async def run_workers(
    url: str, redis_url: str, rate: float, workers: int, calls: int
) -> list[dict[str, int]]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            url,
            redis_url,
            str(rate),
            str(calls),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    results = []
    for process in processes:
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        results.append(json.loads(out))
    return results


async def test_processes_sharing_redis_stay_under_plaids_limit_together(
    redis: RedisServer,
) -> None:
    # Plaid (the fake) accepts 20 creates a second from this client; three processes
    # each asked to keep 18 a second (a margin for jitter on the way) would send 54
    # without the shared limit.
    async with FakePlaidServer(
        client_id="fleet-client", rate_limits={"link_token_create": 20}
    ) as fake:
        results = await run_workers(fake.url, redis.url, 18, workers=3, calls=30)
        assert sum(r["ok"] for r in results) == 90
        answered = len(fake.requests_for("link_token_create"))
        limited = fake.rate_limited().get("link_token_create", 0)
    assert limited <= 0.01 * answered, (limited, answered)


async def test_without_redis_each_process_keeps_only_its_own_pace(redis: RedisServer) -> None:
    async with FakePlaidServer(
        client_id="fleet-client", rate_limits={"link_token_create": 20}
    ) as fake:
        await run_workers(fake.url, "-", 18, workers=3, calls=12)
        limited = fake.rate_limited().get("link_token_create", 0)
    assert limited > 3  # what the shared limit prevents


async def test_a_429_slows_every_process_of_the_client_and_no_other(
    redis: RedisServer,
) -> None:
    first = SharedRateLimit(redis.url, client_id="client-a")
    second = SharedRateLimit(redis.url, client_id="client-a")
    other = SharedRateLimit(redis.url, client_id="client-b")
    try:
        await first.throttled("link_token_create", 0.5)
        started = time.monotonic()
        await other.acquire("link_token_create")
        assert time.monotonic() - started < 0.2  # another client's budget: untouched
        await second.acquire("link_token_get")
        assert time.monotonic() - started < 0.2  # another operation: untouched
        await second.acquire("link_token_create")
        assert time.monotonic() - started >= 0.4  # waited out the shared cooldown
    finally:
        for limiter in (first, second, other):
            await limiter.aclose()


async def test_the_shared_rate_drops_a_tenth_on_a_429_and_climbs_back(
    redis: RedisServer,
) -> None:
    limiter = SharedRateLimit(redis.url, client_id="c", max_per_second=40)
    watcher = SharedRateLimit(redis.url, client_id="c", max_per_second=40)
    try:
        assert watcher.rate("link_token_create") == 40
        await limiter.throttled("link_token_create", 0.01)
        await asyncio.sleep(0.05)  # the cooldown
        await watcher.acquire("link_token_create")  # reads the factor from Redis
        assert watcher.rate("link_token_create") == pytest.approx(36, rel=0.01)
        await limiter.throttled("link_token_create", 0.01)  # the same burst: once
        assert limiter.rate("link_token_create") == pytest.approx(36, rel=0.01)
        await asyncio.sleep(1.0)
        await limiter.throttled("link_token_create", 0.01)  # a later one: lowered again
        # 0.9, climbed back a twentieth a second for about a second, lowered by 0.9.
        assert limiter.rate("link_token_create") == pytest.approx(40 * 0.95 * 0.9, rel=0.02)
    finally:
        await limiter.aclose()
        await watcher.aclose()


async def test_a_429_voids_the_slots_handed_out_at_the_refused_pace(redis: RedisServer) -> None:
    limiter = SharedRateLimit(redis.url, client_id="c", max_per_second=4)
    other = SharedRateLimit(redis.url, client_id="c", max_per_second=4)
    try:
        await limiter.acquire("link_token_create")  # now; the next slot is in 250 ms
        sleeper = asyncio.ensure_future(other.acquire("link_token_create"))
        await asyncio.sleep(0.05)
        await limiter.throttled("link_token_create", 0.6)  # Plaid refused that pace
        throttled_at = time.monotonic()
        await sleeper
        # It woke at its slot (250 ms), found it void, and booked again after the
        # cooldown (600 ms); a lower bound, which no load can break.
        assert time.monotonic() - throttled_at >= 0.55
    finally:
        await limiter.aclose()
        await other.aclose()


async def test_redis_down_paces_alone_with_one_warning_then_shares_again(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="plaid_link_async")
    limiter = SharedRateLimit(redis.url, client_id="c", max_per_second=100)
    limiter.retry_redis_after = 0.2
    try:
        await limiter.acquire("link_token_create")
        redis.stop()
        for _ in range(5):
            await limiter.acquire("link_token_create")  # never raises
        assert limiter.alone
        assert sum("pacing this process alone" in r.message for r in caplog.records) == 1
        redis.start()  # the same port
        await asyncio.sleep(0.3)
        await limiter.acquire("link_token_create")
        assert not limiter.alone
        assert any("Redis answers again; shared again" in r.message for r in caplog.records)
    finally:
        await limiter.aclose()


async def test_redis_down_raises_when_asked_to(redis: RedisServer) -> None:
    limiter = SharedRateLimit(redis.url, client_id="c", on_redis_error="raise")
    redis.stop()
    try:
        with pytest.raises(TransportError, match="Redis failed") as caught:
            await limiter.acquire("link_token_create")
        assert not caught.value.sent
        await limiter.throttled("link_token_create", 1.0)  # never raises: a call is failing
    finally:
        await limiter.aclose()


async def test_the_session_takes_the_limit_from_the_environment(
    redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakePlaidServer(rate_limits={"link_token_create": 1000}) as fake:
        monkeypatch.setenv("PLAID_LINK_REDIS_URL", redis.url)
        monkeypatch.setenv("PLAID_LINK_MAX_PER_SECOND", "25")
        async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
            assert plaid.max_per_second == 25
            assert isinstance(plaid._limiter, SharedRateLimit)
            await plaid.link_token_create(CREATE)
        monkeypatch.delenv("PLAID_LINK_REDIS_URL")
        async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
            assert isinstance(plaid._limiter, LocalRateLimit)
        monkeypatch.setenv("PLAID_LINK_MAX_PER_SECOND", "lots")
        with pytest.raises(ConfigurationError, match="PLAID_LINK_MAX_PER_SECOND"):
            AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url)


async def test_a_local_limit_paces_one_process_under_plaids_limit(
    fake_plaid: FakePlaidServer,
) -> None:
    fake_plaid.set_rate_limits({"link_token_create": 25})
    async with AsyncLinkSession(
        fake_plaid.client_id,
        DEFAULT_SECRET,
        base_url=fake_plaid.url,
        max_per_second=20,
        retry=FAST_RETRY,
    ) as plaid:
        await asyncio.gather(*(plaid.link_token_create(CREATE) for _ in range(50)))
    assert fake_plaid.rate_limited() == {}
    assert len(fake_plaid.requests_for("link_token_create")) == 50


async def test_two_cli_batches_share_one_limit_through_redis(
    redis: RedisServer, tmp_path: Path
) -> None:
    async with FakePlaidServer(secret=CLI_SECRET, rate_limits={"link_token_create": 10}) as fake:
        runs = []
        for part in range(2):
            users = tmp_path / f"users-{part}.csv"
            users.write_text("user_id\n" + "".join(f"u{part}-{n}\n" for n in range(20)))
            output = tmp_path / f"tokens-{part}.jsonl"
            args = ["batch", "create", "--input", str(users), "--output", str(output)]
            args += ["--client-name", "App", "--max-per-second", "9", "--redis", redis.url]
            runs.append(plaid_link(fake, *args))
        for code, _, err in await asyncio.gather(*runs):
            assert code == 0, err
        assert fake.rate_limited() == {}
        assert len(fake.requests_for("link_token_create")) == 40


def test_the_thread_fake_plays_plaids_limit_over_the_control_api() -> None:
    with FakePlaidThread() as fake:
        fake.set_rate_limits({"link_token_create": 2})

        async def burst() -> None:
            async with AsyncLinkSession(
                fake.client_id, DEFAULT_SECRET, base_url=fake.url, retry=RetryPolicy(max_attempts=1)
            ) as plaid:
                await asyncio.gather(
                    *(plaid.link_token_create(CREATE) for _ in range(5)), return_exceptions=True
                )

        asyncio.run(burst())
        assert fake.rate_limited() == {"link_token_create": 3}
        with pytest.raises(ValueError, match="unknown endpoint"):
            fake.set_rate_limits({"link_token_make": 2})
