"""What the fake remembers of each request it received, with the secret masked."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import web

from .._wire._masks import MASK


@attrs.frozen
class RecordedRequest:
    """One request as the fake received it; the secret header is masked."""

    endpoint: str | None
    path: str
    headers: Mapping[str, str]
    body: Any
    received_at: float = 0.0
    """When it arrived, in seconds since the epoch (`time.time()`)."""


def recorded(endpoint: str | None, request: web.Request, body: Any) -> RecordedRequest:
    return RecordedRequest(
        endpoint=endpoint,
        path=request.path,
        headers={
            key: MASK if key.lower() == "plaid-secret" else value
            for key, value in request.headers.items()
        },
        body=_mask_body_secret(body),
        received_at=time.time(),
    )


def _mask_body_secret(body: Any) -> Any:
    if isinstance(body, dict) and "secret" in body:
        return {**body, "secret": MASK}
    return body
