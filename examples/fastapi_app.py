"""A FastAPI app that hands out link tokens: one session for the app, injected per request.

    pip install plaid-link-async fastapi uvicorn
    PLAID_CLIENT_ID=... PLAID_SECRET=... uvicorn examples.fastapi_app:app

The session is created in the lifespan, so every request shares one connection pool,
and closed when the app stops. `current_user` stands in for your authentication.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    PlaidAPIError,
    PlaidLinkError,
    RateLimitError,
)
from plaid_link_async import models as m


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Credentials and environment from PLAID_CLIENT_ID, PLAID_SECRET and PLAID_ENV.
    async with AsyncLinkSession() as plaid:
        app.state.plaid = plaid
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
