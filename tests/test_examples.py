"""Each program in examples/ runs against the fake Plaid server, as a user would run it."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from plaid_link_async import AsyncLinkSession, ConfigurationError
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, Fault, WebhookFault

from ._helpers import CREATE, plaid_variables, program_env
from .conftest import ROOT

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakePlaidServer]:
    """The fake server, with the PLAID_* variables the examples read pointing at it."""
    async with FakePlaidServer(webhook_time_scale=0.001) as server:
        for name, value in plaid_variables(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PLAID_ENV", raising=False)
        yield server


def example_env(fake: FakePlaidServer) -> dict[str, str]:
    return program_env(fake, PYTHONPATH=str(ROOT))


async def test_fastapi_app(fake: FakePlaidServer) -> None:
    example = load("fastapi_app")
    app = example.app
    async with app.router.lifespan_context(app):
        plaid = app.state.plaid
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            created = await client.post("/link/token", headers={"X-User-Id": "user-7"})
            assert created.status_code == 200, created.text
            token = created.json()["link_token"]
            assert token.startswith("link-sandbox-")
            assert fake.requests[-1].body["user"] == {"client_user_id": "user-7"}

            info = await client.get(f"/link/token/{token}")
            assert info.status_code == 200
            assert info.json()["products"] == ["auth"]

            unknown = await client.get("/link/token/link-sandbox-unknown")
            assert unknown.status_code == 404

            fake.inject("link_token_create", *[Fault.rate_limit(retry_after=0)] * 3)
            busy = await client.post("/link/token", headers={"X-User-Id": "user-8"})
            assert busy.status_code == 503
            assert "request_id" in busy.json()["detail"]

            assert (await client.post("/link/token")).status_code == 422  # no user header
    assert plaid.closed  # the lifespan closed the session


async def test_fastapi_app_served_for_real_verifies_webhooks_and_exchanges_tokens(
    fake: FakePlaidServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("jwt")
    example = load("fastapi_app")
    config = uvicorn.Config(
        example.app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to await)
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        app_url = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("APP_WEBHOOK_URL", f"{app_url}/plaid/webhook")
        # The app's first key fetch fails (after its own retries): it answers 503, and
        # the fake's retry, 30 ms later on Plaid's compressed schedule, goes through.
        fake.inject("webhook_verification_key_get", *[Fault.server_error()] * 3)
        # EVENTS arrives twice, as when a user comes back to the session.
        fake.inject_webhook(WebhookFault.duplicate(code="EVENTS"))
        async with httpx.AsyncClient(base_url=app_url) as client:
            created = await client.post("/link/token", headers={"X-User-Id": "user-w"})
            assert created.status_code == 200, created.text
            token = created.json()["link_token"]
            assert fake.requests[-1].body["webhook"] == f"{app_url}/plaid/webhook"

            completion = fake.complete_link(token, items=2)
            await fake.webhooks_settled(timeout=60)
            for _ in range(200):  # the app exchanges in the background, after its 200
                items = (await client.get("/items")).json()
                if len(items["item_ids"]) == 2:
                    break
                await asyncio.sleep(0.02)
    finally:
        server.should_exit = True
        await serving
    assert len(items["item_ids"]) == 2
    assert len(fake.requests_for("item_public_token_exchange")) == 2  # each token once
    assert sorted(p for p in completion.public_tokens) == sorted(
        r.body["public_token"] for r in fake.requests_for("item_public_token_exchange")
    )
    assert items["events"] == ["OPEN", "SELECT_INSTITUTION", "HANDOFF"]  # deduplicated
    statuses = [d.status for d in fake.webhook_deliveries]
    assert 503 in statuses  # refused while the key could not be fetched, then retried
    assert statuses.count(200) == 5  # 2 ITEM_ADD_RESULT, EVENTS twice, SESSION_FINISHED


async def test_aiohttp_app(fake: FakePlaidServer) -> None:
    example = load("aiohttp_app")
    app = example.make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        created = await client.post("/link/token", headers={"X-User-Id": "user-9"})
        assert created.status == 200
        token = (await created.json())["link_token"]
        info = await client.get(f"/link/token/{token}")
        assert (await info.json())["products"] == ["auth"]
        assert (await client.get("/link/token/nope")).status == 404
        assert (await client.post("/link/token")).status == 401
        plaid = app[example.PLAID]
    assert plaid.closed  # the cleanup context closed the session


async def test_aiohttp_app_receives_verified_webhooks(
    fake: FakePlaidServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("jwt")
    example = load("aiohttp_app")
    app = example.make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        monkeypatch.setenv("APP_WEBHOOK_URL", str(client.make_url("/plaid/webhook")))
        fake.inject_webhook(WebhookFault.wrong_key(code="SESSION_FINISHED"))
        created = await client.post("/link/token", headers={"X-User-Id": "user-a"})
        token = (await created.json())["link_token"]
        fake.complete_link(token, items=1)
        await fake.webhooks_settled(timeout=30)
        await asyncio.gather(*app[example.TASKS])
        items = await (await client.get("/items")).json()
    assert len(items["item_ids"]) == 1
    assert len(fake.requests_for("item_public_token_exchange")) == 1
    assert [d.status for d in fake.webhook_deliveries].count(400) == 1  # the wrong key


async def run(fake: FakePlaidServer, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=example_env(fake),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_batch_job_creates_and_resumes(fake: FakePlaidServer, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    with users.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id"])
        writer.writerows([f"user-{n}"] for n in range(120))
    output = tmp_path / "tokens.jsonl"
    script = str(EXAMPLES / "batch_job.py")

    code, _, err = await run(fake, script, str(users), str(output))
    assert code == 0, err
    assert "120 created, 0 failed" in err
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(line["user_id"] for line in lines) == sorted(f"user-{n}" for n in range(120))

    # A crash after 100 lines, the last one cut short: the rerun does the other 20.
    kept = output.read_text().splitlines()[:100]
    output.write_text("\n".join(kept) + "\n" + kept[-1][:10])
    before = len(fake.requests_for("link_token_create"))
    code, _, err = await run(fake, script, str(users), str(output))
    assert code == 0, err
    assert "100 users already have a token; 20 to go" in err
    assert len(fake.requests_for("link_token_create")) - before == 20
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(r["user_id"] for r in records) == sorted(f"user-{n}" for n in range(120))


async def test_worker_drains_and_stops_on_end_of_input(fake: FakePlaidServer) -> None:
    jobs = "".join(f"user-{n}\n" for n in range(30)).encode()
    code, out, err = await run(fake, str(EXAMPLES / "worker.py"), stdin=jobs)
    assert code == 0, err
    assert len(out.splitlines()) == 30
    assert "stopped on end of input: 30 created, 0 failed; session closed" in err


async def test_worker_shuts_down_cleanly_on_sigterm(fake: FakePlaidServer) -> None:
    fake.latency = 0.05
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "worker.py"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=example_env(fake),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(b"".join(f"user-{n}\n".encode() for n in range(8)))
    await process.stdin.drain()
    # stdin stays open: the worker waits for more jobs until the signal.
    for _ in range(8):
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert b"link_token" in line
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err
    assert "stopped on signal: 8 created, 0 failed; session closed" in err.decode()
    assert b"Traceback" not in err


async def test_the_in_loop_fake_behind_a_sync_test_client_fails_fast(
    fake: FakePlaidServer,
) -> None:
    # The mistake: FastAPI's TestClient blocks this test's loop, where `fake` serves.
    # The app's call fails at once, naming the fixture to use, instead of timing out.
    from fastapi.testclient import TestClient as SyncTestClient

    example = load("fastapi_app")
    started = time.monotonic()
    with SyncTestClient(example.app) as client:
        answer = client.post("/link/token", headers={"X-User-Id": "u"})
    assert time.monotonic() - started < 5
    assert answer.status_code == 502
    assert answer.json()["detail"] == {"error": "ConfigurationError"}
    # The same from a thread of its own while this loop is blocked: the message.
    failures: list[BaseException] = []

    def call() -> None:
        async def run() -> None:
            async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as s:
                await s.link_token_create(CREATE)

        try:
            asyncio.run(run())
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(10)  # blocks this test's loop, as TestClient does
    (failure,) = failures
    assert isinstance(failure, ConfigurationError)
    assert "use the fake_plaid_thread fixture" in str(failure)
