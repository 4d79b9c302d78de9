"""The bodies the fake answers with: JSON, Plaid's error object, and each fault."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._faults import Fault, FaultKind
from ._ids import request_id


def json_answer(status: int, data: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def error_answer(
    status: int,
    error_type: str,
    error_code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "error_type": error_type,
        "error_code": error_code,
        "error_message": message,
        "display_message": None,
        "request_id": request_id(),
        "causes": [],
        "status": status,
        "documentation_url": f"https://plaid.com/docs/errors/{error_type.lower()}/",
        "suggested_action": None,
    }
    return json_answer(status, body, headers)


async def fault_answer(
    request: web.Request, fault: Fault, closing: asyncio.Event
) -> web.StreamResponse:
    """What `fault` answers in place of Plaid; a hang lasts until `closing` is set."""
    kind = fault.kind
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if kind == FaultKind.PLAID_ERROR:
        return error_answer(
            fault.status,
            fault.error_type or "API_ERROR",
            fault.error_code or "INTERNAL_SERVER_ERROR",
            fault.error_message or "",
            headers=headers,
        )
    if kind == FaultKind.PROXY_ERROR:
        page = (
            f"<html><head><title>{fault.status} Bad Gateway</title></head>"
            f"<body><center><h1>{fault.status} Bad Gateway</h1></center></body></html>"
        )
        return web.Response(
            status=fault.status, text=page, content_type="text/html", headers=headers
        )
    if kind == FaultKind.CONNECTION_RESET:
        reset(request)
        raise asyncio.CancelledError  # nothing may be written on a reset connection
    if kind == FaultKind.HANG:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closing.wait(), fault.seconds)
        return error_answer(503, "API_ERROR", "INTERNAL_SERVER_ERROR", "hung on purpose")
    if kind == FaultKind.MALFORMED_JSON:
        return web.Response(
            status=fault.status,
            body=b'{"link_token": "link-sandbox-',
            content_type="application/json",
        )
    if kind == FaultKind.EMPTY_BODY:
        return web.Response(status=fault.status, body=b"", content_type="application/json")
    assert kind == FaultKind.WRONG_SHAPE
    return json_answer(200, {"unexpected": True, "request_id": request_id()})


def reset(request: web.Request) -> None:
    """Abort the connection with a TCP RST (linger 0), as a crashed peer would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
