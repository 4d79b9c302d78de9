"""A bare asyncio HTTP/1.1 server on loopback whose answers are scripts: for hostile cases.

aiohttp's own server will not send a lying Content-Length, a broken status line or an
endless body; this one sends whatever its `respond` coroutine writes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

JSON_HEAD = {"Content-Type": "application/json"}


@attrs.frozen
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Respond = Callable[["Received", asyncio.StreamWriter], Awaitable[bool | None]]


class RawServer:
    """Serves on `host` (127.0.0.1 unless told), recording every request it reads.

    `respond(request, writer)` writes the answer; returning False closes the connection.
    `connections` counts accepted connections, `sent` the bytes written by `stream`.
    """

    def __init__(
        self, respond: Respond, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.respond = respond
        self.host = host
        self.tls = tls
        self.received: list[Received] = []
        self.connections = 0
        self.sent = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(method, target, headers, body)
                self.received.append(request)
                if await self.respond(request, writer) is False:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def stream(
        self, writer: asyncio.StreamWriter, chunk: bytes, limit: int, *, chunked: bool = False
    ) -> None:
        """Write `chunk` again and again, up to `limit` bytes, until the client goes away."""
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
        try:
            while self.sent < limit and not writer.is_closing():
                writer.write(frame)
                self.sent += len(chunk)
                await writer.drain()
        except ConnectionError:
            pass


def answer(
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    reason: str = "X",
) -> bytes:
    """A complete HTTP/1.1 answer with a correct Content-Length unless `headers` set one."""
    fields = {"Content-Length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode("latin-1") + b"\r\n" + body


def always(data: bytes, *, close: bool = False) -> Respond:
    """A `respond` that writes the same bytes to every request."""

    async def respond(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        await writer.drain()
        return not close

    return respond
