"""A Django app whose async views hand out and read link tokens.

    pip install plaid-link-async django uvicorn
    PLAID_CLIENT_ID=... PLAID_SECRET=... uvicorn examples.django_app:application

One file for brevity; in a project the settings, URLs and views live where Django puts
them. Django has no lifespan hook, and a session's connection pool belongs to one event
loop, so `plaid()` makes the session on first use, one per running loop (an ASGI server
runs one; a test runs one per test), and `close_plaid()` closes it: call it from your
server's shutdown and from a test fixture. Use Django's `AsyncClient` in tests: the
sync `Client` runs each async view in a new event loop.
"""

from __future__ import annotations

import asyncio
import os
import weakref

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret"),
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )
    django.setup()

from django.core.asgi import get_asgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    PlaidAPIError,
    PlaidLinkError,
    RateLimitError,
)
from plaid_link_async import models as m

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLinkSession] = (
    weakref.WeakKeyDictionary()
)


def plaid() -> AsyncLinkSession:
    """The running loop's session, made on first use from PLAID_* variables."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = _sessions[loop] = AsyncLinkSession()
    return session


async def close_plaid() -> None:
    """Close the running loop's session, if one was made."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.aclose()


async def create_link_token(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"detail": "use POST"}, status=405)
    user_id = request.headers.get("X-User-Id")  # stands in for your authentication
    if not user_id:
        return JsonResponse({"detail": "X-User-Id header required"}, status=422)
    try:
        created = await plaid().link_token_create(
            m.LinkTokenCreateRequest(
                client_name="My App",
                language="en",
                country_codes=[m.CountryCode.US],
                user=m.LinkTokenCreateRequestUser(client_user_id=user_id),
                products=[m.Products.AUTH],
            )
        )
    except RateLimitError as error:
        # Still rate limited after the retries: tell the browser to come back later.
        return JsonResponse({"detail": f"busy (request_id {error.request_id})"}, status=503)
    except PlaidLinkError as error:
        return JsonResponse({"detail": _detail(error)}, status=502)
    return JsonResponse(
        {"link_token": created.link_token, "expiration": created.expiration.isoformat()}
    )


async def read_link_token(request: HttpRequest, link_token: str) -> JsonResponse:
    try:
        info = await plaid().link_token_get(m.LinkTokenGetRequest(link_token=link_token))
    except InvalidInputError as error:
        if error.error_code == "INVALID_LINK_TOKEN":
            return JsonResponse({"detail": "unknown or expired link token"}, status=404)
        return JsonResponse({"detail": _detail(error)}, status=502)
    except PlaidLinkError as error:
        return JsonResponse({"detail": _detail(error)}, status=502)
    return JsonResponse(
        {
            "link_token": info.link_token,
            "products": [str(product) for product in info.metadata.initial_products],
        }
    )


def _detail(error: PlaidLinkError) -> dict[str, str | None]:
    # The request_id is what Plaid support asks for; the secret is never in an error.
    if isinstance(error, PlaidAPIError):
        return {"error_code": error.error_code, "request_id": error.request_id}
    return {"error": type(error).__name__}


urlpatterns = [
    path("link/token", create_link_token),
    path("link/token/<str:link_token>", read_link_token),
]

application = get_asgi_application()
