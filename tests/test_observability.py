"""Logging, the per-session hooks and raw responses: request_id everywhere, no secret."""

from __future__ import annotations

import logging

import pytest

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    RawAPIResponse,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
)
from plaid_link_async import (
    models as m,
)
from plaid_link_async.testing import FakePlaidServer, Fault

from ._helpers import CREATE

SECRET = "hook-secret-7f6e5d4c3b2a"


async def test_hooks_see_every_attempt_and_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="plaid_link_async")
    events: list[object] = []
    async with (
        FakePlaidServer(secret=SECRET) as fake,
        AsyncLinkSession(
            fake.client_id,
            SECRET,
            base_url=fake.url,
            retry=RetryPolicy(initial_delay=0.001),
            on_request=events.append,
            on_response=[events.append],
            on_retry=events.append,
        ) as plaid,
    ):
        fake.inject("link_token_create", Fault.server_error(503))
        created = await plaid.link_token_create(CREATE)
        with pytest.raises(InvalidInputError):
            await plaid.link_token_get(m.LinkTokenGetRequest(link_token="nope"))

    kinds = [type(event).__name__ for event in events]
    assert kinds == [
        "RequestEvent",
        "ResponseEvent",
        "RetryEvent",
        "RequestEvent",
        "ResponseEvent",
        "RequestEvent",
        "ResponseEvent",
    ]
    first, failed, retry, _, succeeded, _, refused = events
    assert isinstance(first, RequestEvent)
    assert first.url.endswith("/link/token/create")
    assert isinstance(failed, ResponseEvent)
    assert (failed.status, failed.ok, failed.attempt) == (503, False, 1)
    assert failed.request_id
    assert isinstance(retry, RetryEvent)
    assert (retry.attempt, retry.max_attempts, retry.status) == (1, 3, 503)
    assert retry.request_id == failed.request_id
    assert retry.wait >= 0
    assert isinstance(succeeded, ResponseEvent)
    assert succeeded.ok
    assert succeeded.request_id == created.request_id
    assert succeeded.elapsed > 0
    assert isinstance(refused, ResponseEvent)
    assert refused.status == 400
    assert refused.request_id

    debug = [r for r in caplog.records if r.levelname == "DEBUG"]
    info = [r for r in caplog.records if r.levelname == "INFO"]
    assert len(debug) == 3  # one per attempt
    assert len(info) == 1  # one per retry
    for record in debug + info:
        assert record.plaid_endpoint in ("link_token_create", "link_token_get")  # type: ignore[attr-defined]
        assert record.plaid_request_id  # type: ignore[attr-defined]
        assert record.plaid_request_id in record.getMessage()  # type: ignore[attr-defined]
        assert " ms" in record.getMessage()
    assert "HTTP 503" in info[0].getMessage() or "503" in info[0].getMessage()
    everything = [repr(e) for e in events] + [r.getMessage() for r in caplog.records]
    assert not [text for text in everything if SECRET in text]


async def test_a_failing_hook_is_logged_and_the_call_goes_on(
    fake_plaid: FakePlaidServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("metrics backend down")

    async with AsyncLinkSession(
        fake_plaid.client_id, "test-secret", base_url=fake_plaid.url, on_response=broken
    ) as plaid:
        created = await plaid.link_token_create(CREATE)
    assert created.link_token
    assert "hook" in caplog.text
    assert "metrics backend down" in caplog.text


def test_hooks_must_be_callable() -> None:
    with pytest.raises(TypeError, match="hook must be callable"):
        AsyncLinkSession("id", "secret", on_request=[1])  # type: ignore[list-item]


async def test_raw_responses_carry_status_headers_and_timing(
    plaid_session: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    fake_plaid.inject("link_token_create", Fault.server_error(502))
    raw = await plaid_session.with_raw_response.link_token_create(CREATE)
    assert isinstance(raw, RawAPIResponse)
    assert isinstance(raw.parsed, m.LinkTokenCreateResponse)
    assert raw.status == 200
    assert raw.headers["Content-Type"].startswith("application/json")
    assert raw.request_id == raw.parsed.request_id
    assert raw.attempts == 2
    assert raw.elapsed > 0
    assert raw.endpoint == "link_token_create"
    info = await plaid_session.with_raw_response.link_token_get(
        m.LinkTokenGetRequest(link_token=raw.parsed.link_token)
    )
    assert info.parsed.link_token == raw.parsed.link_token
    assert info.attempts == 1
