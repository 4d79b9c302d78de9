"""One fake, every test style: in the test's loop, in a thread, in a child process.

The thread and process fakes are driven over the fake's control API, with the same
methods as the in-loop fake; the sync test below is the one FastAPI users write.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.error
import urllib.request
from types import ModuleType
from typing import Any

import pytest

from plaid_link_async import AsyncLinkSession, InvalidInputError
from plaid_link_async import models as m
from plaid_link_async.testing import (
    DEFAULT_CLIENT_ID,
    DEFAULT_SECRET,
    FakePlaidProcess,
    FakePlaidThread,
    Fault,
)

from ._helpers import plaid_variables
from .conftest import ROOT

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

pytest_plugins = ["pytester"]

CREATE = m.LinkTokenCreateRequest(
    client_name="App", language="en", country_codes=["US"], user_id="usr_1"
)


def _fastapi_example() -> ModuleType:
    path = ROOT / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("styles_fastapi_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fastapi_testclient_with_the_thread_fake_and_faults(
    fake_plaid_thread: FakePlaidThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    testclient = pytest.importorskip("fastapi.testclient")
    for name, value in plaid_variables(fake_plaid_thread).items():  # type: ignore[arg-type]
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PLAID_ENV", raising=False)
    monkeypatch.setenv("PLAID_TIMEOUT", "1")  # a hang fails in a second, not twenty
    app = _fastapi_example().app
    with testclient.TestClient(app) as client:  # the lifespan runs, in TestClient's loop
        created = client.post("/link/token", headers={"X-User-Id": "user-1"})
        assert created.status_code == 200, created.text

        fake_plaid_thread.inject("link_token_create", *[Fault.rate_limit(retry_after=0)] * 3)
        assert client.post("/link/token", headers={"X-User-Id": "u"}).status_code == 503

        fake_plaid_thread.inject("link_token_create", *[Fault.server_error()] * 3)
        exhausted = client.post("/link/token", headers={"X-User-Id": "u"})
        assert exhausted.status_code == 502
        assert exhausted.json()["detail"]["error_code"] == "INTERNAL_SERVER_ERROR"

        fake_plaid_thread.inject("link_token_create", Fault.hang(5))
        hung = client.post("/link/token", headers={"X-User-Id": "u"})
        assert hung.status_code == 502
        assert hung.json()["detail"] == {"error": "PlaidTimeoutError"}
    endpoints = [r.endpoint for r in fake_plaid_thread.requests]
    assert endpoints.count("link_token_create") == 1 + 3 + 3 + 1


async def test_the_process_fake_is_driven_over_its_control_api(
    fake_plaid_process: FakePlaidProcess,
) -> None:
    fake = fake_plaid_process
    async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
        created = await plaid.link_token_create(CREATE)
        completion = fake.complete_link(created.link_token, items=2)
        assert len(completion.public_tokens) == 2
        item = await plaid.item_public_token_exchange(
            m.ItemPublicTokenExchangeRequest(public_token=completion.public_tokens[0])
        )
        assert item.access_token.startswith("access-sandbox-")
        fake.inject("link_token_get", Fault.plaid_error(400, "INVALID_INPUT", "INVALID_LINK_TOKEN"))
        with pytest.raises(InvalidInputError):
            await plaid.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
    assert [r.endpoint for r in fake.requests] == [
        "link_token_create",
        "item_public_token_exchange",
        "link_token_get",
    ]
    assert fake.requests[0].headers["PLAID-SECRET"] == "***"
    signed = fake.sign_webhook({"webhook_type": "LINK", "webhook_code": "EVENTS"})
    assert "Plaid-Verification" in signed.headers
    fake.reset()
    assert fake.requests == []
    with pytest.raises(ValueError, match="unknown endpoint"):
        fake.inject("no_such_endpoint", Fault.server_error())


def _post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A bare JSON POST with the standard library, as a test in any language would do."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data, {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_documented_control_api_drives_the_command_line_fake_over_bare_http() -> None:
    # `plaid-link fake-server` in a child process, as stripe-mock is run for tests
    # in other languages: nothing of this package's client is used below.
    process = subprocess.Popen(
        [sys.executable, "-m", "plaid_link_async.testing", "--max-recorded", "100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        plaid = {
            "PLAID-CLIENT-ID": DEFAULT_CLIENT_ID,
            "PLAID-SECRET": DEFAULT_SECRET,
            "Plaid-Version": "2020-09-14",
        }
        create = {"client_name": "App", "language": "en", "country_codes": ["US"], "user_id": "u"}
        # The fault body exactly as docs/testing.md shows it.
        rate_limit = {
            "kind": "plaid_error",
            "status": 429,
            "error_type": "RATE_LIMIT_EXCEEDED",
            "error_code": "RATE_LIMIT",
            "retry_after": "0",
        }
        queued = _post(
            f"{url}/_fake/faults", {"endpoint": "link_token_create", "faults": [rate_limit]}
        )
        assert queued == (200, {"queued": 1})
        status, body = _post(f"{url}/link/token/create", create, plaid)
        assert (status, body["error_code"]) == (429, "RATE_LIMIT")
        status, body = _post(f"{url}/link/token/create", create, plaid)
        assert status == 200
        status, completion = _post(
            f"{url}/_fake/complete_link", {"link_token": body["link_token"], "items": 2}
        )
        assert status == 200
        assert len(completion["public_tokens"]) == 2
        status, item = _post(
            f"{url}/item/public_token/exchange",
            {"public_token": completion["public_tokens"][0]},
            plaid,
        )
        assert (status, item["access_token"][:15]) == (200, "access-sandbox-")
        recorded = _get(f"{url}/_fake/requests")
        assert [r["endpoint"] for r in recorded] == [
            "link_token_create",
            "link_token_create",
            "item_public_token_exchange",
        ]
        headers = {name.lower(): value for name, value in recorded[0]["headers"].items()}
        assert headers["plaid-secret"] == "***"
        status, signed = _post(f"{url}/_fake/sign_webhook", {"payload": {"webhook_type": "LINK"}})
        assert status == 200
        assert "Plaid-Verification" in signed["headers"]
        assert _get(f"{url}/_fake/webhook_deliveries") == []  # tokens made without a webhook
        assert _post(f"{url}/_fake/reset", {}) == (200, {"reset": True})
        assert _get(f"{url}/_fake/requests") == []
        status, refused = _post(f"{url}/_fake/faults", {"endpoint": "nope", "faults": []})
        assert status == 400
        assert "unknown endpoint" in refused["error"]
        status, refused = _post(f"{url}/_fake/no_such_control", {})
        assert status == 404
        assert "no control POST /_fake/no_such_control" in refused["error"]
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


STYLE_TEST = """
import pytest

from plaid_link_async import AsyncLinkSession, PlaidTimeoutError
from plaid_link_async import models as m
from plaid_link_async.testing import DEFAULT_SECRET, Fault

REQUEST = m.LinkTokenCreateRequest(
    client_name="App", language="en", country_codes=["US"], user_id="usr_1"
)

{marker}
async def test_thread_fake(fake_plaid_thread):
    fake_plaid_thread.inject("link_token_create", Fault.server_error(503))
    async with AsyncLinkSession(
        fake_plaid_thread.client_id, DEFAULT_SECRET, base_url=fake_plaid_thread.url
    ) as plaid:
        created = await plaid.link_token_create(REQUEST)
    assert created.link_token.startswith("link-sandbox-")
    assert len(fake_plaid_thread.requests) == 2


{marker}
async def test_process_fake(fake_plaid_process):
    async with AsyncLinkSession(
        fake_plaid_process.client_id, DEFAULT_SECRET, base_url=fake_plaid_process.url
    ) as plaid:
        await plaid.link_token_create(REQUEST)
    assert len(fake_plaid_process.requests) == 1


{marker}
async def test_in_loop_fake(fake_plaid, plaid_session):
    fake_plaid.inject("link_token_create", Fault.server_error(503))
    created = await plaid_session.link_token_create(REQUEST)
    assert created.link_token.startswith("link-sandbox-")
    assert len(fake_plaid.requests) == 2


{marker}
async def test_in_loop_factory(fake_plaid, plaid_session_factory):
    plaid = plaid_session_factory(strict=True, timeout=0.5)
    fake_plaid.inject("link_token_create", Fault.hang(5))
    with pytest.raises(PlaidTimeoutError):
        await plaid.link_token_create(REQUEST)


def test_sync_thread_fake(fake_plaid_thread):
    fake_plaid_thread.reset()
    assert fake_plaid_thread.requests == []
"""


@pytest.mark.parametrize(
    ("plugins", "marker"),
    [
        ("asyncio", "@pytest.mark.asyncio"),
        ("anyio", "@pytest.mark.anyio"),
        # The `testing` extra installs pytest-asyncio; anyio tests must work beside it.
        ("anyio+asyncio", "@pytest.mark.anyio"),
    ],
)
def test_every_fixture_works_under_each_async_plugin(
    pytester: pytest.Pytester, plugins: str, marker: str
) -> None:
    pytester.makepyfile(test_style=STYLE_TEST.format(marker=marker))
    if "anyio" in plugins:
        pytester.makeconftest(ANYIO_CONFTEST)
    if "asyncio" in plugins.split("+"):
        pytester.makeini(ASYNCIO_INI)
    options = [] if "asyncio" in plugins.split("+") else ["-p", "no:asyncio"]
    result = pytester.runpytest_subprocess("-W", "error", "-q", *options)
    result.assert_outcomes(passed=5)


ANYIO_CONFTEST = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
ASYNCIO_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("child processes and signals differ on Windows", allow_module_level=True)
