"""The transport seam: `AsyncLinkSession(transport=...)` and `MockTransport`, which drive
whole calls, retries included, with no socket."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from plaid_link_async import (
    AmbiguousOutcomeError,
    AsyncLinkSession,
    ConfigurationError,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
    TransportError,
    TransportRequest,
    TransportResponse,
)
from plaid_link_async import models as m
from plaid_link_async.testing import MockTransport

from ._helpers import CREATE

SECRET = "mock-secret-0123456789abcdef"
CREATED = {
    "link_token": "link-sandbox-3f1a",
    "expiration": "2026-12-06T04:00:00Z",
    "request_id": "req-mock-1",
}
FAST = RetryPolicy(max_attempts=4, initial_delay=0.001, max_delay=0.001)


def session(transport: Any, **options: Any) -> AsyncLinkSession:
    return AsyncLinkSession(
        "mock-client", SECRET, base_url="https://plaid.test", transport=transport,
        retry=FAST, **options,
    )  # fmt: skip


def hosted() -> m.LinkTokenCreateRequest:
    user = m.LinkTokenCreateRequestUser(client_user_id="u-1", phone_number="+14155550100")
    return attrs.evolve(
        CREATE, user=user, hosted_link=m.LinkTokenCreateHostedLink(delivery_method="sms")
    )


async def test_a_whole_call_with_its_retries_runs_without_a_socket() -> None:
    seen: list[TransportRequest] = []

    def plaid(request: TransportRequest) -> Any:
        seen.append(request)
        if len(seen) < 3:
            return 503, {}, {"error_type": "API_ERROR", "error_code": "INTERNAL_SERVER_ERROR"}
        return 200, {"Content-Type": "application/json"}, CREATED

    retries: list[RetryEvent] = []
    async with session(MockTransport(plaid), on_retry=retries.append) as client:
        created = await client.link_token_create(CREATE)
        assert client.http_session is None  # no aiohttp session was ever made
    assert created.link_token == "link-sandbox-3f1a"
    assert [event.attempt for event in retries] == [1, 2]
    request = seen[0]
    assert (request.method, request.url) == ("POST", "https://plaid.test/link/token/create")
    assert request.headers["PLAID-SECRET"] == SECRET  # the transport sends the credentials
    assert json.loads(request.body)["client_name"] == CREATE.client_name
    assert 0 < request.timeout <= 20
    assert 0 < request.connect <= 10
    assert SECRET not in repr(request)  # but no repr shows them
    assert "***" in repr(request)


async def test_an_async_handler_and_every_kind_of_answer() -> None:
    answers: list[Any] = [
        (200, None, json.dumps(CREATED)),  # text
        (200, None, json.dumps(CREATED).encode()),  # bytes
        TransportResponse(200, {"Content-Type": "application/json"}, json.dumps(CREATED).encode()),
    ]

    async def plaid(request: TransportRequest) -> Any:
        return answers.pop(0)

    async with session(MockTransport(plaid)) as client:
        for _ in range(3):
            assert (await client.link_token_create(CREATE)).request_id == "req-mock-1"


async def test_a_429_waits_its_retry_after_in_any_header_case() -> None:
    calls = []

    def plaid(request: TransportRequest) -> Any:
        calls.append(request)
        if len(calls) == 1:
            body = {"error_type": "RATE_LIMIT_EXCEEDED", "error_code": "RATE_LIMIT"}
            return 429, {"retry-after": "0.05"}, body
        return 200, {}, CREATED

    retries: list[RetryEvent] = []
    async with session(MockTransport(plaid), on_retry=retries.append) as client:
        await client.link_token_create(CREATE)
    assert [event.wait for event in retries] == [0.05]


async def test_a_delivery_is_retried_only_when_the_request_never_left() -> None:
    failures = [TransportError("refused", sent=False), TransportError("reset", sent=True)]

    def plaid(request: TransportRequest) -> Any:
        raise failures.pop(0)

    async with session(MockTransport(plaid)) as client:
        with pytest.raises(AmbiguousOutcomeError) as caught:
            await client.link_token_create(hosted())
    assert caught.value.attempts == 2  # the refused one retried, the reset one not
    assert failures == []


async def test_the_last_failure_is_raised_when_attempts_run_out() -> None:
    def plaid(request: TransportRequest) -> Any:
        return 429, {}, {"error_type": "RATE_LIMIT_EXCEEDED", "error_code": "RATE_LIMIT"}

    async with session(MockTransport(plaid)) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.link_token_create(CREATE)
    assert caught.value.attempts == 4


async def test_a_transports_own_error_becomes_a_transport_error_without_its_chain() -> None:
    def plaid(request: TransportRequest) -> Any:
        raise ValueError(f"oops with {request.headers['PLAID-SECRET']}")

    async with session(MockTransport(plaid)) as client:
        with pytest.raises(TransportError) as caught:
            await client.link_token_create(CREATE)
    assert "the transport failed: ValueError" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert SECRET not in str(caught.value)


async def test_a_handler_that_answers_nonsense_is_told_so() -> None:
    async with session(MockTransport(lambda request: "OK")) as client:
        with pytest.raises(ConfigurationError, match=r"returns a TransportResponse or \(status"):
            await client.link_token_create(CREATE)


def test_a_transport_replaces_the_default_ones_settings() -> None:
    with pytest.raises(ConfigurationError, match="transport= replaces"):
        session(MockTransport(lambda request: (200, {}, CREATED)), connector_limit=5)
    with pytest.raises(ConfigurationError, match="async send"):
        session(object())
