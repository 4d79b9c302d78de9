"""Campaigns never text whom they must not: not after a cancel, not twice after Redis
lost its data, not under another client's name, and "unknown" only for a request that
may really have been sent. Real worker processes, a real redis-server, the fake as
Plaid; every wait is bounded."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from plaid_link_async.testing import FakePlaidServer

from ._campaigns import SECRET, cli, exported, stop, until, users, worker
from ._redis import RedisServer, redis_server

pytestmark = pytest.mark.slow


def creates(fake: FakePlaidServer) -> int:
    return len(fake.requests_for("link_token_create"))


def texted_twice(fake: FakePlaidServer) -> list[str]:
    texts = Counter(message.client_user_id for message in fake.sent_messages())
    return [user for user, count in texts.items() if count > 1]


def hosted(name: str, rows: Path, rate: str = "20", *extra: str) -> list[str]:
    return ["campaign", "start", name, "--input", str(rows), "--client-name", "App",
            "--hosted-link", "sms", "--max-per-second", rate, *extra]  # fmt: skip


async def test_after_a_cancel_returns_no_request_of_the_campaign_starts(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    fake.latency = 0.3
    workers = [await worker(fake, redis, "--concurrency", "8") for _ in range(2)]
    rows = users(tmp_path / "users.csv", 200, phones=True)
    try:
        feeder = asyncio.ensure_future(cli(fake, redis, *hosted("final", rows), "--wait"))
        await until(lambda: len(fake.sent_messages()) >= 10)
        code, _, said = await cli(fake, redis, "campaign", "cancel", "final")
        cancelled_at = time.time()
        assert code == 0, said
        match = re.search(r"(\d+) requests? (?:was|were) being written or awaited", said)
        assert match, said
        on_the_wire = int(match.group(1))
        code, _, err = await asyncio.wait_for(feeder, 60)
        assert code == 1, err  # --wait ends, saying so
        assert "was cancelled" in err
        await asyncio.sleep(2.0)  # long enough for a dozen more at the campaign's pace
        later = [r for r in fake.requests_for("link_token_create") if r.received_at > cancelled_at]
        assert len(later) <= on_the_wire
        # A cancel is final: a later start is refused, saying what to do instead.
        code, _, err = await cli(fake, redis, *hosted("final", rows))
        assert code == 2
        assert "a cancel is final: start it again under a new name" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        for process in workers:
            await stop(process)
    assert creates(fake) < 200
    assert texted_twice(fake) == []


async def test_a_hosted_link_campaign_refuses_a_redis_that_may_forget(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    rows = users(tmp_path / "users.csv", 3, phones=True)
    (tmp_path / "volatile").mkdir()
    with redis_server(tmp_path / "volatile") as volatile:
        code, _, err = await cli(fake, volatile, *hosted("v", rows))
        assert code == 2
        assert "appendonly no" in err
        assert "--allow-volatile-redis" in err
        assert len(err.strip().splitlines()) == 1
        # A plain campaign makes tokens at least once: no text, nothing to refuse.
        plain = ["campaign", "start", "p", "--input", str(rows), "--max-per-second", "5"]
        assert (await cli(fake, volatile, *plain))[0] == 0
        code, _, err = await cli(fake, volatile, *hosted("v", rows), "--allow-volatile-redis")
        assert code == 0, err
        assert "a user may be texted twice" in err
    (tmp_path / "evicting").mkdir()
    with redis_server(tmp_path / "evicting", appendonly=True) as evicting:
        from redis.asyncio import Redis

        client = Redis.from_url(evicting.url)
        await client.config_set("maxmemory-policy", "allkeys-lru")
        await client.aclose()
        code, _, err = await cli(fake, evicting, *hosted("e", rows))
        assert code == 2
        assert "maxmemory-policy allkeys-lru" in err


async def test_a_redis_that_lost_its_data_stops_the_campaign_and_texts_no_one_twice(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    fake.latency = 0.2
    rows = users(tmp_path / "users.csv", 300, phones=True)
    with redis_server(tmp_path) as volatile:  # no append-only file: a restart forgets
        process = await worker(fake, volatile, "--concurrency", "6")
        try:
            start = [*hosted("gone", rows, "30"), "--allow-volatile-redis", "--wait"]
            feeder = asyncio.ensure_future(cli(fake, volatile, *start))
            await until(lambda: len(fake.sent_messages()) >= 30)
            volatile.stop()
            volatile.start()  # empty
            code, _, err = await asyncio.wait_for(feeder, 90)
            await asyncio.sleep(1.0)  # the worker's jobs in flight, if any, end
            code_status, _, status_err = await cli(fake, volatile, "campaign", "status", "gone")
        finally:
            await stop(process)
    assert code == 1, err
    assert "its records are gone from Redis" in err
    assert "created" not in err.splitlines()[-1]  # no "300 created, 0 failed"
    assert code_status == 2
    assert "no campaign 'gone'" in status_err
    assert texted_twice(fake) == []
    assert creates(fake) < 300


async def test_two_client_ids_on_one_redis_run_fully_apart(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    other_secret = "other-secret-0123456789"
    async with FakePlaidServer(client_id="client-b", secret=other_secret) as other:
        b = {"PLAID_CLIENT_ID": "client-b", "PLAID_SECRET": other_secret,
             "PLAID_BASE_URL": other.url}  # fmt: skip
        workers = [await worker(fake, redis), await worker(fake, redis, **b)]
        try:
            a_rows = users(tmp_path / "a.csv", 30, phones=True, prefix="a")
            b_rows = users(tmp_path / "b.csv", 30, phones=True, prefix="b")
            results = await asyncio.gather(
                cli(fake, redis, *hosted("for-a", a_rows), "--wait"),
                cli(fake, redis, *hosted("for-b", b_rows), "--wait", **b),
            )
            for code, _, err in results:
                assert code == 0, err
                assert "30 rows: 30 created, 0 failed" in err
            # A campaign's name is its client's: another client id cannot feed it.
            code, _, err = await cli(fake, redis, *hosted("for-a", a_rows), **b)
            assert code == 2
            assert "belongs to another client id (" in err
        finally:
            for process in workers:
                await stop(process)
        a_users = {r.body["user"]["client_user_id"] for r in fake.requests_for("link_token_create")}
        b_users = {
            r.body["user"]["client_user_id"] for r in other.requests_for("link_token_create")
        }
        assert a_users == {f"a{n}" for n in range(1, 31)}  # A's rows, under A's name only
        assert b_users == {f"b{n}" for n in range(1, 31)}


async def test_a_killed_worker_leaves_unknown_only_the_requests_on_the_wire(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    # Twelve rows held at once, three a second let through: most held rows are waiting
    # for their slot, not on the wire, when the worker dies.
    fake.latency = 1.0
    first = await worker(fake, redis, "--concurrency", "12")
    second = None
    rows = users(tmp_path / "users.csv", 24, phones=True)
    start = hosted("kill", rows, "3", "--job-heartbeat", "3")
    try:
        assert (await cli(fake, redis, *start))[0] == 0
        await until(lambda: creates(fake) >= 4)
        first.send_signal(signal.SIGKILL)
        killed_at = time.time()
        await first.wait()
        on_the_wire = sum(
            1 for r in fake.requests_for("link_token_create") if r.received_at > killed_at - 1.0
        )
        fake.latency = 0.0
        second = await worker(fake, redis, "--concurrency", "12")
        code, _, err = await cli(fake, redis, *hosted("kill", rows, "20"), "--wait")
        assert code == 1, err  # the unknown deliveries are failures
        output = tmp_path / "out.jsonl"
        await cli(fake, redis, "campaign", "export", "kill", "--output", str(output))
    finally:
        for process in (first, second):
            if process is not None:
                await stop(process)
    lines = exported(output)
    assert [line["row"] for line in lines] == list(range(1, 25))
    unknown = [line for line in lines if line.get("error", {}).get("type") == "UnknownDelivery"]
    # A request written just before the kill may not have reached the fake yet.
    assert len(unknown) <= on_the_wire + 1 < 12
    assert texted_twice(fake) == []
    delivered = [line for line in lines if "hosted_link_url" in line]
    assert len(delivered) + len(unknown) == 24


async def test_sigterm_hands_the_waiting_rows_back_and_leaves_none_unknown(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    fake.latency = 0.4
    first = await worker(fake, redis, "--concurrency", "12", "--grace", "2")
    rows = users(tmp_path / "users.csv", 20, phones=True)
    try:
        assert (await cli(fake, redis, *hosted("term", rows, "3")))[0] == 0
        await until(lambda: creates(fake) >= 3)
        await stop(first)  # SIGTERM: calls on the wire finish within the grace
        second = await worker(fake, redis, "--concurrency", "12")
        try:
            code, _, err = await cli(fake, redis, *hosted("term", rows, "20"), "--wait")
        finally:
            await stop(second)
    finally:
        await stop(first)
    assert code == 0, err
    assert "20 rows: 20 created, 0 failed" in err
    assert texted_twice(fake) == []


async def test_a_worker_whose_credentials_plaid_refuses_hands_its_rows_back_and_exits(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path
) -> None:
    log = tmp_path / "bad.log"
    bad = await worker(fake, redis, log=log, PLAID_SECRET="not-the-secret-0123456789")
    good = None
    rows = users(tmp_path / "users.csv", 40, phones=True)
    try:
        feeder = asyncio.ensure_future(cli(fake, redis, *hosted("creds", rows), "--wait"))
        await asyncio.wait_for(bad.wait(), 30)  # it took jobs, met the refusal, stopped
        good = await worker(fake, redis)
        code, _, err = await asyncio.wait_for(feeder, 90)
    finally:
        for process in (bad, good):
            if process is not None:
                await stop(process)
    assert bad.returncode == 1
    assert code == 0, err
    assert "40 rows: 40 created, 0 failed" in err
    said = log.read_text()
    errors = [line for line in said.splitlines() if " ERROR " in line]
    assert len(errors) == 1, said
    assert "INVALID_API_KEYS" in errors[0]
    assert "Traceback" not in said
    assert texted_twice(fake) == []


def test_no_rate_that_is_no_rate_passes_the_environment() -> None:
    from plaid_link_async import ConfigurationError
    from plaid_link_async._calls._settings import env_max_per_second

    assert env_max_per_second({"PLAID_LINK_MAX_PER_SECOND": "45"}) == 45.0
    for bad in ("0", "-1", "nan", "inf", "abc"):
        with pytest.raises(ConfigurationError, match="PLAID_LINK_MAX_PER_SECOND"):
            env_max_per_second({"PLAID_LINK_MAX_PER_SECOND": bad})


@pytest.mark.parametrize("rate", ["0", "abc"])  # the rule's other cases: just above
async def test_a_worker_with_a_rate_that_is_no_rate_exits_2_at_start(
    fake: FakePlaidServer, redis: RedisServer, rate: str
) -> None:
    code, _, err = await cli(fake, redis, "worker", PLAID_LINK_MAX_PER_SECOND=rate)
    assert code == 2
    assert "PLAID_LINK_MAX_PER_SECOND" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("rate", [None, "nan", "1e-300", "abc"])  # the rest: the rule's test
async def test_a_campaign_without_a_real_rate_is_refused(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path, rate: str | None
) -> None:
    rows = users(tmp_path / "users.csv", 3)
    start = ["campaign", "start", "r", "--input", str(rows)]
    code, _, err = await cli(fake, redis, *start, *(["--max-per-second", rate] if rate else []))
    assert code == 2
    assert "--max-per-second" in err
    assert len(err.strip().splitlines()) == 1


async def test_keep_days_that_are_no_days_are_refused() -> None:
    from plaid_link_async.fleet._errors import CampaignError
    from plaid_link_async.fleet._feeder import feed

    for days in (0.0, -1.0, float("nan"), float("inf"), 1e9):
        with pytest.raises(CampaignError, match="--keep-days must be more than 0"):
            await feed(None, None, "k", [], client_id="c", fingerprint="f", rate=5,
                       hosted=None, keep_days=days)  # fmt: skip


def test_the_rate_rule_of_campaigns() -> None:
    from plaid_link_async.fleet._errors import CampaignError
    from plaid_link_async.fleet._feeder import check_campaign_rate

    assert check_campaign_rate(45) == 45.0
    assert check_campaign_rate(0.01) == 0.01
    for bad in (None, 0, -1, float("nan"), float("inf"), 1e-300, True):
        with pytest.raises(CampaignError, match="--max-per-second"):
            check_campaign_rate(bad)  # type: ignore[arg-type]


def test_the_name_rule_of_campaigns() -> None:
    from plaid_link_async.fleet._errors import CampaignError
    from plaid_link_async.fleet._records import check_name

    assert check_name("spring-2026_v1.2") == "spring-2026_v1.2"
    assert check_name("x" * 100) == "x" * 100
    for bad in ("a\nb", "a b", "", "x" * 101, "a/b", "é", "a:b"):
        with pytest.raises(CampaignError, match="is not allowed"):
            check_name(bad)


@pytest.mark.parametrize("name", ["a\nINFO forged", "x" * 101])
async def test_a_campaign_name_that_could_forge_a_line_is_refused(
    fake: FakePlaidServer, redis: RedisServer, tmp_path: Path, name: str
) -> None:
    rows = users(tmp_path / "users.csv", 3)
    code, _, err = await cli(
        fake, redis, "campaign", "start", name, "--input", str(rows), "--max-per-second", "5"
    )
    assert code == 2
    assert "is not allowed: 1 to 100 letters, digits" in err
    assert len(err.strip().splitlines()) == 1
    assert SECRET not in err
