"""`AiohttpTransport`, the default transport and the only module that touches aiohttp:
one pooled `ClientSession`, a `TransportRequest` in, a `TransportResponse` out.

Three promises are kept here, because only here are they cheap to keep:
- nothing is sent anywhere but the URL asked for: redirects are never followed;
- no answer costs more memory than `max_bytes`: the declared length is checked before
  reading, the body is read in chunks and decompressed here, both counted;
- nothing of aiohttp's escapes: its exceptions become ours through one table, raised
  outside the `except` block so that neither `__cause__` nor `__context__` holds one
  (aiohttp's exceptions carry `request_info.headers`, and with them the secret).
"""

from __future__ import annotations

import asyncio
import functools
import math
import warnings
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from .._errors._exceptions import (
    PlaidTimeoutError,
    SessionClosedError,
    TransportError,
    UnexpectedResponseError,
)
from ._seam import TransportRequest, TransportResponse

#: What the transport can decompress itself, and so the only encodings it asks for.
ACCEPT_ENCODING: Final = "gzip, deflate"
# At most this much decompressed output per zlib call: a bomb is noticed after one
# step past the limit, and no single step holds the event loop long.
_INFLATE_STEP: Final = 1 << 18
_READ_CHUNK: Final = 1 << 16


# Order matters: the first matching class wins (a ServerTimeoutError is also a
# ClientConnectionError). Then: whether another attempt may help, and whether the request
# may have reached the server. Only a failure to connect proves it did not: from the
# first byte written on, the server may have read enough to act.
_ERROR_TABLE: tuple[
    tuple[type[BaseException], Callable[..., TransportError], str, bool, bool], ...
] = (
    (
        aiohttp.ConnectionTimeoutError,
        functools.partial(PlaidTimeoutError, connecting=True),
        "connect timed out",
        True,
        False,
    ),
    (asyncio.TimeoutError, PlaidTimeoutError, "timed out", True, True),
    (aiohttp.ServerDisconnectedError, TransportError, "server disconnected", True, True),
    (aiohttp.ClientConnectorError, TransportError, "could not connect", True, False),
    (aiohttp.ClientOSError, TransportError, "connection error", True, True),
    (aiohttp.ClientPayloadError, TransportError, "response body cut short", True, True),
    (aiohttp.ClientResponseError, TransportError, "malformed HTTP answer", True, True),
    (aiohttp.ClientConnectionError, TransportError, "connection error", True, True),
    (aiohttp.InvalidURL, TransportError, "invalid URL", False, False),
    (aiohttp.ClientError, TransportError, "HTTP client error", False, True),
    # Anything else aiohttp or the OS raises (a header it cannot encode, a TLS failure
    # outside its own classes) is still ours, never a bare ValueError with a chain.
    (Exception, TransportError, "unexpected HTTP client failure", False, True),
)


def map_error(error: BaseException) -> TransportError:
    """Our error for an aiohttp, asyncio or OS failure, keeping only its type and OS text."""
    for kind, ours, what, retryable, sent in _ERROR_TABLE:
        if isinstance(error, kind):
            detail = _detail(error)
            text = f"{what}: {detail}" if detail else what
            return ours(text, retryable=retryable, sent=sent)
    raise AssertionError("unreachable: the table ends with Exception")  # pragma: no cover


def _detail(error: BaseException) -> str:
    # Type and OS message only: never an attribute that might hold request headers.
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"{error.host}:{error.port}: {error.strerror or type(error).__name__}"
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__


def describe_location(location: str | None) -> str:
    """A redirect target as scheme and host only: its path and query may hold tokens."""
    if not location:
        return "no Location"
    try:
        parts = urlsplit(location)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "an unparsable Location"
    if not host:
        return "a relative Location"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme or '?'}://{netloc}"


def too_large(limit: int, status: int, declared: int | None = None) -> UnexpectedResponseError:
    what = f"declares {declared:,} bytes" if declared is not None else "is larger"
    return UnexpectedResponseError(
        f"the response body {what}, over the limit of {limit:,} bytes "
        "(raise AsyncLinkSession(max_response_bytes=...) if Plaid's answers grew)",
        status=status,
        retryable=False,
    )


class AiohttpTransport:
    """Sends requests over one pooled `aiohttp.ClientSession`: the default transport.

    The aiohttp session is made lazily, inside the running loop, unless the caller
    passed one; a session passed in is never closed here. Answers are read up to
    `max_bytes`, after decompression.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        session: aiohttp.ClientSession | None = None,
        connector_limit: int = 100,
        trust_env: bool = False,
        trace_configs: Iterable[aiohttp.TraceConfig] | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._session = session
        self._owned = session is None
        self._connector_limit = connector_limit
        self._trust_env = trust_env
        self._trace_configs = list(trace_configs) if trace_configs is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AiohttpTransport max_bytes={self.max_bytes} {state}>"

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

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send `request` and read the whole answer, at most `max_bytes` of it.

        Raises:
            TransportError: no complete answer (`PlaidTimeoutError` when out of time).
            UnexpectedResponseError: a redirect, or a body over the limit.
        """
        client = self._client()
        failure: TransportError
        try:
            # Per request, not per session: a session passed in keeps its own defaults
            # for the caller's other requests.
            async with client.request(
                request.method,
                request.url,
                data=request.body,
                headers={**request.headers, "Accept-Encoding": ACCEPT_ENCODING},
                timeout=timeout_for(request.timeout, request.connect),
                allow_redirects=False,
                auto_decompress=False,
                raise_for_status=False,
            ) as response:
                status = response.status
                if 300 <= status < 400:
                    response.close()  # never read, never reused
                    raise UnexpectedResponseError(
                        f"redirect refused: HTTP {status} to "
                        f"{describe_location(response.headers.get('Location'))}; the "
                        "credentials are never sent anywhere but base_url",
                        status=status,
                        retryable=False,
                    )
                data = await _read(response, self.max_bytes)
                return TransportResponse(status, response.headers, data)
        except (UnexpectedResponseError, SessionClosedError):
            raise
        except Exception as error:
            failure = map_error(error)
        try:
            raise failure  # outside `except`: the aiohttp error is not our __context__
        finally:
            del failure  # no cycle through this frame (see _converter.from_dict)

    async def aclose(self) -> None:
        """Close the session if it was made here; calls afterwards raise `SessionClosedError`.

        Its connections belong to the loop that opened them, so from another loop the
        closing runs there: at once if that loop is running (in another thread), in a
        worker thread if it is idle. A loop already closed took its event machinery
        with it: then a `ResourceWarning` says the connections could not be closed.
        """
        self._closed = True
        session = self._session
        if not self._owned or session is None or session.closed:
            return
        home = self._loop
        if home is None or home is asyncio.get_running_loop():
            await session.close()
        elif home.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(session.close(), home))
        elif not home.is_closed():
            await asyncio.to_thread(home.run_until_complete, session.close())
        else:
            warnings.warn(
                "AsyncLinkSession closed from another event loop after its own loop was "
                "closed: its pooled connections could not be closed cleanly. Close it "
                "in the loop that used it (before asyncio.run returns)",
                ResourceWarning,
                stacklevel=3,
            )

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


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, decompressed, or an error as soon as it passes `limit` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        response.close()
        raise too_large(limit, response.status, declared)
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        if declared is not None:
            return await response.read()  # the common case: one read of a known size
        inflate = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + MAX_WBITS: the zlib and gzip headers are both recognised.
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)
    else:
        response.close()
        raise UnexpectedResponseError(
            f"the response uses Content-Encoding {encoding[:40]!r}, which was not asked for",
            status=response.status,
            retryable=False,
        )
    buffer = bytearray()
    try:
        async for chunk in response.content.iter_chunked(_READ_CHUNK):
            if inflate is None:
                buffer += chunk
            else:
                _inflate(inflate, chunk, buffer, limit)
            if len(buffer) > limit:
                raise too_large(limit, response.status)
        if inflate is not None and not inflate.eof:
            raise aiohttp.ClientPayloadError("compressed body cut short")
        return bytes(buffer)
    except BaseException:
        # Free the partial body now: the exception's traceback keeps this frame, and
        # with it `buffer`, alive for as long as the caller (or tenacity) holds it.
        buffer.clear()
        response.close()
        raise


def _inflate(inflate: Any, chunk: bytes, buffer: bytearray, limit: int) -> None:
    data = chunk
    while data:
        try:
            buffer += inflate.decompress(data, _INFLATE_STEP)
        except zlib.error:
            raise aiohttp.ClientPayloadError("the compressed body is corrupt") from None
        if len(buffer) > limit or inflate.eof:
            return
        data = inflate.unconsumed_tail


#: Getting a connection (a pooled one waited for, or a new one) ends by this share of
#: an attempt's budget at the latest.
CONNECT_SHARE: Final = 0.9


@functools.lru_cache(maxsize=64)
def timeout_for(total: float, connect: float) -> aiohttp.ClientTimeout:
    """aiohttp's limits for an attempt of `total` seconds whose new connections may take
    `connect` seconds to open.

    Getting a connection, before any byte of the request is written, raises aiohttp's
    `ConnectionTimeoutError` when it runs out of time, and that says the request never
    left. If the attempt's `total` fired first in that phase it would be a plain
    timeout, which says the request may have been sent (and a Hosted Link delivery would
    be reported as maybe sent when it was not). So:

    - `sock_connect` bounds opening a new connection, TLS handshake included;
    - `connect` bounds the whole phase, a wait for a free pooled connection included,
      and ends at 90% of the attempt: a wait in a busy pool is queueing, not a failure,
      until it would outlast the attempt;
    - neither is rounded up to a whole second (aiohttp's `ceil_threshold`), which could
      make `connect` and `total` fire together.
    """
    limit = CONNECT_SHARE * total
    return aiohttp.ClientTimeout(
        total=total, connect=limit, sock_connect=min(connect, limit), ceil_threshold=math.inf
    )
