"""Link campaigns on a real saq queue: real worker processes, a real redis-server, and the
fake playing Plaid. Each row ends with exactly one result; no user is texted twice."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from plaid_link_async.testing import FakePlaidServer

from ._campaigns import SECRET, cli, env, exported, stop, users, worker
from ._helpers import hears_ctrl_c, run_on_a_terminal
from ._redis import RedisServer, redis_server
from .conftest import ROOT

pytestmark = pytest.mark.slow


async def test_a_campaign_gives_every_row_one_result_and_resumes_without_repeats(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    workers = [await worker(fake, redis), await worker(fake, redis)]
    try:
        rows = users(tmp_path / "users.csv", 30)
        start = ["campaign", "start", "spring", "--input", str(rows), "--client-name", "App"]
        code, _, err = await cli(fake, redis, *start, "--max-per-second", "40", "--wait")
        assert code == 0, err
        assert "30 rows: 30 created, 0 failed" in err
        code, out, _ = await cli(fake, redis, "campaign", "status", "spring", "--json")
        counts = json.loads(out)
        assert {key: counts[key] for key in ("rows", "done", "failed", "queued", "active")} == {
            "rows": 30, "done": 30, "failed": 0, "queued": 0, "active": 0,
        }  # fmt: skip
        assert counts["max_per_second"] == 40
        output = tmp_path / "tokens.jsonl"
        assert (await cli(fake, redis, "campaign", "export", "spring", "--output", str(output)))[
            0
        ] == 0
        lines = exported(output)
        assert [line["row"] for line in lines] == list(range(1, 31))
        assert all(line["link_token"].startswith("link-sandbox-") for line in lines)
        # Again: every row has its result, so nothing is sent.
        code, _, err = await cli(fake, redis, *start, "--max-per-second", "40", "--wait")
        assert code == 0, err
        assert len(fake.requests_for("link_token_create")) == 30
        # Another input under the same name is refused, in one line.
        other = users(tmp_path / "other.csv", 31)
        code, _, err = await cli(
            fake, redis, "campaign", "start", "spring", "--input", str(other),
            "--max-per-second", "40",
        )  # fmt: skip
        assert code == 2
        assert "was started with another input" in err
    finally:
        for process in workers:
            await stop(process)


async def test_a_second_feeder_of_one_campaign_is_refused(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis.url)
    try:
        await client.set("plaid-link:campaign:busy:feeder", "4242", px=30_000)
        rows = users(tmp_path / "users.csv", 3)
        code, _, err = await cli(
            fake, redis, "campaign", "start", "busy", "--input", str(rows), "--max-per-second", "5"
        )
        assert code == 2
        assert "is being fed by another process (PID 4242)" in err
    finally:
        await client.aclose()


async def test_a_worker_killed_mid_delivery_never_texts_a_user_twice(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    fake.latency = 1.5  # every call is under way long enough to be cut short
    first = await worker(fake, redis)
    second = None
    try:
        rows = users(tmp_path / "users.csv", 6, phones=True)
        start = ["campaign", "start", "sms", "--input", str(rows), "--client-name", "App",
                 "--max-per-second", "20"]  # fmt: skip
        code, _, err = await cli(
            fake,
            redis,
            *start,
            "--hosted-link",
            "sms",
            "--job-timeout",
            "3",
            "--job-heartbeat",
            "3",
        )
        assert code == 0, err
        while len(fake.requests_for("link_token_create")) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # calls in flight, results never recorded
        await first.wait()
        fake.latency = 0.0
        second = await worker(fake, redis)
        code, _, err = await cli(fake, redis, *start, "--hosted-link", "sms", "--wait")
        output = tmp_path / "out.jsonl"
        await cli(fake, redis, "campaign", "export", "sms", "--output", str(output))
    finally:
        for process in (first, second):
            if process is not None:
                await stop(process)
    lines = exported(output)
    assert [line["row"] for line in lines] == list(range(1, 7))
    sent = Counter(
        request.body["user"]["client_user_id"] for request in fake.requests_for("link_token_create")
    )
    assert max(sent.values()) == 1  # at most one text per user
    texts = Counter(message.client_user_id for message in fake.sent_messages())
    assert max(texts.values()) == 1
    assert {message.to for message in fake.sent_messages()} <= {
        f"+1415555{n:04d}" for n in range(1, 7)
    }
    unknown = [line for line in lines if line.get("error", {}).get("type") == "UnknownDelivery"]
    assert unknown  # the killed worker's rows: not sent again, said so
    assert all("state is unknown" in line["error"]["message"] for line in unknown)
    delivered = [line for line in lines if "hosted_link_url" in line]
    assert len(delivered) + len(unknown) == 6


async def test_the_python_api_feeds_reads_and_cancels_a_campaign(
    fake: FakePlaidServer, redis: RedisServer
) -> None:
    from plaid_link_async.fleet import (
        CampaignError,
        campaign_results,
        campaign_status,
        cancel_campaign,
        start_campaign,
    )

    from ._helpers import CREATE

    async def requests() -> AsyncIterator[Any]:
        for n in range(5):
            user = attrs.evolve(CREATE.user, client_user_id=f"py-{n}")
            yield attrs.evolve(CREATE, user=user)

    process = await worker(fake, redis)
    try:
        fed = await start_campaign(
            redis.url, "py", requests(), client_id=fake.client_id, input_id="export-1",
            max_per_second=20,
        )  # fmt: skip
        assert fed == 5
        while (await campaign_status(redis.url, "py"))["done"] < 5:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        lines = [line async for line in campaign_results(redis.url, "py")]
        assert [line["user_id"] for line in lines] == [f"py-{n}" for n in range(5)]
        with pytest.raises(CampaignError, match="another input"):
            await start_campaign(
                redis.url, "py", requests(), client_id=fake.client_id, input_id="export-2",
                max_per_second=20,
            )  # fmt: skip
        with pytest.raises(CampaignError, match="has finished: nothing to cancel"):
            await cancel_campaign(redis.url, "py")
        assert (await campaign_status(redis.url, "py"))["state"] == "done"
        with pytest.raises(CampaignError, match="no campaign"):
            await campaign_status(redis.url, "nope")
    finally:
        await stop(process)


async def test_a_redis_restart_mid_campaign_loses_no_row(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    with redis_server(tmp_path, appendonly=True) as redis:
        process = await worker(fake, redis)
        try:
            rows = users(tmp_path / "users.csv", 150)
            start = ["campaign", "start", "aof", "--input", str(rows), "--client-name", "App"]
            start += ["--max-per-second", "30"]
            feeder = asyncio.ensure_future(cli(fake, redis, *start, "--job-timeout", "3", "--wait"))
            while len(fake.requests_for("link_token_create")) < 40:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            redis.stop()  # SIGTERM: Redis writes its append-only file and exits
            await asyncio.sleep(0.5)
            redis.start()  # the same port and folder: the data comes back
            code, _, err = await asyncio.wait_for(feeder, 120)
            assert code == 0, err
            assert "150 rows: 150 created, 0 failed" in err
            output = tmp_path / "out.jsonl"
            await cli(fake, redis, "campaign", "export", "aof", "--output", str(output))
        finally:
            await stop(process)
    assert [line["row"] for line in exported(output)] == list(range(1, 151))


async def test_a_429_storm_slows_the_campaign_and_fails_no_row(
    redis: RedisServer, tmp_path: Path
) -> None:
    # Plaid (the fake) takes 20 creates a second; the campaign asks for three times that.
    async with FakePlaidServer(secret=SECRET, rate_limits={"link_token_create": 20}) as fake:
        workers = [await worker(fake, redis), await worker(fake, redis)]
        try:
            rows = users(tmp_path / "users.csv", 60)
            start = ["campaign", "start", "storm", "--input", str(rows), "--client-name", "App"]
            code, _, err = await cli(fake, redis, *start, "--max-per-second", "60", "--wait")
            assert code == 0, err
            assert "60 rows: 60 created, 0 failed" in err
        finally:
            for process in workers:
                await stop(process)
        refused = fake.rate_limited().get("link_token_create", 0)
        assert refused > 0  # the storm happened
        # Each row was created once; the 429s were answered without a token.
        assert len(fake.requests_for("link_token_create")) == 60 + refused


@pytest.mark.parametrize(("stop_signal", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_feeder_interrupted_by_ctrl_c_resumes_where_it_stopped(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path, stop_signal: int, code: int
) -> None:
    from redis.asyncio import Redis

    process = await worker(fake, redis)
    try:
        rows = users(tmp_path / "users.csv", 40)
        start = ["campaign", "start", "halt", "--input", str(rows), "--client-name", "App",
                 "--max-per-second", "20", "--max-queued", "3"]  # fmt: skip
        feeder = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "plaid_link_async", *start, cwd=ROOT, env=env(fake, redis),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            preexec_fn=hears_ctrl_c,
        )  # fmt: skip
        while len(fake.requests_for("link_token_create")) < 8:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        feeder.send_signal(stop_signal)  # Ctrl-C or a stop, while it waits for room
        _, err = await asyncio.wait_for(feeder.communicate(), 30)
        assert feeder.returncode == code, err.decode()  # the feeder's own words
        assert "interrupted; the rows queued are still worked on" in err.decode()
        assert "run the same command again: plaid-link campaign start halt" in err.decode()
        client = Redis.from_url(redis.url)
        try:  # the feeder let go of the campaign, and stopped before the end
            assert await client.get("plaid-link:campaign:halt:feeder") is None
            assert int(await client.hget("plaid-link:campaign:halt:meta", "fed")) < 40
        finally:
            await client.aclose()
        resumed, _, err2 = await cli(fake, redis, *start, "--wait")
        assert resumed == 0, err2
        assert "40 rows: 40 created, 0 failed" in err2
    finally:
        await stop(process)
    made = Counter(r.body["user"]["client_user_id"] for r in fake.requests_for("link_token_create"))
    assert sorted(made) == sorted(f"u{n}" for n in range(1, 41))
    assert max(made.values()) == 1  # nothing fed twice


async def test_waiting_on_a_terminal_draws_a_bar_over_every_row(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    process = await worker(fake, redis)
    try:
        rows = users(tmp_path / "users.csv", 25)
        args = ["campaign", "start", "bar", "--input", str(rows), "--client-name", "App",
                "--max-per-second", "25", "--wait"]  # fmt: skip
        code, screen = await asyncio.to_thread(run_on_a_terminal, args, env(fake, redis))
    finally:
        await stop(process)
    assert code == 0, screen
    assert "25/25" in screen
    assert "100%" in screen
    assert "25 rows: 25 created, 0 failed" in screen
    assert SECRET not in screen


async def test_redis_calls_wait_out_a_restart_and_give_up_at_their_deadline(
    redis: RedisServer,
) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisDown

    from plaid_link_async.fleet._outage import patiently

    client = Redis.from_url(redis.url)
    loop = asyncio.get_running_loop()
    waits: list[str] = []
    try:
        redis.stop()
        back = loop.call_later(1.0, redis.start)
        answer = await patiently(client.ping, loop.time() + 20, lambda error: waits.append("w"))
        assert answer is True
        assert waits  # told of the tries that failed
        back.cancel()
        redis.stop()
        with pytest.raises(RedisDown):
            await patiently(client.ping, loop.time() + 0.6)
    finally:
        await client.aclose()


async def test_the_campaign_queue_sweeps_stuck_jobs_without_saqs_5_s_wait(
    redis: RedisServer,
) -> None:
    # docs/scaling-out.md: saq's sweep waits 5 s for each stuck job's worker to abort it,
    # one job after another; the campaign queue's does not.
    import time

    from saq import Status

    from plaid_link_async.fleet._queue import CampaignQueue

    queue = CampaignQueue.from_url(redis.url, name="sweep-check")
    try:
        for n in range(2):  # two jobs whose worker died mid-run, past their lease
            await queue.enqueue("link_row", key=f"stuck-{n}", timeout=1, retries=2)
            job = await queue.dequeue()
            assert job is not None
            job.started = int(time.time() * 1000) - 5_000
            await job.update(status=Status.ACTIVE)
        started = time.monotonic()
        swept = await queue.sweep()
        took = time.monotonic() - started
    finally:
        await queue.disconnect()
    assert len(swept) == 2
    assert took < 9.5  # saq's own would wait 5 s twice
