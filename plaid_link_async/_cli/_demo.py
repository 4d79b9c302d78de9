"""The README's main job: every endpoint, and a retried 503, against the embedded fake."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .. import models as m
from .._calls._retry_policy import RetryPolicy
from .._session._session import AsyncLinkSession
from ..testing import DEFAULT_SECRET, FakePlaidServer, Fault


async def run_demo(say: Callable[[str], None] = print) -> None:
    """Create, read back, check eligibility, exchange an OAuth id; survive one 503."""
    retries: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            retries.append(record.getMessage())

    handler = _Collect(logging.INFO)
    logger = logging.getLogger("plaid_link_async")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with FakePlaidServer() as fake:
            say(f"fake Plaid server at {fake.url} (no credentials or network needed)")
            async with AsyncLinkSession(
                fake.client_id,
                DEFAULT_SECRET,
                base_url=fake.url,
                retry=RetryPolicy(initial_delay=0.2),
            ) as plaid:
                created = await plaid.link_token_create(
                    m.LinkTokenCreateRequest(
                        client_name="Demo App",
                        language="en",
                        country_codes=[m.CountryCode.US],
                        user=m.LinkTokenCreateRequestUser(client_user_id="user-42"),
                        products=[m.Products.AUTH, m.Products.TRANSACTIONS],
                    )
                )
                say(
                    f"1. link_token_create   -> {created.link_token}, expires "
                    f"{created.expiration:%Y-%m-%d %H:%M} UTC (request_id {created.request_id})"
                )

                fake.add_link_session(created.link_token)
                fake.inject("link_token_get", Fault.server_error(503))
                started = time.perf_counter()
                info = await plaid.link_token_get(
                    m.LinkTokenGetRequest(link_token=created.link_token)
                )
                elapsed = (time.perf_counter() - started) * 1000
                products = ", ".join(str(p) for p in info.metadata.initial_products)
                sessions = info.link_sessions or []
                say(
                    f"2. link_token_get      -> products {products}; {len(sessions)} finished "
                    f"Link session; answered in {elapsed:.0f} ms after a retried 503"
                )
                for line in retries:
                    say(f"   retry: {line}")

                texted = await plaid.link_token_create(
                    m.LinkTokenCreateRequest(
                        client_name="Demo App",
                        language="en",
                        country_codes=[m.CountryCode.US],
                        user=m.LinkTokenCreateRequestUser(
                            client_user_id="user-42", phone_number="+14155550011"
                        ),
                        products=[m.Products.AUTH],
                        hosted_link=m.LinkTokenCreateHostedLink(
                            delivery_method=m.HostedLinkDeliveryMethod.SMS
                        ),
                    )
                )
                [message] = fake.sent_messages()
                say(
                    f"3. Hosted Link by SMS  -> {message.to} texted {texted.hosted_link_url} "
                    "(sent once: a create that texts is never retried blindly)"
                )

                fake.register_correlation_id("corr-demo-1", created.link_token)
                exchanged = await plaid.link_oauth_correlation_id_exchange(
                    m.LinkOAuthCorrelationIdExchangeRequest(link_correlation_id="corr-demo-1")
                )
                same = "the same token" if exchanged.link_token == created.link_token else "?"
                say(f"4. oauth_exchange      -> {same} back ({exchanged.link_token})")
            say(f"done: {len(fake.requests)} HTTP requests, session closed, nothing leaked")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
