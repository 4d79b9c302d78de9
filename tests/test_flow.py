"""The whole Link flow against the fake: token, Hosted Link delivery, the user, exchange.

Every call runs on a strict session, so every answer of every route is also checked
against the contract: any drift from 1.697.4 would fail the call.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    InvalidRequestError,
    RequestValidationError,
)
from plaid_link_async import models as m
from plaid_link_async.testing import FakePlaidServer

from ._helpers import CALLS_DEPRECATED, WEBHOOK_KEY, session_for

ACCESS_TOKEN = re.compile(r"^access-sandbox-[0-9a-f-]{36}$")

pytestmark = CALLS_DEPRECATED


@pytest.fixture
async def plaid(fake_plaid: FakePlaidServer) -> AsyncIterator[AsyncLinkSession]:
    async with session_for(fake_plaid, strict=True) as session:
        yield session


def _hosted_request(**changes: object) -> m.LinkTokenCreateRequest:
    fields: dict[str, object] = {
        "client_name": "Flow App",
        "language": "en",
        "country_codes": [m.CountryCode.US],
        "user_id": "usr_9a8b7c",  # the newer user API: no `user` object
        "products": [m.Products.AUTH],
        "webhook": "https://example.com/plaid/webhook",
        "hosted_link": m.LinkTokenCreateHostedLink(),
        "enable_multi_item_link": True,
    }
    fields.update(changes)
    return m.LinkTokenCreateRequest(**fields)  # type: ignore[arg-type]


async def test_token_to_access_tokens_through_hosted_link(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    created = await plaid.link_token_create(_hosted_request())
    assert created.hosted_link_url is not None

    delivery = await plaid.link_delivery_create(
        m.LinkDeliveryCreateRequest(link_token=created.link_token)
    )
    session_id = delivery.link_delivery_session_id
    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=session_id)
    )
    assert status.status == m.LinkDeliverySessionStatus.CREATED

    async with aiohttp.ClientSession() as browser, browser.get(delivery.link_delivery_url) as page:
        assert page.status == 200  # the user opens the URL
    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=session_id)
    )
    assert status.status == m.LinkDeliverySessionStatus.OPENED

    completion = fake_plaid.complete_link(created.link_token, items=2)
    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=session_id)
    )
    assert status.status == m.LinkDeliverySessionStatus.COMPLETED
    assert status.completed_at is not None

    info = await plaid.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
    (session,) = info.link_sessions or []
    assert session.link_session_id == completion.link_session_id
    assert session.results is not None
    public_tokens = [result.public_token for result in session.results.item_add_results]
    assert public_tokens == completion.public_tokens
    assert [event.event_name for event in session.events or []] == [
        "OPEN",
        "SELECT_INSTITUTION",
        "HANDOFF",
    ]

    exchanged = [
        await plaid.item_public_token_exchange(m.ItemPublicTokenExchangeRequest(public_token=token))
        for token in public_tokens
    ]
    assert all(ACCESS_TOKEN.match(item.access_token) for item in exchanged)
    assert len({item.item_id for item in exchanged}) == 2
    # Never shown: the access token is masked in every repr.
    assert exchanged[0].access_token not in repr(exchanged[0])
    assert "access-sandbox-***" in repr(exchanged[0])

    with pytest.raises(InvalidInputError) as again:
        await plaid.item_public_token_exchange(
            m.ItemPublicTokenExchangeRequest(public_token=public_tokens[0])
        )
    assert again.value.error_code == "INVALID_PUBLIC_TOKEN"

    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=session_id)
    )
    assert status.item_ids == [item.item_id for item in exchanged]
    assert status.access_tokens == [item.access_token for item in exchanged]
    assert exchanged[0].access_token not in repr(status)


async def test_an_exited_session_has_no_public_token(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    created = await plaid.link_token_create(_hosted_request())
    delivery = await plaid.link_delivery_create(
        m.LinkDeliveryCreateRequest(link_token=created.link_token)
    )
    completion = fake_plaid.complete_link(created.link_token, exited=True)
    assert completion.public_tokens == []
    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=delivery.link_delivery_session_id)
    )
    assert status.status == m.LinkDeliverySessionStatus.EXITED
    info = await plaid.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
    (session,) = info.link_sessions or []
    assert session.exit is not None
    assert session.results is None


async def test_a_delivery_expires_with_its_token(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    hosted = m.LinkTokenCreateHostedLink(url_lifetime_seconds=1)
    created = await plaid.link_token_create(_hosted_request(hosted_link=hosted))
    delivery = await plaid.link_delivery_create(
        m.LinkDeliveryCreateRequest(link_token=created.link_token)
    )
    fake_plaid._plaid.tokens[created.link_token]["expires"] = created.expiration.replace(year=2000)
    status = await plaid.link_delivery_get(
        m.LinkDeliveryGetRequest(link_delivery_session_id=delivery.link_delivery_session_id)
    )
    assert status.status == m.LinkDeliverySessionStatus.EXPIRED


async def test_only_hosted_tokens_are_delivered_and_unknown_ids_are_refused(
    plaid: AsyncLinkSession,
) -> None:
    plain = await plaid.link_token_create(_hosted_request(hosted_link=None))
    with pytest.raises(InvalidRequestError) as not_hosted:
        await plaid.link_delivery_create(m.LinkDeliveryCreateRequest(link_token=plain.link_token))
    assert "hosted_link" in (not_hosted.value.error_message or "")
    with pytest.raises(InvalidInputError) as unknown:
        await plaid.link_delivery_get(m.LinkDeliveryGetRequest(link_delivery_session_id="nope"))
    assert unknown.value.error_code == "INVALID_LINK_DELIVERY_SESSION_ID"
    with pytest.raises(InvalidInputError) as token:
        await plaid.item_public_token_exchange(
            m.ItemPublicTokenExchangeRequest(public_token="public-sandbox-unknown")
        )
    assert token.value.error_code == "INVALID_PUBLIC_TOKEN"


async def test_user_id_without_user_is_sent_and_the_one_of_rule_holds(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    await plaid.link_token_create(_hosted_request(hosted_link=None))
    assert fake_plaid.requests[-1].body["user_id"] == "usr_9a8b7c"
    assert "user" not in fake_plaid.requests[-1].body
    sent = len(fake_plaid.requests)
    with pytest.raises(RequestValidationError) as neither:
        await plaid.link_token_create(_hosted_request(user_id=None))
    assert neither.value.paths == ("user_id",)
    assert len(fake_plaid.requests) == sent  # refused before anything was sent


async def test_the_webhook_key_is_served_by_its_id(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    fake_plaid.add_webhook_key(WEBHOOK_KEY)
    key = await plaid.webhook_verification_key_get(
        m.WebhookVerificationKeyGetRequest(key_id=str(WEBHOOK_KEY["kid"]))
    )
    assert key.key.kid == WEBHOOK_KEY["kid"]
    assert key.key.alg == "ES256"
    with pytest.raises(InvalidInputError):
        await plaid.webhook_verification_key_get(m.WebhookVerificationKeyGetRequest(key_id="x"))
