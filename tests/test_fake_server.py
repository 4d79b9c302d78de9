"""The fake Plaid server on its own: contract checks, Plaid-shaped errors, state, its CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

import aiohttp
import attrs
import pytest

from plaid_link_async import from_dict
from plaid_link_async import models as m
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, RecordedRequest

GOOD_HEADERS = {
    "PLAID-CLIENT-ID": "test-client-id",
    "PLAID-SECRET": DEFAULT_SECRET,
    "Plaid-Version": "2020-09-14",
}
CREATE_BODY = {
    "client_name": "App",
    "language": "en",
    "country_codes": ["US"],
    "user": {"client_user_id": "u-1"},
    "products": ["auth"],
}


async def _post(
    fake: FakePlaidServer, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with http.post(
            fake.url + path, data=data, headers=GOOD_HEADERS if headers is None else headers
        ) as response:
            return response.status, await response.json()


def _assert_plaid_error(body: Any, error_type: str, error_code: str) -> m.PlaidError:
    error = from_dict(m.PlaidError, body)
    assert (error.error_type, error.error_code) == (error_type, error_code)
    assert error.request_id
    return error


@pytest.mark.parametrize(
    ("headers", "error_type", "code"),
    [
        ({**GOOD_HEADERS, "PLAID-SECRET": "nope"}, "INVALID_INPUT", "INVALID_API_KEYS"),
        ({"Plaid-Version": "2020-09-14"}, "INVALID_REQUEST", "MISSING_FIELDS"),
        (
            {**GOOD_HEADERS, "Plaid-Version": "2018-05-22"},
            "INVALID_REQUEST",
            "INCOMPATIBLE_API_VERSION",
        ),
        (
            {k: v for k, v in GOOD_HEADERS.items() if k != "Plaid-Version"},
            "INVALID_REQUEST",
            "INVALID_HEADERS",
        ),
    ],
)
async def test_credentials_and_version_are_checked(
    fake_plaid: FakePlaidServer, headers: dict[str, str], error_type: str, code: str
) -> None:
    status, body = await _post(fake_plaid, "/link/token/create", CREATE_BODY, headers)
    assert status == 400
    _assert_plaid_error(body, error_type, code)


async def test_credentials_may_also_come_in_the_body(fake_plaid: FakePlaidServer) -> None:
    body = {**CREATE_BODY, "client_id": "test-client-id", "secret": DEFAULT_SECRET}
    status, answer = await _post(
        fake_plaid, "/link/token/create", body, {"Plaid-Version": "2020-09-14"}
    )
    assert status == 200
    assert answer["link_token"].startswith("link-sandbox-")
    assert fake_plaid.requests[0].body["secret"] == "***"


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({**CREATE_BODY, "user": {}}, "MISSING_FIELDS", "user.client_user_id"),
        ({**CREATE_BODY, "language": 7}, "INVALID_FIELD", "language"),
        ({**CREATE_BODY, "country_codes": []}, "INVALID_FIELD", "country_codes"),
        ({**CREATE_BODY, "country_codes": ["XX"]}, "INVALID_FIELD", "country_codes[0]"),
        ({**CREATE_BODY, "client_name": ""}, "INVALID_FIELD", "client_name"),
        ({**CREATE_BODY, "colour": "red"}, "UNKNOWN_FIELDS", "colour"),
        ([1, 2], "INVALID_BODY", "JSON object"),
        (b"{not json", "INVALID_BODY", "JSON object"),
    ],
)
async def test_bodies_are_checked_against_the_contract(
    fake_plaid: FakePlaidServer, body: Any, code: str, named: str
) -> None:
    status, answer = await _post(fake_plaid, "/link/token/create", body)
    assert status == 400
    error = _assert_plaid_error(answer, "INVALID_REQUEST", code)
    assert named in error.error_message


async def test_unknown_paths_are_not_found(fake_plaid: FakePlaidServer) -> None:
    status, answer = await _post(fake_plaid, "/item/get", {})
    assert status == 404
    _assert_plaid_error(answer, "INVALID_REQUEST", "NOT_FOUND")
    [recorded] = fake_plaid.requests
    assert recorded == RecordedRequest(
        endpoint=None,
        path="/item/get",
        headers=recorded.headers,
        body={},
        received_at=recorded.received_at,
    )
    assert abs(recorded.received_at - time.time()) < 60


async def test_tokens_are_remembered_and_reset_forgets_them(fake_plaid: FakePlaidServer) -> None:
    status, created = await _post(fake_plaid, "/link/token/create", CREATE_BODY)
    token = created["link_token"]
    assert fake_plaid.link_tokens() == [token]
    status, info = await _post(fake_plaid, "/link/token/get", {"link_token": token})
    assert status == 200
    parsed = from_dict(m.LinkTokenGetResponse, info)
    assert parsed.metadata.initial_products == ["auth"]
    assert "link_sessions" not in info
    fake_plaid.reset()
    assert fake_plaid.requests == []
    status, answer = await _post(fake_plaid, "/link/token/get", {"link_token": token})
    _assert_plaid_error(answer, "INVALID_INPUT", "INVALID_LINK_TOKEN")


def test_link_sessions_need_a_known_token() -> None:
    with pytest.raises(KeyError, match="unknown link token"):
        FakePlaidServer().add_link_session("link-sandbox-missing")


def test_url_needs_a_started_server() -> None:
    fake = FakePlaidServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    assert "not started" in repr(fake)


async def test_start_and_close_are_idempotent() -> None:
    fake = FakePlaidServer()
    await fake.start()
    port = fake.port
    await fake.start()
    assert fake.port == port
    assert repr(fake) == f"<FakePlaidServer http://127.0.0.1:{port}>"
    await fake.close()
    await fake.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "plaid_link_async.testing", "--latency-ms", "5"],
        [sys.executable, "-m", "plaid_link_async", "fake-server", "--client-id", "other"],
    ],
)
def test_command_line_server_prints_its_url_and_stops_on_ctrl_c(command: list[str]) -> None:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client_id = "other" if "other" in command else "test-client-id"
        request = urllib.request.Request(
            url + "/link/token/create",
            data=json.dumps(CREATE_BODY).encode(),
            headers={**GOOD_HEADERS, "PLAID-CLIENT-ID": client_id},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


async def test_a_long_running_fake_can_bound_its_memory() -> None:
    async with FakePlaidServer(max_recorded=3, max_tokens=2) as fake:
        tokens = []
        for _ in range(5):
            status, created = await _post(fake, "/link/token/create", CREATE_BODY)
            assert status == 200
            tokens.append(created["link_token"])
        assert len(fake.requests) == 3
        assert fake.link_tokens() == tokens[-2:]
        status, answer = await _post(fake, "/link/token/get", {"link_token": tokens[0]})
        _assert_plaid_error(answer, "INVALID_INPUT", "INVALID_LINK_TOKEN")
        status, _ = await _post(fake, "/link/token/get", {"link_token": tokens[-1]})
        assert status == 200


@pytest.mark.parametrize("options", [{"max_recorded": -1}, {"max_tokens": 0}])
def test_memory_bounds_must_make_sense(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        FakePlaidServer(**options)


@pytest.mark.parametrize(
    ("method", "user", "wanted"),
    [
        ("sms", {"phone_number": "+1"}, "E.164"),
        ("sms", {"phone_number": "not-a-phone"}, "E.164"),
        ("sms", {"phone_number": "4155550123"}, "E.164"),  # no country code
        ("email", {"email_address": "leslie"}, "an email address"),
        ("email", {"email_address": "leslie@localhost"}, "an email address"),
    ],
)
async def test_a_hosted_link_to_no_real_recipient_is_refused_as_plaid_refuses_it(
    fake_plaid: FakePlaidServer, method: str, user: dict[str, str], wanted: str
) -> None:
    from plaid_link_async import InvalidRequestError

    from ._helpers import CREATE, session_for

    request = attrs.evolve(
        CREATE,
        user=m.LinkTokenCreateRequestUser(client_user_id="u-1", **user),
        hosted_link=m.LinkTokenCreateHostedLink(delivery_method=method),
    )
    async with session_for(fake_plaid) as plaid:
        with pytest.raises(InvalidRequestError, match=wanted) as caught:
            await plaid.link_token_create(request)
    assert caught.value.error_code == "INVALID_FIELD"
    assert fake_plaid.sent_messages() == []  # nobody "texted"
