"""Link webhooks: parsed into their models, and verified as Plaid signs them.

Tokens are built by the tests themselves with PyJWT and keys of their own (a second,
independent pair among them), not only by the fake server, so that verification is
not checked against the code that signs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async import (
    AsyncLinkSession,
    InvalidWebhookError,
    PlaidLinkError,
    UnknownWebhook,
    WebhookRejection,
    WebhookVerificationError,
    WebhookVerifier,
    models,
    parse_webhook,
    read_webhook,
    to_dict,
)
from plaid_link_async.testing import FakePlaidServer, Fault, WebhookSigner

from ._helpers import examples, session_for
from .strategies import json_values, model_strategy

jwt = pytest.importorskip("jwt")

FINISHED = {
    "webhook_type": "LINK",
    "webhook_code": "SESSION_FINISHED",
    "status": "SUCCESS",
    "link_session_id": "356dbb28-7f98-44d1-8e6d-0cec580f3171",
    "link_token": "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176",
    "public_tokens": ["public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"],
    "environment": "sandbox",
}
BODY = json.dumps(FINISHED).encode()


def webhook_examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, example)
        for name, schema in spec["components"]["schemas"].items()
        if name.endswith("Webhook")
        for example in (schema.get("x-examples") or {}).values()
    ]


# -- parsing --------------------------------------------------------------------------------


def test_every_webhook_example_of_the_contract_parses_to_its_model(spec: dict[str, Any]) -> None:
    examples = webhook_examples(spec)
    # The three Link webhooks, the twelve Item, Auth and Layer ones that call for Link,
    # and the supplement's two Auth ones.
    assert len(examples) == 17
    for name, example in examples:
        for body in (example, json.dumps(example), json.dumps(example).encode()):
            parsed = parse_webhook(body)
            assert type(parsed).__name__ == name


def test_every_webhook_schema_has_a_model_by_type_and_code() -> None:
    delivery = parse_webhook(
        {
            "webhook_type": "LINK_DELIVERY",
            "webhook_code": "DELIVERY_STATUS",
            "link_delivery_session_id": "s1",
            "timestamp": "2024-05-21T00:17:54Z",
            "link_delivery_metadata": {"delivery_status": "SUCCESS"},
        }
    )
    assert isinstance(delivery, models.LinkUserDeliveryStatusWebhook)
    callback = parse_webhook(
        {"webhook_type": "LINK_DELIVERY", "webhook_code": "LINK_CALLBACK", "timestamp": 5}
    )
    assert isinstance(callback, models.LinkDeliveryCallbackWebhook)
    assert callback.timestamp is None  # drifted: read as None, never raised


def test_an_unknown_type_or_code_is_kept_whole_and_says_what_it_is() -> None:
    body = {
        "webhook_type": "LINK",
        "webhook_code": "SOMETHING_NEW",
        "public_token": "public-sandbox-1",
    }
    parsed = parse_webhook(body)
    assert isinstance(parsed, UnknownWebhook)
    assert (parsed.webhook_type, parsed.webhook_code) == ("LINK", "SOMETHING_NEW")
    assert parsed.payload == body
    assert "SOMETHING_NEW" in repr(parsed)
    assert "public-sandbox-1" not in repr(parsed)  # masked, like every token
    assert isinstance(parse_webhook({"no": "type"}), UnknownWebhook)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"a string"', b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_a_typed_error(body: bytes) -> None:
    with pytest.raises(InvalidWebhookError):
        parse_webhook(body)


@settings(max_examples=examples(300))
@given(data=st.data())
def test_mutated_webhooks_never_raise_an_untyped_exception(data: st.DataObject) -> None:
    body = dict(FINISHED)
    key = data.draw(st.sampled_from(sorted(body)))
    body[key] = data.draw(json_values)
    if data.draw(st.booleans()):
        del body[data.draw(st.sampled_from(sorted(body)))]
    with contextlib.suppress(InvalidWebhookError):  # and nothing else
        parse_webhook(json.dumps(body).encode())


@settings(max_examples=examples(150))
@given(data=st.data())
def test_every_webhook_model_parses_from_bodies_built_from_its_schema(
    data: st.DataObject,
) -> None:
    from plaid_link_async._schema._operations import WEBHOOKS

    (kind, code), name = data.draw(st.sampled_from(sorted(WEBHOOKS.items())))
    built = data.draw(model_strategy(getattr(models, name)))
    body = {**to_dict(built), "webhook_type": kind, "webhook_code": code}
    parsed = parse_webhook(json.dumps(body))
    assert type(parsed).__name__ == name
    assert to_dict(parsed) == body  # and it goes back whole


async def test_strict_webhooks_raise_naming_the_field_and_tolerant_ones_report_drift(
    fake_plaid: FakePlaidServer,
) -> None:
    events = {
        "webhook_type": "LINK",
        "webhook_code": "EVENTS",
        "link_session_id": "s",
        "link_token": "link-sandbox-1",
        "environment": "sandbox",
    }  # no `events`
    with pytest.raises(InvalidWebhookError, match="breaks the contract at events") as caught:
        parse_webhook(events, strict=True)
    assert caught.value.path == "events"
    reading = read_webhook(json.dumps(events))
    assert isinstance(reading.webhook, models.LinkEventsWebhook)
    assert [item.path for item in reading.drift] == ["events"]
    assert to_dict(reading.webhook) == events  # written back as it was received
    assert read_webhook(FINISHED).drift.total == 0
    # verify_webhook follows the session's strict, or its own argument.
    signed = fake_plaid.sign_webhook(events)
    async with session_for(fake_plaid) as tolerant:
        assert isinstance(
            await tolerant.verify_webhook(signed.body, signed.headers), models.LinkEventsWebhook
        )
        with pytest.raises(InvalidWebhookError):
            await tolerant.verify_webhook(signed.body, signed.headers, strict=True)
        verified = await tolerant.webhooks.read(signed.body, signed.headers)
        assert verified.drift.total == 1
    async with session_for(fake_plaid, strict=True) as strict:
        with pytest.raises(InvalidWebhookError):
            await strict.verify_webhook(signed.body, signed.headers)
        assert await strict.verify_webhook(signed.body, signed.headers, strict=False)


# -- verification, against the fake's key served over HTTP ----------------------------------


@pytest.fixture
async def plaid(fake_plaid: FakePlaidServer) -> AsyncIterator[AsyncLinkSession]:
    async with session_for(fake_plaid) as session:
        yield session


async def test_a_webhook_the_fake_signs_verifies_and_parses(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    signed = fake_plaid.sign_webhook(FINISHED)
    parsed = await plaid.verify_webhook(signed.body, signed.headers)
    assert isinstance(parsed, models.LinkSessionFinishedWebhook)
    assert parsed.public_tokens == FINISHED["public_tokens"]
    # The header name in any case, as frameworks hand it over.
    lower = {name.lower(): value for name, value in signed.headers.items()}
    await plaid.verify_webhook(signed.body, lower)


def _token(
    signer: Any, body: bytes, *, kid: str, iat: float | None = None, alg: str = "ES256"
) -> str:
    claims = {
        "iat": int(time.time() if iat is None else iat),
        "request_body_sha256": hashlib.sha256(body).hexdigest(),
    }
    token: str = jwt.encode(claims, signer, algorithm=alg, headers={"kid": kid})
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _reason(plaid: AsyncLinkSession, body: bytes, token: str | None) -> WebhookRejection:
    headers = {} if token is None else {"Plaid-Verification": token}
    with pytest.raises(WebhookVerificationError) as caught:
        await plaid.verify_webhook(body, headers)
    assert "\n" not in str(caught.value)
    reason: WebhookRejection = caught.value.reason
    return reason


async def test_every_rejection_reason(plaid: AsyncLinkSession, fake_plaid: FakePlaidServer) -> None:
    served = WebhookSigner()  # the test's own key, served by the fake
    fake_plaid.add_webhook_key(served.jwk())
    other = WebhookSigner()  # an independent pair the fake knows nothing of
    key = served._private
    kid = served.kid
    now = time.time()
    from cryptography.hazmat.primitives import serialization

    # The alg-confusion attack: HS256 "signed" with the public key's bytes as the secret.
    public_pem = served._private.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    none_token = (
        _b64(json.dumps({"alg": "none", "kid": kid}).encode())
        + "."
        + _b64(
            json.dumps(
                {"iat": int(now), "request_body_sha256": hashlib.sha256(BODY).hexdigest()}
            ).encode()
        )
        + "."
    )
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    hs_claims = _b64(
        json.dumps(
            {"iat": int(now), "request_body_sha256": hashlib.sha256(BODY).hexdigest()}
        ).encode()
    )
    hs_signature = _b64(
        hmac.new(public_pem, f"{hs_header}.{hs_claims}".encode(), hashlib.sha256).digest()
    )
    cases = [
        (None, BODY, WebhookRejection.MISSING_HEADER),
        ("not-a-jwt", BODY, WebhookRejection.MALFORMED_TOKEN),
        ("a.b.c", BODY, WebhookRejection.MALFORMED_TOKEN),
        (none_token, BODY, WebhookRejection.ALGORITHM_NOT_ALLOWED),
        (f"{hs_header}.{hs_claims}.{hs_signature}", BODY, WebhookRejection.ALGORITHM_NOT_ALLOWED),
        (_token(key, BODY, kid="no-such-key"), BODY, WebhookRejection.UNKNOWN_KEY),
        (_token(other._private, BODY, kid=kid), BODY, WebhookRejection.BAD_SIGNATURE),
        (_token(key, BODY, kid=kid, iat=now - 301), BODY, WebhookRejection.TOO_OLD),
        (_token(key, BODY, kid=kid, iat=now + 120), BODY, WebhookRejection.FROM_THE_FUTURE),
        (_token(key, BODY, kid=kid), BODY + b" ", WebhookRejection.BODY_MISMATCH),
        (
            _token(key, BODY, kid=kid),
            json.dumps(FINISHED, indent=1).encode(),
            WebhookRejection.BODY_MISMATCH,
        ),
    ]
    for token, body, reason in cases:
        assert await _reason(plaid, body, token) == reason, (token, reason)
    # And the same token, untouched, passes: the cases above fail for their reason only.
    assert isinstance(
        await plaid.verify_webhook(BODY, {"Plaid-Verification": _token(key, BODY, kid=kid)}),
        models.LinkSessionFinishedWebhook,
    )


async def test_an_expired_key_is_refused(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    expired = WebhookSigner(expired_at=int(time.time()) - 60)
    fake_plaid.add_webhook_key(expired.jwk())
    token = _token(expired._private, BODY, kid=expired.kid)
    assert await _reason(plaid, BODY, token) == WebhookRejection.EXPIRED_KEY


async def test_the_window_and_the_clock_are_configurable(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    signed = fake_plaid.sign_webhook(FINISHED, iat=1_000_000)
    plaid.webhooks = WebhookVerifier(
        plaid._fetch_webhook_key, max_age=60, clock=lambda: 1_000_000 + 59
    )
    await plaid.verify_webhook(signed.body, signed.headers)
    plaid.webhooks.clock = lambda: 1_000_000 + 61
    with pytest.raises(WebhookVerificationError) as caught:
        await plaid.verify_webhook(signed.body, signed.headers)
    assert caught.value.reason == WebhookRejection.TOO_OLD


async def test_a_thousand_concurrent_webhooks_fetch_an_uncached_key_once(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    fake_plaid.latency = 0.05
    signed = fake_plaid.sign_webhook(FINISHED)
    results = await asyncio.gather(
        *(plaid.verify_webhook(signed.body, signed.headers) for _ in range(1000))
    )
    assert all(isinstance(r, models.LinkSessionFinishedWebhook) for r in results)
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == 1


async def test_a_failed_key_fetch_is_not_cached(
    plaid: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    signed = fake_plaid.sign_webhook(FINISHED)
    fake_plaid.inject("webhook_verification_key_get", Fault.server_error())
    first = await asyncio.gather(
        *(plaid.verify_webhook(signed.body, signed.headers) for _ in range(10)),
        return_exceptions=True,
    )
    assert all(
        isinstance(r, WebhookVerificationError) and r.reason == WebhookRejection.KEY_UNAVAILABLE
        for r in first
    )
    # One call, not retried: Plaid delivers the webhook again, and that is the retry.
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == 1
    await plaid.verify_webhook(signed.body, signed.headers)  # the next webhook fetches again
    assert len(fake_plaid.requests_for("webhook_verification_key_get")) == 2


async def test_without_the_extra_verification_names_it(
    plaid: AsyncLinkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)  # as if PyJWT were not installed
    with pytest.raises(PlaidLinkError, match=r"pip install 'plaid-link-async\[webhooks\]'"):
        await plaid.verify_webhook(BODY, {"Plaid-Verification": "a.b.c"})
    assert isinstance(parse_webhook(BODY), models.LinkSessionFinishedWebhook)


@pytest.mark.parametrize("code", ["AUTOMATICALLY_VERIFIED", "VERIFICATION_EXPIRED"])
def test_an_error_sent_as_a_bare_code_is_kept_and_written_back(code: str) -> None:
    # plaid-python's fallback models read `error` as a string code; so does `extra`.
    body = {
        "webhook_type": "AUTH",
        "webhook_code": code,
        "account_id": "a",
        "item_id": "i",
        "environment": "sandbox",
        "error": "INSTITUTION_NOT_RESPONDING",
    }
    reading = read_webhook(json.dumps(body))
    assert reading.webhook.error is None  # type: ignore[union-attr]
    assert reading.webhook.extra["error"] == "INSTITUTION_NOT_RESPONDING"
    assert [item.path for item in reading.drift] == ["error"]
    assert to_dict(reading.webhook) == body
