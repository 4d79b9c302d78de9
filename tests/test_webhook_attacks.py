"""Webhook verification under attack: forged floods, rotated keys, refused credentials,
hostile claims and arguments. Against the fake server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from plaid_link_async import (
    AsyncLinkSession,
    ConfigurationError,
    WebhookRejection,
    WebhookVerificationError,
    models,
)
from plaid_link_async.testing import FakePlaidServer, Fault, WebhookSigner

from ._helpers import CREATE, session_for
from .test_cli import SECRET as CLI_SECRET
from .test_cli import plaid_link
from .test_webhooks import BODY, FINISHED

jwt = pytest.importorskip("jwt")


@pytest.fixture
async def plaid(fake_plaid: FakePlaidServer) -> Any:
    async with session_for(fake_plaid) as session:
        yield session


async def reason(plaid: AsyncLinkSession, body: bytes, headers: dict[str, str]) -> Any:
    with pytest.raises(WebhookVerificationError) as caught:
        await plaid.verify_webhook(body, headers)
    assert "\n" not in str(caught.value)
    return caught.value.reason


def forged(kid: str, claims: dict[str, Any] | None = None) -> dict[str, str]:
    signer = WebhookSigner(kid)  # a key Plaid never served
    if claims is None:
        return dict(signer.sign(BODY).headers)
    token = jwt.encode(claims, signer._private, algorithm="ES256", headers={"kid": kid})
    return {"Plaid-Verification": token}


async def test_a_storm_of_forgeries_costs_at_most_ten_fetches_and_no_app_time(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    fake_plaid.latency = 0.02
    started = time.monotonic()
    await plaid.link_token_create(CREATE)
    alone = time.monotonic() - started
    headers = [forged(f"forged-{n}") for n in range(40)]
    storm = [
        asyncio.ensure_future(plaid.verify_webhook(BODY, headers[n % 40] | {"X-N": str(n)}))
        for n in range(2000)
    ]
    started = time.monotonic()
    await plaid.link_token_create(CREATE)
    during = time.monotonic() - started
    results = await asyncio.gather(*storm, return_exceptions=True)
    reasons = {getattr(r, "reason", r) for r in results}
    assert reasons <= {WebhookRejection.UNKNOWN_KEY, WebhookRejection.KEY_UNAVAILABLE}
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) <= 10
    assert during < alone + 0.5, (alone, during)
    # A forged kid already refused is remembered: no new fetch for it.
    fetched = len(fake_plaid.requests_for("webhook_verification_key_get"))
    refused_kid = fake_plaid.requests_for("webhook_verification_key_get")[0].body["key_id"]
    again = await reason(plaid, BODY, forged(refused_kid))
    assert again == WebhookRejection.UNKNOWN_KEY
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == fetched


async def test_an_expired_key_fails_once_the_cache_is_refreshed(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    old = WebhookSigner("old-key")
    fake_plaid.add_webhook_key(old.jwk())
    await plaid.verify_webhook(BODY, dict(old.sign(BODY).headers))
    # Plaid rotates: the old key expires upstream, a new key signs from now on.
    old.expired_at = int(time.time()) - 1
    fake_plaid.add_webhook_key(old.jwk())
    assert isinstance(
        await plaid.verify_webhook(BODY, dict(old.sign(BODY).headers)),
        models.LinkSessionFinishedWebhook,
    )  # cached: not known yet
    new = WebhookSigner("new-key")
    fake_plaid.add_webhook_key(new.jwk())
    await plaid.verify_webhook(BODY, dict(new.sign(BODY).headers))  # a miss: refreshes
    await asyncio.sleep(0.1)  # the refresh runs in the background
    assert await reason(plaid, BODY, dict(old.sign(BODY).headers)) == WebhookRejection.EXPIRED_KEY


async def test_a_cached_key_is_fetched_again_after_its_maximum_age(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    signer = WebhookSigner("aging")
    fake_plaid.add_webhook_key(signer.jwk())
    plaid.webhooks.key_max_age = 0.2
    await plaid.verify_webhook(BODY, dict(signer.sign(BODY).headers))
    signer.expired_at = int(time.time()) - 1
    fake_plaid.add_webhook_key(signer.jwk())
    await asyncio.sleep(0.3)
    assert await reason(plaid, BODY, dict(signer.sign(BODY).headers)) == (
        WebhookRejection.EXPIRED_KEY
    )
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == 2


async def test_the_key_cache_is_bounded(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    verifier = plaid.webhooks
    verifier.max_keys = 3
    verifier.max_fetches_per_minute = 100
    for n in range(6):
        signer = WebhookSigner(f"k{n}")
        fake_plaid.add_webhook_key(signer.jwk())
        await plaid.verify_webhook(BODY, dict(signer.sign(BODY).headers))
    await asyncio.sleep(0.1)
    assert len(verifier._keys) == 3


async def test_a_key_answered_for_another_kid_is_refused(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    signer = WebhookSigner("asked")
    other = WebhookSigner("other").jwk()
    fake_plaid.add_webhook_key({**other, "kid": "other"})
    fake_plaid._plaid.webhook_keys["asked"] = other  # the server answers the wrong key
    assert await reason(plaid, BODY, dict(signer.sign(BODY).headers)) == (
        WebhookRejection.KEY_UNAVAILABLE
    )


async def test_refused_credentials_are_their_own_retryable_reason(
    fake_plaid: FakePlaidServer,
) -> None:
    signed = fake_plaid.sign_webhook(FINISHED)
    async with AsyncLinkSession(
        fake_plaid.client_id, "a-rotated-secret-0123456789", base_url=fake_plaid.url
    ) as plaid:
        with pytest.raises(WebhookVerificationError) as caught:
            await plaid.verify_webhook(signed.body, signed.headers)
    assert caught.value.reason == WebhookRejection.CREDENTIALS_REFUSED
    assert caught.value.retryable
    assert "INVALID_API_KEYS" in str(caught.value)
    assert not WebhookVerificationError(WebhookRejection.UNKNOWN_KEY, "x").retryable


@pytest.mark.slow
async def test_the_cli_says_the_credentials_were_refused(tmp_path: Path) -> None:
    async with FakePlaidServer(secret="another-secret-0123456789") as fake:
        signed = fake.sign_webhook(FINISHED)
        body = tmp_path / "body.json"
        body.write_bytes(signed.body)
        headers = tmp_path / "headers.json"
        headers.write_text(json.dumps(dict(signed.headers)))
        code, _, err = await plaid_link(
            fake, "webhook", "verify", "--body", str(body), "--headers", str(headers)
        )
    assert code == 1
    assert "webhook refused (credentials_refused)" in err


@pytest.mark.parametrize(
    "iat",
    [math.nan, math.inf, -math.inf, 10**400, "1700000000", True, None],
    ids=["nan", "inf", "-inf", "huge", "text", "bool", "none"],
)
async def test_an_iat_that_is_no_time_is_malformed(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer, iat: Any
) -> None:
    signer = fake_plaid.webhook_signer
    claims = {"iat": iat, "request_body_sha256": hashlib.sha256(BODY).hexdigest()}
    token = jwt.encode(claims, signer._private, algorithm="ES256", headers={"kid": signer.kid})
    assert await reason(plaid, BODY, {"Plaid-Verification": token}) == (
        WebhookRejection.MALFORMED_TOKEN
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, "300", None])
def test_a_window_that_is_no_number_of_seconds_is_refused(
    plaid: AsyncLinkSession, value: Any
) -> None:
    with pytest.raises(ConfigurationError, match="max_age"):
        plaid.webhooks.max_age = value
    with pytest.raises(ConfigurationError, match="leeway"):
        plaid.webhooks.leeway = value


@pytest.mark.slow
async def test_the_cli_refuses_max_age_nan(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    async with FakePlaidServer(secret=CLI_SECRET) as fake:
        code, _, err = await plaid_link(
            fake, "webhook", "verify", "--body", str(body), "--header", "A: b",
            "--max-age", "nan",
        )  # fmt: skip
    assert code == 2
    assert "max_age" in err


@pytest.mark.parametrize("expired_at", ["2020-01-01", math.nan, math.inf, True, 10**400])
async def test_an_expired_at_that_is_no_time_refuses_the_key(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer, expired_at: Any
) -> None:
    # Off the contract (not an integer): the key answer is refused as read strictly.
    # A huge integer is one: it reads as a time, and in the past it is not.
    signer = WebhookSigner(f"odd-{expired_at!s:.8}")
    fake_plaid.add_webhook_key({**signer.jwk(), "expired_at": expired_at})
    found = await reason(plaid, BODY, dict(signer.sign(BODY).headers))
    assert found in (WebhookRejection.KEY_UNAVAILABLE, WebhookRejection.EXPIRED_KEY)


@pytest.mark.parametrize(
    "expired_at", ["2020-01-01", math.nan, math.inf, True, 10**400, -(10**400), 1]
)
def test_a_key_whose_expired_at_is_no_time_counts_as_expired(expired_at: Any) -> None:
    # For a verifier given its own fetcher, which may hand over any JWK.
    from plaid_link_async._webhooks._keys import _Key

    assert _Key({"expired_at": expired_at}, None, 0.0).expired(time.time())
    assert not _Key({"expired_at": None}, None, 0.0).expired(time.time())
    assert not _Key({"expired_at": 2**40}, None, 0.0).expired(time.time())


@pytest.mark.parametrize(
    ("body", "headers", "named"),
    [
        ("{}", {"Plaid-Verification": "x"}, "body"),
        ({}, {"Plaid-Verification": "x"}, "body"),
        (memoryview(b"{}"), {"Plaid-Verification": "x"}, "body"),
        (b"{}", None, "headers"),
        (b"{}", [("Plaid-Verification", "x")], "headers"),
        (b"{}", {"Plaid-Verification": None}, "headers"),
        (b"{}", {"Plaid-Verification": b"x"}, "headers"),
    ],
)
async def test_wrong_arguments_are_a_clear_type_error(
    plaid: AsyncLinkSession, body: Any, headers: Any, named: str
) -> None:
    with pytest.raises(TypeError, match=f"^{named} must"):
        await plaid.verify_webhook(body, headers)


@pytest.mark.slow
async def test_duplicate_headers_the_first_counts_in_the_library_and_the_cli(
    tmp_path: Path,
) -> None:
    from multidict import CIMultiDict

    async with FakePlaidServer(secret=CLI_SECRET) as fake:
        good = fake.sign_webhook(FINISHED).headers["Plaid-Verification"]
        both = CIMultiDict([("Plaid-Verification", good), ("plaid-verification", "bad.bad.bad")])
        async with AsyncLinkSession(fake.client_id, CLI_SECRET, base_url=fake.url) as plaid:
            verified = await plaid.verify_webhook(BODY, both)
        assert isinstance(verified, models.LinkSessionFinishedWebhook)
        body = tmp_path / "body.json"
        body.write_bytes(BODY)
        headers = tmp_path / "headers.txt"
        headers.write_text(f"Plaid-Verification: {good}\nplaid-verification: bad.bad.bad\n")
        code, _, err = await plaid_link(
            fake, "webhook", "verify", "--body", str(body), "--headers", str(headers)
        )
    assert code == 0, err


async def test_a_refresh_that_fails_keeps_the_cached_key(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    kept = WebhookSigner("kept-key")
    fake_plaid.add_webhook_key(kept.jwk())
    await plaid.verify_webhook(BODY, dict(kept.sign(BODY).headers))
    new = WebhookSigner("new-key-2")
    fake_plaid.add_webhook_key(new.jwk())
    # The new key's fetch answers; the background refresh of the cached one fails.
    fake_plaid.inject("webhook_verification_key_get", Fault.latency(0), Fault.server_error())
    await plaid.verify_webhook(BODY, dict(new.sign(BODY).headers))
    await asyncio.sleep(0.1)
    fetched = len(fake_plaid.requests_for("webhook_verification_key_get"))
    assert fetched == 3
    await plaid.verify_webhook(BODY, dict(kept.sign(BODY).headers))  # still cached
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == fetched
