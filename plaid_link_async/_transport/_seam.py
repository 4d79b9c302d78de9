"""The transport seam: what a session hands a transport for each attempt, what it gets
back, and the one method a transport has.

The session owns everything above one HTTP exchange (auth headers, pacing, retries,
decoding); a transport only sends. `AiohttpTransport` is the default;
`plaid_link_async.testing.MockTransport` answers from a function, with no socket, for
tests of retries, errors and decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple, Protocol, runtime_checkable

import attrs

#: Headers whose values are shown in a `TransportRequest`'s repr; every other value
#: (the secret among them) is masked.
SHOWN_HEADERS: Final = frozenset({"content-type", "plaid-version", "user-agent", "accept"})


def _masked(headers: Mapping[str, str]) -> str:
    shown = {
        name: value if name.lower() in SHOWN_HEADERS else "***" for name, value in headers.items()
    }
    return repr(shown)


@attrs.frozen
class TransportRequest:
    """One attempt's HTTP request: `method`, `url`, `headers` (the credentials among
    them) and `body` (bytes), with the attempt's time limits in seconds: `timeout`, the
    whole exchange, and `connect`, getting a connection. Its repr masks the headers'
    values."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(repr=_masked)
    body: bytes = attrs.field(repr=lambda body: f"<{len(body):,} bytes>")
    timeout: float = 20.0
    connect: float = 10.0


class TransportResponse(NamedTuple):
    """An HTTP answer, fully read: its status, headers and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@runtime_checkable
class Transport(Protocol):
    """What a session needs of a transport: one exchange per call of `send`.

    `send` raises `TransportError` when no answer came (with `sent=False` only when the
    request provably never left, as for a refused connection; `PlaidTimeoutError` when
    time ran out), and may raise `UnexpectedResponseError` for an answer it refuses (a
    redirect, a body over its limit). A transport with an `aclose()` coroutine has it
    awaited when the session closes.
    """

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send `request` and read the whole answer."""
        ...
