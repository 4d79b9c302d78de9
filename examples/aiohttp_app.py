"""An aiohttp.web app that hands out link tokens and receives Plaid's Link webhooks.

    pip install 'plaid-link-async[webhooks]'
    PLAID_CLIENT_ID=... PLAID_SECRET=... APP_WEBHOOK_URL=https://you/plaid/webhook \
        python examples/aiohttp_app.py

The session opens when the app starts and closes when it stops: one connection pool
for every request. The `X-User-Id` header stands in for your authentication. The
webhook endpoint verifies each webhook on the raw body, answers at once, deduplicates
`EVENTS`, and exchanges the public tokens it carries, once each, in the background.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    PlaidLinkError,
    WebhookVerificationError,
)
from plaid_link_async import models as m

PLAID = web.AppKey("plaid", AsyncLinkSession)
#: What a real app keeps in its database: item_id -> access_token, and what was seen.
STORE = web.AppKey("store", dict)
TASKS = web.AppKey("tasks", set)

routes = web.RouteTableDef()


async def plaid_session(app: web.Application) -> AsyncIterator[None]:
    async with AsyncLinkSession() as plaid:
        app[PLAID] = plaid
        app[STORE] = {"items": {}, "exchanged": set(), "seen_events": set(), "events": []}
        app[TASKS] = set()
        yield
        # Let webhook work in flight finish before the session closes.
        await asyncio.gather(*app[TASKS], return_exceptions=True)


@routes.post("/link/token")
async def create_link_token(request: web.Request) -> web.Response:
    user_id = request.headers.get("X-User-Id")
    if not user_id:
        raise web.HTTPUnauthorized()
    try:
        created = await request.app[PLAID].link_token_create(
            m.LinkTokenCreateRequest(
                client_name="My App",
                language="en",
                country_codes=[m.CountryCode.US],
                user=m.LinkTokenCreateRequestUser(client_user_id=user_id),
                products=[m.Products.AUTH],
                webhook=os.environ.get("APP_WEBHOOK_URL"),
            )
        )
    except PlaidLinkError as error:
        return _error(502, error)
    return web.json_response(
        {"link_token": created.link_token, "expiration": created.expiration.isoformat()}
    )


@routes.get("/link/token/{link_token}")
async def read_link_token(request: web.Request) -> web.Response:
    link_token = request.match_info["link_token"]
    try:
        info = await request.app[PLAID].link_token_get(m.LinkTokenGetRequest(link_token=link_token))
    except InvalidInputError as error:
        return _error(404 if error.error_code == "INVALID_LINK_TOKEN" else 502, error)
    except PlaidLinkError as error:
        return _error(502, error)
    return web.json_response(
        {
            "link_token": info.link_token,
            "products": [str(product) for product in info.metadata.initial_products],
            "finished_sessions": len(info.link_sessions or []),
        }
    )


@routes.post("/plaid/webhook")
async def plaid_webhook(request: web.Request) -> web.Response:
    plaid = request.app[PLAID]
    try:
        # The raw body: the signature covers the bytes as sent.
        webhook = await plaid.verify_webhook(await request.read(), request.headers)
    except WebhookVerificationError as error:
        status = 503 if error.retryable else 400  # our fault: Plaid delivers it again
        return web.Response(status=status)
    # Answer at once (Plaid waits 10 s at most); the work goes on in a task we keep.
    task = asyncio.create_task(handle_webhook(request.app, webhook))
    request.app[TASKS].add(task)
    task.add_done_callback(request.app[TASKS].discard)
    return web.Response(status=200)


async def handle_webhook(app: web.Application, webhook: object) -> None:
    store, plaid = app[STORE], app[PLAID]
    if isinstance(webhook, m.LinkEventsWebhook):
        for event in webhook.events or []:  # sent again if the user comes back
            key = (webhook.link_session_id, event.event_id)
            if key not in store["seen_events"]:
                store["seen_events"].add(key)
                store["events"].append(event.event_name)
        return
    if isinstance(webhook, m.ItemAddResultWebhook):
        tokens = [webhook.public_token]
    elif isinstance(webhook, m.LinkSessionFinishedWebhook):
        tokens = webhook.public_tokens or []
    else:
        return
    for token in tokens:  # both webhooks carry the same tokens: exchange each once
        if token in store["exchanged"]:
            continue
        store["exchanged"].add(token)
        item = await plaid.item_public_token_exchange(
            m.ItemPublicTokenExchangeRequest(public_token=token)
        )
        store["items"][item.item_id] = item.access_token  # encrypted, in a real database


@routes.get("/items")
async def list_items(request: web.Request) -> web.Response:
    store: dict[str, Any] = request.app[STORE]
    return web.json_response({"item_ids": sorted(store["items"]), "events": store["events"]})


def _error(status: int, error: PlaidLinkError) -> web.Response:
    body = {"error": type(error).__name__, "request_id": getattr(error, "request_id", None)}
    return web.json_response(body, status=status)


def make_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(plaid_session)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8000)
