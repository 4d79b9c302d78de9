"""The fake server delivers signed webhooks to a receiver, retried on Plaid's schedule.

The receiver is a real aiohttp.web server on loopback that verifies every webhook
against the fake's key (fetched over HTTP by its own session), as a user's app would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from plaid_link_async import (
    AsyncLinkSession,
    WebhookVerificationError,
    models,
)
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, WebhookFault
from plaid_link_async.testing._deliveries import retry_schedule

from ._helpers import FAST_RETRY

pytest.importorskip("jwt")


class Receiver:
    """Verifies each webhook; answers 500 to the first `fail_first` of them."""

    def __init__(self, plaid: AsyncLinkSession, fail_first: int = 0) -> None:
        self.plaid = plaid
        self.fail_first = fail_first
        self.accepted: list[Any] = []
        self.refused: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        try:
            webhook = await self.plaid.verify_webhook(body, request.headers)
        except WebhookVerificationError as error:
            self.refused.append(str(error.reason))
            return web.Response(status=400)
        self.accepted.append(webhook)
        return web.Response(status=200)


@pytest.fixture
async def fake() -> AsyncIterator[FakePlaidServer]:
    async with FakePlaidServer(webhook_time_scale=0.0005) as server:
        yield server


async def _serve(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/plaid/webhook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/plaid/webhook"


async def _flow(fake: FakePlaidServer, **receiver_options: Any) -> tuple[Receiver, list[str]]:
    async with AsyncLinkSession(
        fake.client_id, DEFAULT_SECRET, base_url=fake.url, retry=FAST_RETRY
    ) as plaid:
        receiver = Receiver(plaid, **receiver_options)
        runner, url = await _serve(receiver)
        try:
            created = await plaid.link_token_create(
                models.LinkTokenCreateRequest(
                    client_name="App",
                    language="en",
                    country_codes=["US"],
                    user_id="usr_1",
                    webhook=url,
                )
            )
            completion = fake.complete_link(created.link_token, items=2)
            await fake.webhooks_settled(timeout=20)
        finally:
            await runner.cleanup()
    return receiver, completion.public_tokens


async def test_finishing_link_delivers_the_webhooks_plaid_would(fake: FakePlaidServer) -> None:
    receiver, public_tokens = await _flow(fake)
    codes = sorted(type(w).__name__ for w in receiver.accepted)
    assert codes == [
        "ItemAddResultWebhook",
        "ItemAddResultWebhook",
        "LinkEventsWebhook",
        "LinkSessionFinishedWebhook",
    ]
    added = [
        w.public_token for w in receiver.accepted if isinstance(w, models.ItemAddResultWebhook)
    ]
    assert sorted(added) == sorted(public_tokens)
    (finished,) = [w for w in receiver.accepted if isinstance(w, models.LinkSessionFinishedWebhook)]
    assert finished.public_tokens == public_tokens
    assert all(d.ok and d.attempt == 1 for d in fake.webhook_deliveries)


async def test_a_webhook_answered_500_is_retried_until_200(fake: FakePlaidServer) -> None:
    receiver, _ = await _flow(fake, fail_first=2)
    assert len(receiver.accepted) == 4
    attempts = [d.attempt for d in fake.webhook_deliveries]
    assert max(attempts) >= 2
    assert [d.status for d in fake.webhook_deliveries].count(500) == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (WebhookFault.stale(), "too_old"),
        (WebhookFault.tampered(), "body_mismatch"),
        (WebhookFault.wrong_key(), "bad_signature"),
    ],
)
async def test_a_spoiled_first_attempt_is_refused_and_the_retry_accepted(
    fake: FakePlaidServer, fault: WebhookFault, reason: str
) -> None:
    fake.inject_webhook(fault)
    receiver, _ = await _flow(fake)
    assert receiver.refused == [reason]
    assert len(receiver.accepted) == 4
    spoiled = [d for d in fake.webhook_deliveries if d.fault is not None]
    assert [(d.status, d.attempt) for d in spoiled] == [(400, 1)]


async def test_a_duplicate_arrives_twice(fake: FakePlaidServer) -> None:
    fake.inject_webhook(WebhookFault.duplicate())
    receiver, _ = await _flow(fake)
    assert len(receiver.accepted) == 5  # the first webhook twice: receivers must dedupe


async def test_webhooks_go_to_loopback_only(fake: FakePlaidServer) -> None:
    async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
        created = await plaid.link_token_create(
            models.LinkTokenCreateRequest(
                client_name="App",
                language="en",
                country_codes=["US"],
                user_id="usr_1",
                webhook="https://example.com/hook",
            )
        )
    fake.complete_link(created.link_token)
    await fake.webhooks_settled()
    assert {d.error for d in fake.webhook_deliveries} == {"not sent: not loopback"}


def test_the_retry_schedule_is_plaids() -> None:
    waits = retry_schedule()
    assert waits[0] == 30
    assert max(waits) == 4 * 3600
    assert sum(waits) <= 24 * 3600 < sum(waits) + 4 * 3600


async def test_a_default_webhook_url_targets_tokens_made_without_one() -> None:
    receiver_calls: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        receiver_calls.append(await request.read())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with FakePlaidServer(default_webhook=f"http://127.0.0.1:{port}/hook") as fake:
            async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
                created = await plaid.link_token_create(
                    models.LinkTokenCreateRequest(
                        client_name="App", language="en", country_codes=["US"], user_id="u"
                    )
                )
            fake.complete_link(created.link_token)
            await fake.webhooks_settled()
    finally:
        await runner.cleanup()
    assert len(receiver_calls) == 3  # ITEM_ADD_RESULT, EVENTS, SESSION_FINISHED
