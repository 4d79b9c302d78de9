"""What an operator sees and does: status with workers and rates, list, retry, delete,
expiry, metrics, a dead worker's rows coming back, Redis outages said once, Redis
refusing or out of memory. Real worker processes, a real redis-server, the fake."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from plaid_link_async.testing import FakePlaidServer, Fault

from ._campaigns import cli, env, stop, until, users, worker
from ._helpers import run_on_a_terminal
from ._redis import RedisServer, free_port, redis_server

pytestmark = pytest.mark.slow


def creates(fake: FakePlaidServer) -> int:
    return len(fake.requests_for("link_token_create"))


async def status(fake: FakePlaidServer, redis: RedisServer, name: str) -> dict[str, object]:
    code, out, err = await cli(fake, redis, "campaign", "status", name, "--json")
    assert code == 0, err
    answer: dict[str, object] = json.loads(out)
    return answer


async def test_status_shows_workers_rates_failures_and_an_eta(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    rows = tmp_path / "users.csv"
    rows.write_text("user_id\n" + "".join(f"u{n}\n" for n in range(1, 60)) + ",\n")  # 60: bad
    workers = [await worker(fake, redis), await worker(fake, redis)]
    start = ["campaign", "start", "shown", "--input", str(rows), "--max-per-second", "30",
             "--client-name", "App"]  # fmt: skip
    try:
        feeder = asyncio.ensure_future(cli(fake, redis, *start, "--wait"))
        await until(lambda: creates(fake) >= 20)
        running = await status(fake, redis, "shown")
        code, _, err = await asyncio.wait_for(feeder, 60)
    finally:
        for process in workers:
            await stop(process)
    assert running["rows"] == 60  # the input was counted first: known while feeding
    assert running["client_id"] == fake.client_id
    assert running["workers_alive"] == 2
    assert 3 < float(running["rows_per_second_last_minute"]) <= 31  # type: ignore[arg-type]
    assert running["eta_seconds"] is not None
    assert running["warnings"] == []
    assert code == 1  # one row failed
    assert "60 rows: 59 created, 1 failed (InputError 1)" in err
    done = await status(fake, redis, "shown")
    assert done["state"] == "done"
    assert done["failed_by_kind"] == {"InputError": 1}
    assert done["workers_alive"] == 0  # both stopped cleanly: out of the registry
    assert 29 < float(done["expires_in_days"]) <= 30  # type: ignore[arg-type]
    # The text form, for a person.
    code, out, _ = await cli(fake, redis, "campaign", "status", "shown")
    assert "state: done" in out
    assert "failed_by_kind: InputError 1" in out


async def test_a_campaign_without_a_live_worker_says_so(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    rows = users(tmp_path / "users.csv", 5)
    start = ["campaign", "start", "idle", "--input", str(rows), "--max-per-second", "5",
             "--client-name", "App"]  # fmt: skip
    assert (await cli(fake, redis, *start))[0] == 0
    shown = await status(fake, redis, "idle")
    assert shown["workers_alive"] == 0
    assert shown["eta_seconds"] is None  # no worker, no rate achieved: no made-up ETA
    assert shown["warnings"] == [
        f"no live worker for client id {fake.client_id}: start `plaid-link worker` with its "
        "credentials"
    ]


async def test_list_retry_and_delete_clean_up_after_a_campaign(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    from redis.asyncio import Redis

    process = await worker(fake, redis)
    rows = users(tmp_path / "users.csv", 10)
    start = ["campaign", "start", "tidy", "--input", str(rows), "--client-name", "App",
             "--max-per-second", "20", "--keep-days", "2"]  # fmt: skip
    try:
        # Three rows refused by Plaid (a 400 is never retried by the session).
        fake.inject(
            "link_token_create", *[Fault.plaid_error(400, "INVALID_REQUEST", "INVALID_FIELD")] * 3
        )
        code, _, err = await cli(fake, redis, *start, "--wait")
        assert code == 1
        assert "10 rows: 7 created, 3 failed" in err
        code, _, err = await cli(fake, redis, "campaign", "delete", "other")
        assert code == 2
        assert "no campaign 'other'" in err
        code, _, err = await cli(fake, redis, "campaign", "retry", "tidy")
        assert code == 0, err
        assert "3 failed rows queued again" in err
        await until(lambda: creates(fake) >= 13)
        await asyncio.sleep(0.5)
        shown = await status(fake, redis, "tidy")
        assert (shown["done"], shown["failed"], shown["state"]) == (10, 0, "done")
        assert 1.9 < float(shown["expires_in_days"]) <= 2  # type: ignore[arg-type]
        code, out, _ = await cli(fake, redis, "campaign", "list")
        assert re.search(rf"tidy\s+{fake.client_id}\s+done\s+10\s+10\s+0\s+20", out), out
        code, out, _ = await cli(fake, redis, "campaign", "list", "--json")
        assert [c["campaign"] for c in json.loads(out)] == ["tidy"]
        code, _, err = await cli(fake, redis, "campaign", "delete", "tidy")
        assert code == 0, err
    finally:
        await stop(process)
    client = Redis.from_url(redis.url)
    try:
        assert [key async for key in client.scan_iter("plaid-link:campaign:tidy:*")] == []
        assert await client.smembers("plaid-link:campaigns") == set()
    finally:
        await client.aclose()


async def test_a_running_campaign_is_not_deleted_and_retry_skips_maybe_sent_rows(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    rows = users(tmp_path / "users.csv", 4, phones=True)
    start = ["campaign", "start", "busy", "--input", str(rows),
             "--client-name", "App", "--max-per-second", "20",
             "--hosted-link", "sms"]  # fmt: skip
    assert (await cli(fake, redis, *start))[0] == 0  # fed, no worker yet
    code, _, err = await cli(fake, redis, "campaign", "delete", "busy")
    assert code == 2
    assert "is fed: cancel it (or let it finish) before deleting it" in err
    # Two deliveries whose outcome is unknown (the answer was lost).
    fake.inject("link_token_create", Fault.lost_answer(), Fault.lost_answer())
    process = await worker(fake, redis)
    try:
        code, _, err = await cli(fake, redis, *start, "--wait")
        assert code == 1
        assert "AmbiguousOutcomeError 2" in err
        code, _, err = await cli(fake, redis, "campaign", "retry", "busy")
        assert "0 failed rows queued again" in err  # maybe sent: not without asking
        code, _, err = await cli(fake, redis, "campaign", "retry", "busy", "--unknown-deliveries")
        assert "2 failed rows queued again" in err
        await until(lambda: len(fake.sent_messages()) >= 4)
    finally:
        await stop(process)


async def test_a_dead_workers_rows_come_back_by_its_heartbeat_not_its_lease(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    fake.latency = 3.0  # every row on the wire when the worker dies
    first = await worker(fake, redis)
    rows = users(tmp_path / "users.csv", 8)
    start = ["campaign", "start", "beat", "--input", str(rows),
             "--client-name", "App", "--max-per-second", "20",
             "--job-heartbeat", "3", "--job-timeout", "600"]  # fmt: skip
    second = None
    try:
        assert (await cli(fake, redis, *start))[0] == 0
        await until(lambda: creates(fake) >= 4)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        fake.latency = 0.0
        await asyncio.sleep(4.0)  # past the heartbeat: its rows are held by the dead
        held = await status(fake, redis, "beat")
        # Up to the four it ran (under load, some may not have been taken yet).
        assert 1 <= int(held["held_by_dead_workers"]) <= 4  # type: ignore[call-overload]
        assert 0 <= int(held["back_within_seconds"]) <= 3 + 10  # type: ignore[call-overload]
        second = await worker(fake, redis)  # sweeps every second: the lease is 10 minutes
        code, _, err = await cli(fake, redis, *start, "--wait")
    finally:
        for process in (first, second):
            if process is not None:
                await stop(process)
    assert code == 0, err
    assert "8 rows: 8 created, 0 failed" in err


async def test_worker_metrics_are_scraped_from_prometheus_client(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    process = await worker(fake, redis, "--metrics-port", str(port))
    rows = users(tmp_path / "users.csv", 6)
    start = ["campaign", "start", "seen", "--input", str(rows),
             "--client-name", "App", "--max-per-second", "20"]  # fmt: skip
    try:
        fake.inject("link_token_create", Fault.rate_limit(retry_after=0.1))
        assert (await cli(fake, redis, *start, "--wait"))[0] == 0
        scraped = await asyncio.to_thread(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
                .read()
                .decode()
            )
        )
    finally:
        await stop(process)
    assert 'plaid_link_campaign_rows_total{outcome="created"} 6.0' in scraped
    assert 'plaid_link_calls_total{operation="link_token_create",status="200"} 6.0' in scraped
    assert 'plaid_link_calls_total{operation="link_token_create",status="429"} 1.0' in scraped
    assert 'plaid_link_call_seconds_count{operation="link_token_create"} 7.0' in scraped
    assert "plaid_link_campaign_jobs_in_flight 0.0" in scraped


async def test_a_redis_restart_is_one_warning_and_one_line_back_and_no_traceback(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    fake.latency = 0.1
    log = tmp_path / "worker.log"
    process = await worker(fake, redis, log=log)
    rows = users(tmp_path / "users.csv", 60)
    start = ["campaign", "start", "outage", "--input", str(rows),
             "--client-name", "App", "--max-per-second", "20"]  # fmt: skip
    try:
        feeder = asyncio.ensure_future(cli(fake, redis, *start, "--wait"))
        await until(lambda: creates(fake) >= 15)
        redis.stop()
        await asyncio.sleep(2.0)
        redis.start()
        code, _, err = await asyncio.wait_for(feeder, 90)
    finally:
        await stop(process)
    assert code == 0, err
    said = log.read_text()
    assert "Traceback" not in said
    assert said.count("Redis unreachable") == 1, said
    assert said.count("Redis answers again") == 1, said
    assert len([line for line in said.splitlines() if line.strip()]) <= 4, said


async def test_a_wrong_redis_password_or_no_redis_is_one_line_for_every_command(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    rows = users(tmp_path / "users.csv", 2)
    commands = [
        ["worker"],
        ["campaign", "start", "c", "--input", str(rows), "--max-per-second", "5"],
        ["campaign", "status", "c"],
        ["campaign", "list"],
        ["campaign", "cancel", "c"],
        ["campaign", "export", "c", "--output", str(tmp_path / "out.jsonl")],
    ]
    with redis_server(tmp_path, password="right-password") as guarded:
        guarded.password = "wrong-password"  # the URL the commands get
        for command in commands:
            code, _, err = await cli(fake, guarded, *command)
            assert code == 2, (command, err)
            assert "Redis refused the credentials of the URL" in err
            assert "wrong-password" not in err
            assert len(err.strip().splitlines()) == 1, err
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    for command in commands:
        code, _, err = await cli(fake, guarded, *command, PLAID_LINK_REDIS_URL=nowhere)
        assert code == 1, (command, err)
        assert "Redis unreachable" in err
        assert "please report it" not in err
        assert len(err.strip().splitlines()) == 1, err


async def test_redis_out_of_memory_stops_the_feeder_and_no_text_goes_unrecorded(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis.url)
    used = (await client.info("memory"))["used_memory"]
    await client.config_set("maxmemory", used + 1_000_000)  # room for about a thousand jobs
    await client.aclose()
    process = await worker(fake, redis)
    rows = users(tmp_path / "users.csv", 9_000, phones=True)
    start = ["campaign", "start", "full", "--input", str(rows),
             "--client-name", "App", "--max-per-second", "20",
             "--hosted-link", "sms", "--wait"]  # fmt: skip
    try:
        code, _, err = await cli(fake, redis, *start)
    finally:
        await stop(process)
    assert code == 2, err
    assert "Redis is out of memory (its maxmemory): feeding campaign 'full' stopped at row" in err
    assert "Traceback" not in err
    client = Redis.from_url(redis.url)
    try:
        recorded = await client.hgetall("plaid-link:campaign:full:results")
        marked = await client.hgetall("plaid-link:campaign:full:inflight")
    finally:
        await client.aclose()
    texted = {message.client_user_id for message in fake.sent_messages()}
    known = {json.loads(line)["user_id"] for line in recorded.values()}
    # Every text has its result, or at least its mark (its row is then never resent).
    assert texted <= known | {f"u{int(row)}" for row in marked}


async def test_waiting_on_a_terminal_draws_a_bar_while_the_input_is_still_fed(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    process = await worker(fake, redis)
    rows = users(tmp_path / "users.csv", 40)
    args = ["campaign", "start", "bar", "--input", str(rows), "--client-name", "App",
            "--max-per-second", "20", "--max-queued", "2", "--wait"]  # fmt: skip
    try:
        code, screen = await asyncio.to_thread(run_on_a_terminal, args, env(fake, redis))
    finally:
        await stop(process)
    assert code == 0, screen
    # The feeder holds two rows queued, so it reads the last rows near the end; the bar
    # has its total (the input counted first) from the start.
    early = [int(n) for n in re.findall(r"\b(\d+)/40\b", screen)]
    assert any(n < 30 for n in early), screen
    assert "40/40" in screen


async def test_deleting_a_cancelled_campaign_removes_its_queued_jobs_and_their_phones(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    from redis.asyncio import Redis

    rows = users(tmp_path / "users.csv", 6, phones=True)
    start = ["campaign", "start", "gone", "--input", str(rows), "--client-name", "App",
             "--max-per-second", "5", "--hosted-link", "sms"]  # fmt: skip
    assert (await cli(fake, redis, *start))[0] == 0  # six jobs queued, no worker
    assert (await cli(fake, redis, "campaign", "cancel", "gone"))[0] == 0
    code, _, err = await cli(fake, redis, "campaign", "delete", "gone")
    assert code == 0, err
    assert "deleted, every key, and its 6 queued jobs" in err
    client = Redis.from_url(redis.url)
    try:
        held = [
            key async for key in client.scan_iter("*") if b"+1415555" in await text(client, key)
        ]
    finally:
        await client.aclose()
    assert held == []  # no phone number left anywhere in Redis


async def text(client: Any, key: bytes) -> bytes:
    """Everything key `key` holds, as one byte string, whatever its type."""
    kind = (await client.type(key)).decode()
    if kind == "string":
        return bytes(await client.get(key) or b"")
    if kind == "hash":
        return b" ".join(k + b"=" + v for k, v in (await client.hgetall(key)).items())
    if kind == "list":
        return b" ".join(await client.lrange(key, 0, -1))
    if kind == "zset":
        return b" ".join(await client.zrange(key, 0, -1))
    if kind == "set":
        return b" ".join(await client.smembers(key))
    return b""
