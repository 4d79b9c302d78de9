"""The habits users bring from openai-python, stripe-python and httpx.

`aclose()`, `with_options(...)` over the same pool, timeouts and retries from the
environment, logging switched on from the environment, a public raw-response type.
"""

from __future__ import annotations

import contextlib
import logging

import pytest

import plaid_link_async
from plaid_link_async import (
    AsyncLinkSession,
    ConfigurationError,
    PlaidTimeoutError,
    RateLimitError,
    RawCalls,
    RetryPolicy,
    SessionClosedError,
    Timeout,
)
from plaid_link_async._calls import _settings
from plaid_link_async.testing import FakePlaidServer, Fault

from ._helpers import CREATE, session_for


async def test_aclose_works_with_contextlib_aclosing(fake_plaid: FakePlaidServer) -> None:
    async with contextlib.aclosing(session_for(fake_plaid)) as plaid:
        await plaid.link_token_create(CREATE)
    assert plaid.closed


async def test_with_options_is_a_view_over_the_same_pool(fake_plaid: FakePlaidServer) -> None:
    async with session_for(fake_plaid) as plaid:
        await plaid.link_token_create(CREATE)
        fast = plaid.with_options(
            timeout=Timeout(total=5, attempt=0.2), retry=RetryPolicy(max_attempts=1)
        )
        assert fast.timeout.attempt == 0.2
        assert fast.retry.max_attempts == 1
        assert plaid.timeout.attempt != 0.2  # the original keeps its defaults
        fake_plaid.inject("link_token_create", Fault.hang())
        with pytest.raises(PlaidTimeoutError):
            await fast.link_token_create(CREATE)
        assert fast.http_session is plaid.http_session  # one pool
        assert fast.webhooks is plaid.webhooks  # one webhook key cache
        strict = fast.with_options(strict=True)
        assert strict.strict
        assert strict.timeout.attempt == 0.2
        await fast.aclose()  # the view only
        assert fast.closed
        assert not plaid.closed
        with pytest.raises(SessionClosedError):
            await fast.link_token_create(CREATE)
        await plaid.link_token_create(CREATE)  # the pool is still open
    assert plaid.closed
    assert strict.closed


async def test_timeouts_and_retries_come_from_the_environment(
    fake_plaid: FakePlaidServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAID_TIMEOUT", "0.3")
    monkeypatch.setenv("PLAID_MAX_ATTEMPTS", "1")
    plaid = AsyncLinkSession(fake_plaid.client_id, "test-secret", base_url=fake_plaid.url)
    assert plaid.timeout.total == 0.3
    assert plaid.retry.max_attempts == 1
    fake_plaid.inject("link_token_create", Fault.hang())
    async with plaid:
        with pytest.raises(PlaidTimeoutError) as caught:
            await plaid.link_token_create(CREATE)
    assert caught.value.attempts == 1
    explicit = AsyncLinkSession("c", "s", timeout=7, retry=RetryPolicy(max_attempts=2))
    assert (explicit.timeout.total, explicit.retry.max_attempts) == (7, 2)  # arguments win
    for name, value in [
        ("PLAID_TIMEOUT", "soon"),
        ("PLAID_TIMEOUT", "-1"),
        ("PLAID_MAX_ATTEMPTS", "0"),
        ("PLAID_RETRY_BACKOFF", "nan"),
        ("PLAID_RETRY_BACKOFF", "-0.1"),
        ("PLAID_RETRY_BACKOFF", "quick"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError, match=name):
            AsyncLinkSession("c", "s")
        monkeypatch.setenv(name, "1")


async def test_the_backoff_comes_from_the_environment(
    fake_plaid: FakePlaidServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAID_RETRY_BACKOFF", "0.001")
    waits: list[float] = []
    plaid = AsyncLinkSession(
        fake_plaid.client_id,
        "test-secret",
        base_url=fake_plaid.url,
        on_retry=lambda event: waits.append(event.wait),
    )
    assert (plaid.retry.initial_delay, plaid.retry.max_delay) == (0.001, 0.016)
    assert plaid.retry.max_attempts == 3  # the default's, unless PLAID_MAX_ATTEMPTS says
    fake_plaid.inject("link_token_create", *[Fault.rate_limit(retry_after=None)] * 3)
    async with plaid:
        with pytest.raises(RateLimitError) as caught:
            await plaid.link_token_create(CREATE)
    assert caught.value.attempts == 3
    assert len(waits) == 2
    assert all(wait <= 0.016 for wait in waits)  # not the default's 0.5 and 1.0 s


def test_logging_is_switched_on_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("plaid_link_async")
    monkeypatch.setattr(_settings, "_logging_configured", False)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setenv("PLAID_LINK_LOG", "debug")
    AsyncLinkSession("c", "s")
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == 1
    monkeypatch.setattr(_settings, "_logging_configured", False)
    monkeypatch.setenv("PLAID_LINK_LOG", "loud")
    with pytest.raises(ConfigurationError, match="PLAID_LINK_LOG"):
        AsyncLinkSession("c", "s")


def test_the_raw_response_accessor_has_a_public_type() -> None:
    plaid = AsyncLinkSession("c", "s")
    assert isinstance(plaid.with_raw_response, RawCalls)
    assert "RawCalls" in plaid_link_async.__all__


def test_server_error_takes_a_5xx_only_and_maintenance_says_so() -> None:
    with pytest.raises(ValueError, match="plaid_error"):
        Fault.server_error(404)
    assert "maintenance" in (Fault.server_error(503).error_message or "")
