"""What the campaign tests share: a real redis-server, the fake playing Plaid, and the
`plaid-link` CLI run as real processes (feeders, workers), stopped by PID."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from plaid_link_async.testing import FakePlaidServer

from ._redis import RedisServer, redis_server
from .conftest import ROOT

SECRET = "campaign-secret-0123456789"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    # As a campaign needs it: an append-only file (a Hosted Link campaign refuses less).
    with redis_server(tmp_path, appendonly=True) as server:
        yield server


@pytest.fixture
async def fake() -> AsyncIterator[FakePlaidServer]:
    async with FakePlaidServer(secret=SECRET) as server:
        yield server


def env(fake: FakePlaidServer, redis: RedisServer, **overrides: str) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    variables |= {"PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    variables |= {"PLAID_BASE_URL": fake.url, "PLAID_LINK_REDIS_URL": redis.url}
    return variables | overrides


async def cli(
    fake: FakePlaidServer, redis: RedisServer, *args: str, **overrides: str
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", *args, cwd=ROOT,
        env=env(fake, redis, **overrides),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    assert SECRET not in (out + err).decode()
    return process.returncode, out.decode(), err.decode()


async def worker(
    fake: FakePlaidServer,
    redis: RedisServer,
    *extra: str,
    log: Path | None = None,
    **overrides: str,
) -> asyncio.subprocess.Process:
    """A `plaid-link worker` process, its standard error in `log` (a file: a pipe no one
    reads would fill up and stop it)."""
    stderr = log.open("ab") if log is not None else asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "worker", "--concurrency", "4",
        "--sweep-seconds", "1", "--grace", "1", *extra, cwd=ROOT,
        env=env(fake, redis, **overrides), stdout=asyncio.subprocess.PIPE, stderr=stderr,
    )  # fmt: skip
    if log is not None:
        stderr.close()  # type: ignore[union-attr]
    assert process.stdout is not None
    assert b"plaid-link worker: pid" in await asyncio.wait_for(process.stdout.readline(), 30)
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)  # by its PID
        await asyncio.wait_for(process.wait(), 60)


def users(path: Path, count: int, *, phones: bool = False, prefix: str = "u") -> Path:
    header = "user_id,phone_number\n" if phones else "user_id\n"
    rows = [
        f"{prefix}{n},+1415555{n:04d}\n" if phones else f"{prefix}{n}\n"
        for n in range(1, count + 1)
    ]
    path.write_text(header + "".join(rows))
    return path


def exported(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def until(check: Any, seconds: float = 60.0) -> None:
    """Wait until `check()` holds, polling; fail after `seconds` (a bound, not a goal)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "waited too long"
        await asyncio.sleep(0.05)
