"""An aiohttp.web app that hands out link tokens, with the session in a `cleanup_ctx`.

    pip install plaid-link-async
    PLAID_CLIENT_ID=... PLAID_SECRET=... python examples/aiohttp_app.py

The session opens when the app starts and closes when it stops: one connection pool
for every request. The `X-User-Id` header stands in for your authentication.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from plaid_link_async import AsyncLinkSession, InvalidInputError, PlaidLinkError
from plaid_link_async import models as m

PLAID = web.AppKey("plaid", AsyncLinkSession)

routes = web.RouteTableDef()


async def plaid_session(app: web.Application) -> AsyncIterator[None]:
    async with AsyncLinkSession() as plaid:
        app[PLAID] = plaid
        yield


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
