"""Requests valid for every endpoint, and pool inspection, shared by the session tests."""

from __future__ import annotations

import os
import pickle
from typing import Any

import aiohttp

from plaid_link_async import AsyncLinkSession, PlaidLinkError, RetryPolicy, Timeout
from plaid_link_async import models as m
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer

#: Retries fast enough for tests, with the default number of attempts.
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_retry_after=0.05)

CREATE = m.LinkTokenCreateRequest(
    client_name="Test App",
    language="en",
    country_codes=[m.CountryCode.US, m.CountryCode.CA],
    user=m.LinkTokenCreateRequestUser(client_user_id="user-1", phone_number="+14155550011"),
    products=[m.Products.AUTH],
    webhook="https://example.com/hook",
    redirect_uri="https://example.com/oauth",
)
PHONE = "+14155550011"
CORRELATION_ID = "corr-123"


def session_for(fake: FakePlaidServer, **options: Any) -> AsyncLinkSession:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeout", Timeout(total=10, attempt=5, connect=2))
    return AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url, **options)


async def requests_for(plaid: AsyncLinkSession, fake: FakePlaidServer) -> dict[str, Any]:
    """A valid request per endpoint; the token and correlation id exist on `fake`."""
    created = await plaid.link_token_create(CREATE)
    fake.register_correlation_id(CORRELATION_ID, created.link_token)
    fake.eligible_phone_numbers.add(PHONE)
    return {
        "link_token_create": CREATE,
        "link_token_get": m.LinkTokenGetRequest(link_token=created.link_token),
        "link_profile_eligibility_check": m.LinkProfileEligibilityCheckRequest(
            link_session_id="session-1", user=m.LinkProfileEligibilityCheckUser(phone_number=PHONE)
        ),
        "link_oauth_correlation_id_exchange": m.LinkOAuthCorrelationIdExchangeRequest(
            link_correlation_id=CORRELATION_ID
        ),
    }


def acquired(plaid: AsyncLinkSession) -> int:
    """Connections taken from the pool and not given back."""
    http = plaid.http_session
    assert http is not None
    connector = http.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired)


def plaid_variables(fake: FakePlaidServer) -> dict[str, str]:
    """The PLAID_* variables that point an app built with `AsyncLinkSession()` at `fake`."""
    return {
        "PLAID_CLIENT_ID": fake.client_id,
        "PLAID_SECRET": DEFAULT_SECRET,
        "PLAID_BASE_URL": fake.url,
    }


def program_env(fake: FakePlaidServer, **extra: str) -> dict[str, str]:
    """This process's environment for a program run against `fake`, as a user would run it."""
    env = {**os.environ, **plaid_variables(fake), **extra}
    env.pop("PLAID_ENV", None)  # a base URL is given; the environment stays unnamed
    return env


def error_chain(error: BaseException | None) -> list[BaseException]:
    """`error` and every exception behind it, through `__cause__` and `__context__`."""
    seen: list[BaseException] = []
    pending = [error]
    while pending:
        link = pending.pop()
        if link is None or any(link is known for known in seen):
            continue
        seen.append(link)
        pending += [link.__cause__, link.__context__]
    return seen


def error_texts(error: BaseException) -> list[str]:
    """Everything a logger, an error tracker or a pickle could show of `error`'s chain."""
    texts = []
    for link in error_chain(error):
        texts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        texts += [repr(value) for value in vars(link).values()]
        if isinstance(link, PlaidLinkError):
            texts.append(repr(vars(pickle.loads(pickle.dumps(link)))))
    return texts
