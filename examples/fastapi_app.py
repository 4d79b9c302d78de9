"""A FastAPI app that hands out link tokens and receives Plaid's Link webhooks.

    pip install 'plaid-link-async[webhooks]' fastapi uvicorn
    PLAID_CLIENT_ID=... PLAID_SECRET=... APP_WEBHOOK_URL=https://you/plaid/webhook \
        uvicorn examples.fastapi_app:app

The session is created in the lifespan, so every request shares one connection pool,
and closed when the app stops. `current_user` stands in for your authentication. The
webhook endpoint verifies each webhook, answers at once, deduplicates `EVENTS`, and
exchanges the public tokens of `ITEM_ADD_RESULT` and `SESSION_FINISHED` for access
tokens.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Header, HTTPException, Request, Response

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    PlaidAPIError,
    PlaidLinkError,
    RateLimitError,
    WebhookVerificationError,
)
from plaid_link_async import models as m


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Credentials and environment from PLAID_CLIENT_ID, PLAID_SECRET and PLAID_ENV.
    async with AsyncLinkSession() as plaid:
        app.state.plaid = plaid
        app.state.items = {}  # item_id -> access_token
        app.state.exchanged = set()  # public tokens already exchanged
        app.state.seen_events = set()  # (link_session_id, event_id)
        app.state.events = []
        yield


app = FastAPI(lifespan=lifespan)


def get_plaid(request: Request) -> AsyncLinkSession:
    plaid: AsyncLinkSession = request.app.state.plaid
    return plaid


def current_user(x_user_id: Annotated[str, Header()]) -> str:
    return x_user_id


Plaid = Annotated[AsyncLinkSession, Depends(get_plaid)]
User = Annotated[str, Depends(current_user)]


@app.post("/link/token")
async def create_link_token(user_id: User, plaid: Plaid) -> dict[str, Any]:
    try:
        created = await plaid.link_token_create(
            m.LinkTokenCreateRequest(
                client_name="My App",
                language="en",
                country_codes=[m.CountryCode.US],
                user=m.LinkTokenCreateRequestUser(client_user_id=user_id),
                products=[m.Products.AUTH],
                webhook=os.environ.get("APP_WEBHOOK_URL"),
            )
        )
    except RateLimitError as error:
        # Still rate limited after the retries: tell the browser to come back later.
        raise HTTPException(503, f"busy, try again (request_id {error.request_id})") from None
    except PlaidLinkError as error:
        raise HTTPException(502, _detail(error)) from None
    return {"link_token": created.link_token, "expiration": created.expiration.isoformat()}


@app.get("/link/token/{link_token}")
async def read_link_token(link_token: str, plaid: Plaid) -> dict[str, Any]:
    try:
        info = await plaid.link_token_get(m.LinkTokenGetRequest(link_token=link_token))
    except InvalidInputError as error:
        if error.error_code == "INVALID_LINK_TOKEN":
            raise HTTPException(404, "unknown or expired link token") from None
        raise HTTPException(502, _detail(error)) from None
    except PlaidLinkError as error:
        raise HTTPException(502, _detail(error)) from None
    return {
        "link_token": info.link_token,
        "expiration": info.expiration.isoformat() if info.expiration else None,
        "products": [str(product) for product in info.metadata.initial_products],
        "finished_sessions": len(info.link_sessions or []),
    }


def _detail(error: PlaidLinkError) -> dict[str, Any]:
    # The request_id is what Plaid support asks for; the secret is never in an error.
    if isinstance(error, PlaidAPIError):
        return {"error_code": error.error_code, "request_id": error.request_id}
    return {"error": type(error).__name__}


# -- webhooks ---------------------------------------------------------------------------
# Verified, answered 200 at once, then handled in the background: Plaid wants an answer
# within 10 s and retries anything else for a day. `app.state` stands in for a database.


@app.post("/plaid/webhook")
async def plaid_webhook(request: Request, background: BackgroundTasks, plaid: Plaid) -> Response:
    try:
        # The raw body: the signature covers the bytes as sent, not re-encoded JSON.
        webhook = await plaid.verify_webhook(await request.body(), request.headers)
    except WebhookVerificationError as error:
        # `retryable`: the fault is ours (a key not fetched, our credentials refused), and
        # a 5xx makes Plaid deliver it again; anything else is no webhook of Plaid's.
        status = 503 if error.retryable else 400
        return Response(status_code=status)
    background.add_task(handle_webhook, request.app, plaid, webhook)
    return Response(status_code=200)


async def handle_webhook(app: FastAPI, plaid: AsyncLinkSession, webhook: object) -> None:
    if isinstance(webhook, m.LinkEventsWebhook):
        # Sent again when the user comes back: keep each event once.
        for event in webhook.events or []:
            key = (webhook.link_session_id, event.event_id)
            if key not in app.state.seen_events:
                app.state.seen_events.add(key)
                app.state.events.append(event.event_name)
    elif isinstance(webhook, m.ItemAddResultWebhook):
        await exchange(app, plaid, [webhook.public_token])
    elif isinstance(webhook, m.LinkSessionFinishedWebhook):
        await exchange(app, plaid, webhook.public_tokens or [])


async def exchange(app: FastAPI, plaid: AsyncLinkSession, public_tokens: list[str]) -> None:
    # ITEM_ADD_RESULT and SESSION_FINISHED carry the same tokens: exchange each once.
    for token in public_tokens:
        if token in app.state.exchanged:
            continue
        app.state.exchanged.add(token)
        item = await plaid.item_public_token_exchange(
            m.ItemPublicTokenExchangeRequest(public_token=token)
        )
        app.state.items[item.item_id] = item.access_token  # encrypt it in a real database


@app.get("/items")
async def list_items(request: Request) -> dict[str, Any]:
    return {"item_ids": sorted(request.app.state.items), "events": request.app.state.events}
