"""The opt-in check of where a webhook comes from, the key budget's refusal, and a key
refresh in flight: found by a forger locking out a key rotation (issue 28)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from plaid_link_async import (
    PLAID_WEBHOOK_SOURCES,
    ConfigurationError,
    PlaidTimeoutError,
    WebhookRejection,
    WebhookVerificationError,
    WebhookVerifier,
)
from plaid_link_async.testing import WebhookSigner

from .test_webhooks import BODY

pytest.importorskip("jwt")

PLAID = PLAID_WEBHOOK_SOURCES[0]


class Keys:
    """A key endpoint: the signers' JWKs, counting fetches; a kid may be held back."""

    def __init__(self, *signers: WebhookSigner) -> None:
        self.jwks = {signer.kid: signer.jwk() for signer in signers}
        self.fetched: list[str] = []
        self.held: dict[str, asyncio.Event] = {}

    async def __call__(self, kid: str) -> Mapping[str, Any]:
        self.fetched.append(kid)
        if kid in self.held:
            await self.held[kid].wait()
        return self.jwks[kid]


def headers(signer: WebhookSigner, **more: str) -> dict[str, str]:
    return {"Plaid-Verification": signer.token(BODY), **more}


async def refused(verifier: WebhookVerifier, hdrs: dict[str, str], **options: Any) -> Any:
    with pytest.raises(WebhookVerificationError) as caught:
        await verifier.verify(BODY, hdrs, **options)
    return caught.value


async def test_a_webhook_from_elsewhere_is_refused_before_any_key_is_fetched() -> None:
    signer = WebhookSigner()
    keys = Keys(signer)
    verifier = WebhookVerifier(keys, sources=PLAID_WEBHOOK_SOURCES)
    error = await refused(verifier, headers(signer), client_address="203.0.113.9")
    assert error.reason == WebhookRejection.SOURCE_NOT_ALLOWED
    assert not error.retryable  # a 4xx: Plaid's own never come from there
    assert keys.fetched == []
    await verifier.verify(BODY, headers(signer), client_address=PLAID)
    await verifier.verify(BODY, headers(signer), client_address=f"::ffff:{PLAID}")
    assert keys.fetched == [signer.kid]


async def test_a_forgers_made_up_kids_cost_no_fetch_with_the_check_on() -> None:
    signer = WebhookSigner()
    keys = Keys(signer)
    verifier = WebhookVerifier(keys, sources=PLAID_WEBHOOK_SOURCES)
    for n in range(50):
        forger = WebhookSigner(f"forged-{n}")
        error = await refused(verifier, headers(forger), client_address="198.51.100.7")
        assert error.reason == WebhookRejection.SOURCE_NOT_ALLOWED
    # The real, newly rotated key is fetched as soon as its first webhook comes.
    await verifier.verify(BODY, headers(signer), client_address=PLAID)
    assert keys.fetched == [signer.kid]


async def test_the_address_comes_from_the_last_entry_of_the_proxys_header() -> None:
    signer = WebhookSigner()
    verifier = WebhookVerifier(
        Keys(signer), sources=["52.21.0.0/16"], source_header="X-Forwarded-For"
    )
    # The client may write any first entries; the proxy appends the one it saw.
    await verifier.verify(BODY, headers(signer, **{"x-forwarded-for": "10.0.0.1, 52.21.26.131"}))
    spoofed = headers(signer, **{"X-Forwarded-For": "52.21.26.131, 203.0.113.9"})
    assert (await refused(verifier, spoofed)).reason == WebhookRejection.SOURCE_NOT_ALLOWED
    missing = await refused(verifier, headers(signer))
    assert "client_address" in missing.message
    garbage = headers(signer, **{"X-Forwarded-For": "not an address\n"})
    assert "\n" not in str(await refused(verifier, garbage))


def test_sources_are_checked_when_set() -> None:
    verifier = WebhookVerifier(Keys())
    assert verifier.sources is None
    verifier.sources = ["52.21.26.131", "10.0.0.0/8"]
    assert verifier.sources == ("52.21.26.131/32", "10.0.0.0/8")
    for bad in ("52.21.26.131", ["not an address"], ["10.0.0.1/8"]):
        with pytest.raises(ConfigurationError):
            verifier.sources = bad  # type: ignore[assignment]


async def test_the_budget_refusal_says_what_to_do() -> None:
    verifier = WebhookVerifier(Keys())
    verifier.max_fetches_per_minute = 0
    error = await refused(verifier, headers(WebhookSigner("any")))
    assert error.reason == WebhookRejection.KEY_UNAVAILABLE
    assert error.retryable
    assert "answer 5xx" in error.message
    assert "WebhookVerifier.sources = PLAID_WEBHOOK_SOURCES" in error.message


async def test_a_webhook_whose_key_is_being_refreshed_waits_for_the_refresh() -> None:
    first, second = WebhookSigner("first"), WebhookSigner("second")
    keys = Keys(first, second)
    verifier = WebhookVerifier(keys)
    await verifier.verify(BODY, headers(first))  # cached
    # Plaid expires `first`; fetching `second` refreshes `first`, which is held back.
    keys.jwks["first"] = {**first.jwk(), "expired_at": int(time.time()) - 60}
    keys.held["first"] = asyncio.Event()
    await verifier.verify(BODY, headers(second))
    assert keys.fetched == ["first", "second", "first"]
    waiting = asyncio.ensure_future(verifier.verify(BODY, headers(first)))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # not answered from the cache while the refresh runs
    keys.held["first"].set()
    with pytest.raises(WebhookVerificationError) as caught:
        await waiting
    assert caught.value.reason == WebhookRejection.EXPIRED_KEY


async def test_a_refresh_that_fails_to_reach_plaid_leaves_the_cached_key_in_use() -> None:
    first, second = WebhookSigner("first"), WebhookSigner("second")
    keys = Keys(first, second)
    verifier = WebhookVerifier(keys)
    await verifier.verify(BODY, headers(first))

    async def unreachable(kid: str) -> Mapping[str, Any]:
        if kid == "first":
            raise PlaidTimeoutError("no answer within 1 s")
        return await keys(kid)

    verifier._fetch_key = unreachable
    await verifier.verify(BODY, headers(second))
    await verifier.verify(BODY, headers(first))  # the refresh failed: the cached key stands
