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
        # A new project has CsrfViewMiddleware on: the webhook view is csrf_exempt.
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
    )
    django.setup()

from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    PlaidAPIError,
    PlaidLinkError,
    RateLimitError,
    WebhookVerificationError,
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
    # Called by your own frontend, which sends Django's CSRF token (Django's test
    # client skips the check unless asked to enforce it).
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


# Plaid's POSTs carry no CSRF token: with Django's CsrfViewMiddleware on (the default
# in a new project), a webhook view without `csrf_exempt` answers every one 403. The
# signature check below is what authenticates it.
@csrf_exempt
async def plaid_webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        # The raw body (not request.POST or a re-serialised JSON): the signature covers it.
        webhook = await plaid().verify_webhook(request.body, request.headers)
    except WebhookVerificationError as error:
        return HttpResponse(status=503 if error.retryable else 400)
    except PlaidLinkError:
        return HttpResponse(status=400)  # verified, but no webhook: Plaid need not resend
    await handle(webhook)  # keep it short: Plaid waits for the answer
    return HttpResponse(status=200)


async def handle(webhook: object) -> None:
    """Your work; hand anything slow to a queue."""


def _detail(error: PlaidLinkError) -> dict[str, str | None]:
    # The request_id is what Plaid support asks for; the secret is never in an error.
    if isinstance(error, PlaidAPIError):
        return {"error_code": error.error_code, "request_id": error.request_id}
    return {"error": type(error).__name__}


urlpatterns = [
    path("link/token", create_link_token),
    path("link/token/<str:link_token>", read_link_token),
    path("plaid/webhook", plaid_webhook),
]

application = get_asgi_application()
