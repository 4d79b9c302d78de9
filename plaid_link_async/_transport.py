"""The only module that touches aiohttp: one pooled `ClientSession`, POST in, bytes out.

aiohttp's exceptions become ours here, in one table, so nothing of aiohttp's escapes
(its `ClientResponseError` would carry the request headers, and with them the secret).
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import aiohttp

from ._exceptions import PlaidTimeoutError, SessionClosedError, TransportError


class RawResponse(NamedTuple):
    """An HTTP answer, fully read."""

    status: int
    headers: Mapping[str, str]
    body: bytes


# Order matters: the first matching class wins (a ServerTimeoutError is also a
# ClientConnectionError). The last item says whether another attempt may help.
_ERROR_TABLE: tuple[tuple[type[BaseException], Callable[..., TransportError], str, bool], ...] = (
    (
        aiohttp.ConnectionTimeoutError,
        functools.partial(PlaidTimeoutError, connecting=True),
        "connect timed out",
        True,
    ),
    (asyncio.TimeoutError, PlaidTimeoutError, "timed out", True),
    (aiohttp.ServerDisconnectedError, TransportError, "server disconnected", True),
    (aiohttp.ClientConnectorError, TransportError, "could not connect", True),
    (aiohttp.ClientOSError, TransportError, "connection error", True),
    (aiohttp.ClientPayloadError, TransportError, "response body cut short", True),
    (aiohttp.ClientConnectionError, TransportError, "connection error", True),
    (aiohttp.InvalidURL, TransportError, "invalid URL", False),
    (aiohttp.ClientError, TransportError, "HTTP client error", False),
)


def map_error(error: BaseException) -> TransportError | None:
    """Our error for an aiohttp or asyncio failure, or None if it is not one of theirs."""
    for kind, ours, what, retryable in _ERROR_TABLE:
        if isinstance(error, kind):
            detail = _detail(error)
            return ours(f"{what}: {detail}" if detail else what, retryable=retryable)
    return None


def _detail(error: BaseException) -> str:
    # Type and OS message only: never an attribute that might hold request headers.
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"{error.host}:{error.port}: {error.strerror or type(error).__name__}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


class Transport:
    """POSTs bodies over one pooled `aiohttp.ClientSession`.

    The session is made lazily, inside the running loop, unless the caller passed one;
    a session passed in is never closed here.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        connector_limit: int = 100,
        trust_env: bool = False,
        trace_configs: Iterable[aiohttp.TraceConfig] | None = None,
    ) -> None:
        self._session = session
        self._owned = session is None
        self._connector_limit = connector_limit
        self._trust_env = trust_env
        self._trace_configs = list(trace_configs) if trace_configs is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session, once made (or the one passed in)."""
        return self._session

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SessionClosedError("this AsyncLinkSession is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise SessionClosedError(
                "this AsyncLinkSession belongs to another event loop; create one per loop"
            )
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(limit=self._connector_limit)
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=self._trust_env,
                trace_configs=self._trace_configs,
                # Timeouts come with each request; none on the session.
                timeout=aiohttp.ClientTimeout(total=None),
                # Plaid's API sets no cookies worth keeping; a jar costs time per request
                # and would carry state from one user's call into the next.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        elif session.closed:
            raise SessionClosedError("the aiohttp.ClientSession passed in is closed")
        return session

    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
    ) -> RawResponse:
        """POST `body` and read the whole answer; any failure is a `TransportError`."""
        client = self._client()
        try:
            async with client.post(url, data=body, headers=headers, timeout=timeout) as response:
                data = await response.read()
                return RawResponse(response.status, response.headers, data)
        except Exception as error:
            ours = map_error(error)
            if ours is None:
                raise
            raise ours from error

    async def close(self) -> None:
        """Close the session if it was made here; calls afterwards raise `SessionClosedError`."""
        self._closed = True
        if self._owned and self._session is not None and not self._session.closed:
            await self._session.close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        session = self._session
        if self._owned and session is not None and not session.closed and not self._closed:
            # aiohttp warns about its own session too; this names ours, which the user holds.
            _warn(
                "AsyncLinkSession was never closed: use `async with` or `await session.close()`",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )
