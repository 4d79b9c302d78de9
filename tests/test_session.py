"""AsyncLinkSession against the fake server: exact requests, results, lifecycle, config."""

from __future__ import annotations

import asyncio
import datetime
import gc
import logging
import re
from typing import Any

import aiohttp
import attrs
import pytest

from plaid_link_async import (
    AsyncLinkSession,
    ConfigurationError,
    Environment,
    InvalidInputError,
    InvalidRequestError,
    PlaidTimeoutError,
    RequestValidationError,
    RetryPolicy,
    SessionClosedError,
    Timeout,
    __version__,
    to_dict,
)
from plaid_link_async import (
    models as m,
)
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, Fault

from ._helpers import CALLS_DEPRECATED, CREATE, PHONE, acquired, requests_for, session_for

TOKEN = re.compile(r"^link-sandbox-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

pytestmark = CALLS_DEPRECATED


async def test_every_endpoint_sends_the_exact_request_and_parses_the_answer(
    fake_plaid: FakePlaidServer,
) -> None:
    # Strict: every route's answer must fit the contract to the last field.
    async with session_for(fake_plaid, strict=True) as plaid:
        requests = await requests_for(plaid, fake_plaid)
        fake_plaid.requests.clear()
        results = {name: await getattr(plaid, name)(req) for name, req in requests.items()}

    paths = {
        "link_token_create": "/link/token/create",
        "link_token_get": "/link/token/get",
        "link_profile_eligibility_check": "/link/profile/eligibility/check",
        "link_oauth_correlation_id_exchange": "/link/oauth/correlation_id/exchange",
        "link_delivery_create": "/link_delivery/create",
        "link_delivery_get": "/link_delivery/get",
        "item_public_token_exchange": "/item/public_token/exchange",
        "webhook_verification_key_get": "/webhook_verification_key/get",
    }
    assert [r.endpoint for r in fake_plaid.requests] == list(requests)
    for recorded in fake_plaid.requests:
        assert recorded.path == paths[recorded.endpoint]
        assert recorded.body == to_dict(requests[recorded.endpoint])
        headers = recorded.headers
        assert headers["PLAID-CLIENT-ID"] == fake_plaid.client_id
        assert headers["PLAID-SECRET"] == "***"  # the fake masks it; it did match
        assert headers["Plaid-Version"] == "2020-09-14"
        assert headers["Accept"] == "application/json"
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith(f"plaid-link-async/{__version__} ")

    created = results["link_token_create"]
    assert isinstance(created, m.LinkTokenCreateResponse)
    assert TOKEN.match(created.link_token)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(hours=3, minutes=59) < created.expiration - now
    assert created.expiration - now <= datetime.timedelta(hours=4)

    info = results["link_token_get"]
    assert isinstance(info, m.LinkTokenGetResponse)
    assert info.metadata.initial_products == [m.Products.AUTH]
    assert info.metadata.country_codes == [m.CountryCode.US, m.CountryCode.CA]
    assert info.metadata.client_name == "Test App"
    assert info.metadata.webhook == "https://example.com/hook"
    assert info.metadata.redirect_uri == "https://example.com/oauth"
    assert info.created_at is not None
    assert info.expiration is not None
    assert info.expiration - info.created_at == datetime.timedelta(hours=4)

    assert results["link_profile_eligibility_check"].profile_matches is True
    exchanged = results["link_oauth_correlation_id_exchange"]
    assert exchanged.link_token == requests["link_token_get"].link_token
    assert all(len(result.request_id) == 15 for result in results.values())


async def test_link_sessions_attached_by_the_fake_come_back_typed(
    plaid_session: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    created = await plaid_session.link_token_create(CREATE)
    public_token = fake_plaid.add_link_session(created.link_token)
    info = await plaid_session.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
    assert info.link_sessions is not None
    (session,) = info.link_sessions
    assert session.on_success is not None
    assert session.on_success.public_token == public_token
    assert public_token.startswith("public-sandbox-")
    assert session.results is not None
    assert session.results.item_add_results is not None
    assert session.results.item_add_results[0].accounts[0].subtype == "checking"
    assert [event.event_name for event in session.events or []] == [
        "OPEN",
        "SELECT_INSTITUTION",
        "HANDOFF",
    ]
    assert public_token not in repr(info)


async def test_update_mode_tokens_expire_after_thirty_minutes(
    plaid_session: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    linked = await plaid_session.link_token_create(CREATE)
    [public] = fake_plaid.complete_link(linked.link_token).public_tokens
    item = await plaid_session.item_public_token_exchange(
        m.ItemPublicTokenExchangeRequest(public_token=public)
    )
    request = attrs.evolve(CREATE, access_token=item.access_token)
    created = await plaid_session.link_token_create(request)
    left = created.expiration - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=29) < left <= datetime.timedelta(minutes=30)


async def test_unknown_token_and_correlation_id_are_invalid_input(
    plaid_session: AsyncLinkSession,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await plaid_session.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-nope"))
    assert caught.value.error_code == "INVALID_LINK_TOKEN"
    assert caught.value.status == 400
    assert caught.value.attempts == 1
    with pytest.raises(InvalidInputError) as exchange:
        await plaid_session.link_oauth_correlation_id_exchange(
            m.LinkOAuthCorrelationIdExchangeRequest(link_correlation_id="unknown")
        )
    assert exchange.value.error_code == "INVALID_LINK_CORRELATION_ID"


async def test_profile_without_a_match_is_false(plaid_session: AsyncLinkSession) -> None:
    result = await plaid_session.link_profile_eligibility_check(
        m.LinkProfileEligibilityCheckRequest(
            link_session_id="s", user=m.LinkProfileEligibilityCheckUser(phone_number=PHONE)
        )
    )
    assert result.profile_matches is False


async def test_invalid_request_is_refused_before_anything_is_sent(
    plaid_session: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    bad = m.LinkTokenCreateRequest(
        client_name="",
        language="en",
        country_codes=[],
        user=m.LinkTokenCreateRequestUser(client_user_id="u"),
    )
    with pytest.raises(RequestValidationError) as caught:
        await plaid_session.link_token_create(bad)
    assert caught.value.paths == ("client_name", "country_codes")
    with pytest.raises(RequestValidationError, match="takes a LinkTokenGetRequest, got dict"):
        await plaid_session.link_token_get({"link_token": "x"})  # type: ignore[arg-type]
    assert fake_plaid.requests == []


async def test_unknown_enum_values_go_through_with_a_warning_and_plaid_judges_them(
    plaid_session: AsyncLinkSession,
    fake_plaid: FakePlaidServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="plaid_link_async")
    request = attrs.evolve(CREATE, products=["transactionz"])
    for _ in range(3):
        with pytest.raises(InvalidRequestError) as caught:
            await plaid_session.link_token_create(request)
    # Answered as Plaid does: the field and the allowed values, no Python parameter.
    assert caught.value.error_code == "INVALID_FIELD"
    assert caught.value.error_message is not None
    assert caught.value.error_message.startswith(
        "products[0]: 'transactionz' (did you mean 'transactions'"
    )
    assert "allow_unknown" not in caught.value.error_message
    assert len(fake_plaid.requests) == 3
    warnings = [r.getMessage() for r in caplog.records if "transactionz" in r.getMessage()]
    assert len(warnings) == 1  # once per field and value
    assert warnings[0].startswith(
        "link_token_create: products[0]='transactionz' is not a value these models know; "
        "sent as it is, for Plaid to judge; did you mean 'transactions'"
    )


async def test_extra_request_fields_are_sent_and_the_fake_rejects_unknown_ones(
    plaid_session: AsyncLinkSession, fake_plaid: FakePlaidServer
) -> None:
    request = m.LinkTokenGetRequest(link_token="link-sandbox-x", extra={"brand_new_flag": True})
    with pytest.raises(InvalidRequestError) as caught:
        await plaid_session.link_token_get(request)
    assert caught.value.error_code == "UNKNOWN_FIELDS"
    assert "brand_new_flag" in str(caught.value)
    assert fake_plaid.requests[0].body == {"link_token": "link-sandbox-x", "brand_new_flag": True}


async def test_wrong_credentials_are_invalid_api_keys(fake_plaid: FakePlaidServer) -> None:
    async with AsyncLinkSession("test-client-id", "wrong", base_url=fake_plaid.url) as plaid:
        with pytest.raises(InvalidInputError) as caught:
            await plaid.link_token_create(CREATE)
    assert caught.value.error_code == "INVALID_API_KEYS"
    assert caught.value.attempts == 1


async def test_per_call_retry_and_timeout_override_the_session(
    fake_plaid: FakePlaidServer,
) -> None:
    async with session_for(fake_plaid, retry=RetryPolicy(max_attempts=1)) as plaid:
        fake_plaid.inject("link_token_create", Fault.server_error(), Fault.server_error())
        created = await plaid.link_token_create(
            CREATE, retry=RetryPolicy(max_attempts=3, initial_delay=0.001)
        )
        assert created.link_token
        fake_plaid.inject("link_token_create", Fault.latency(1.0))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(PlaidTimeoutError, match=r"no answer within 0\.2 s"):
            await plaid.link_token_create(CREATE, timeout=0.2)
        assert loop.time() - started < 0.8
        assert acquired(plaid) == 0


async def test_close_is_idempotent_and_a_closed_session_says_so(
    fake_plaid: FakePlaidServer,
) -> None:
    plaid = session_for(fake_plaid)
    await plaid.link_token_create(CREATE)
    http = plaid.http_session
    assert http is not None
    await plaid.close()
    await plaid.close()
    assert plaid.closed
    assert http.closed
    with pytest.raises(SessionClosedError, match="closed"):
        await plaid.link_token_create(CREATE)
    assert "closed" in repr(plaid)


async def test_a_session_passed_in_is_used_and_never_closed(fake_plaid: FakePlaidServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with session_for(fake_plaid, session=http) as plaid:
            await plaid.link_token_create(CREATE)
            assert plaid.http_session is http
        assert not http.closed
        async with session_for(fake_plaid, session=http) as again:
            await again.link_token_create(CREATE)


async def test_trace_configs_reach_aiohttp(fake_plaid: FakePlaidServer) -> None:
    seen: list[str] = []

    async def on_request_start(session: Any, context: Any, params: Any) -> None:
        seen.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with session_for(fake_plaid, trace_configs=[trace]) as plaid:
        await plaid.link_token_create(CREATE)
    assert seen == [f"{fake_plaid.url}/link/token/create"]


async def test_connector_limit_bounds_the_pool(fake_plaid: FakePlaidServer) -> None:
    fake_plaid.latency = 0.05
    async with session_for(fake_plaid, connector_limit=3) as plaid:
        await asyncio.gather(*(plaid.link_token_create(CREATE) for _ in range(12)))
        http = plaid.http_session
        assert http is not None
        assert http.connector is not None
        assert http.connector.limit == 3
        assert acquired(plaid) == 0


async def test_forgetting_to_close_warns(fake_plaid: FakePlaidServer) -> None:
    plaid = session_for(fake_plaid)
    await plaid.link_token_create(CREATE)
    http = plaid.http_session
    assert http is not None
    # Both lines belong inside: `del` may free the session at once, or leave it to gc.
    with pytest.warns(ResourceWarning, match="AsyncLinkSession was never closed"):  # noqa: PT031
        del plaid
        gc.collect()
    await http.close()  # what the warning asks for, so the test itself leaks nothing


async def test_a_session_is_bound_to_one_event_loop(fake_plaid: FakePlaidServer) -> None:
    plaid = session_for(fake_plaid)
    await plaid.link_token_create(CREATE)

    def in_another_loop() -> None:
        async def call() -> None:
            await plaid.link_token_create(CREATE)

        asyncio.run(call())

    with pytest.raises(SessionClosedError, match="another event loop"):
        await asyncio.to_thread(in_another_loop)
    await plaid.close()


# -- configuration ------------------------------------------------------------------------


def test_credentials_and_environment_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAID_CLIENT_ID", "env-client")
    monkeypatch.setenv("PLAID_SECRET", "env-secret-value")
    monkeypatch.setenv("PLAID_ENV", "production")
    plaid = AsyncLinkSession()
    assert plaid.client_id == "env-client"
    assert plaid.environment is Environment.PRODUCTION
    assert plaid.base_url == "https://production.plaid.com"


def test_base_url_comes_from_plaid_base_url_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAID_BASE_URL", "http://127.0.0.1:8123/")
    assert AsyncLinkSession("id", "secret").base_url == "http://127.0.0.1:8123"
    assert AsyncLinkSession("id", "secret", base_url="https://proxy.example").base_url == (
        "https://proxy.example"
    )
    monkeypatch.setenv("PLAID_BASE_URL", "http://proxy.example")
    with pytest.raises(ConfigurationError, match="plain http"):
        AsyncLinkSession("id", "secret")


def test_missing_credentials_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAID_CLIENT_ID", raising=False)
    monkeypatch.delenv("PLAID_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match=r"client_id .*PLAID_CLIENT_ID.*secret"):
        AsyncLinkSession()
    with pytest.raises(ConfigurationError, match="secret"):
        AsyncLinkSession("id-only")


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        (Environment.SANDBOX, "https://sandbox.plaid.com"),
        ("development", "https://development.plaid.com"),
        (" Production ", "https://production.plaid.com"),
    ],
)
def test_environments_have_their_base_urls(environment: Any, url: str) -> None:
    assert AsyncLinkSession("id", "secret", environment=environment).base_url == url


def test_unknown_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="'staging'"):
        AsyncLinkSession("id", "secret", environment="staging")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost:1/", "http://[::1]:9", "https://proxy.example"],
)
def test_base_url_accepts_https_and_loopback_http(url: str) -> None:
    plaid = AsyncLinkSession("id", "secret", base_url=url)
    assert plaid.base_url == url.rstrip("/")
    assert plaid.environment is None


@pytest.mark.parametrize("url", ["http://proxy.example", "http://10.0.0.5:8080", "ftp://x", "x"])
def test_base_url_refuses_plain_http_off_the_machine(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        AsyncLinkSession("id", "secret", base_url=url)


def test_plain_http_can_be_allowed_explicitly() -> None:
    plaid = AsyncLinkSession(
        "id", "secret", base_url="http://proxy.internal", allow_insecure_http=True
    )
    assert plaid.base_url == "http://proxy.internal"


def test_timeouts_are_finite_and_checked() -> None:
    plaid = AsyncLinkSession("id", "secret")
    assert plaid.timeout == Timeout(total=60.0, attempt=20.0, connect=10.0)
    assert Timeout.of(5) == Timeout(total=5.0, attempt=5.0, connect=5.0)
    for bad in (0, -1, float("nan")):
        with pytest.raises(ConfigurationError):
            Timeout(total=bad)
    with pytest.raises(ConfigurationError):
        Timeout.of("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncLinkSession("id", "secret", retry=3)  # type: ignore[arg-type]


def test_session_is_constructed_outside_a_loop_without_touching_aiohttp() -> None:
    plaid = AsyncLinkSession("id", "secret")
    assert plaid.http_session is None  # made lazily, inside the loop of the first call
    assert not plaid.closed


async def test_fake_server_with_other_credentials() -> None:
    async with FakePlaidServer(client_id="c2", secret="s2") as fake:
        async with AsyncLinkSession("c2", "s2", base_url=fake.url) as plaid:
            assert (await plaid.link_token_create(CREATE)).link_token
        async with AsyncLinkSession("c2", DEFAULT_SECRET, base_url=fake.url) as wrong:
            with pytest.raises(InvalidInputError):
                await wrong.link_token_create(CREATE)


class _CountingLimiter:
    """A `RateLimiter` that lets every call through and counts what it was asked."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.closed = False

    async def acquire(self, operation: str) -> None:
        self.acquired.append(operation)

    async def throttled(self, operation: str, retry_after: float | None) -> None:
        pass

    async def aclose(self) -> None:
        self.closed = True


async def test_a_view_paces_with_its_own_limiter_and_never_closes_it(
    fake_plaid: FakePlaidServer,
) -> None:
    limiter = _CountingLimiter()
    async with session_for(fake_plaid) as plaid:
        view = plaid.with_options(rate_limiter=limiter)
        await view.link_token_create(CREATE)
        await plaid.link_token_create(CREATE)  # the session itself: no limiter
        assert limiter.acquired == ["link_token_create"]
        assert view.max_per_second is None
        await view.close()
    assert not limiter.closed
