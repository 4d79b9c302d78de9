"""The secret never shows: not in logs (DEBUG), reprs, exceptions or their chains."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from plaid_link_async import AsyncLinkSession, PlaidLinkError, RetryPolicy, Timeout
from plaid_link_async import models as m
from plaid_link_async._calls._settings import resolve_settings
from plaid_link_async.testing import FakePlaidServer, Fault

from ._helpers import CREATE, error_texts

SECRET = "s3cr3t-d0-not-l0g-9f8e7d6c"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more: connecting is refused


async def test_no_secret_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's and asyncio's too
    errors: list[BaseException] = []
    async with FakePlaidServer(secret=SECRET) as fake:
        fake.inject(
            "link_token_create",
            Fault.server_error(),
            Fault.connection_reset(),
            Fault.proxy_error(),
            Fault.hang(),
            Fault.malformed_json(),
            Fault.wrong_shape(),
            Fault.plaid_error(400, "INVALID_INPUT", "INVALID_API_KEYS", "bad keys"),
        )
        plaid = AsyncLinkSession(
            fake.client_id,
            SECRET,
            base_url=fake.url,
            retry=RetryPolicy(max_attempts=1),
            timeout=Timeout(total=5, attempt=0.2),
        )
        async with plaid:
            for _ in range(7):
                try:
                    await plaid.link_token_create(CREATE)
                except PlaidLinkError as error:
                    errors.append(error)
            created = await plaid.link_token_create(CREATE)
            texts = [repr(plaid), str(plaid), repr(created), repr(vars(plaid)["_transport"])]
            texts += [repr(request) for request in fake.requests]
        assert {type(error).__name__ for error in errors} == {
            "APIServerError",
            "TransportError",
            "UnexpectedResponseError",
            "PlaidTimeoutError",
            "InvalidInputError",
        }
        for error in errors:
            texts += error_texts(error)
        try:
            dead = AsyncLinkSession(
                fake.client_id, SECRET, base_url=f"http://127.0.0.1:{_closed_port()}"
            )
            async with dead:
                await dead.link_token_create(CREATE, retry=RetryPolicy(max_attempts=1))
        except PlaidLinkError as error:
            assert "could not connect" in str(error)
            texts += error_texts(error)
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    assert any("attempt" in record.getMessage() for record in caplog.records)
    assert not [text for text in texts if SECRET in text]


def test_no_secret_in_settings_or_session_reprs() -> None:
    settings = resolve_settings("id", SECRET, None, None, allow_http=False)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(AsyncLinkSession("id", SECRET))


def test_configuration_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(PlaidLinkError) as caught:
        AsyncLinkSession("id", SECRET, environment="nowhere")
    assert SECRET not in str(caught.value)


def test_model_reprs_mask_credentials() -> None:
    request: Any = m.LinkTokenCreateRequest(
        client_name="x",
        language="en",
        country_codes=["US"],
        user=m.LinkTokenCreateRequestUser(client_user_id="u"),
        access_token="access-sandbox-" + SECRET,
    )
    assert SECRET not in repr(request)
    assert "access-sandbox-***" in repr(request)
