"""`MockTransport`: a session's transport that answers from a function, with no socket.

    def handler(request: TransportRequest):
        if request.url.endswith("/link/token/create"):
            return 200, {}, {"link_token": "link-sandbox-1", ...}
        return 404, {}, b""

    plaid = AsyncLinkSession("id", "secret", transport=MockTransport(handler))

The handler is called for every attempt, retries included, and may be a coroutine
function. It returns a `TransportResponse` or a `(status, headers, body)` tuple, the
body as bytes, text, or any JSON-able value (written as JSON); or it raises, as a
transport does: a `TransportError` for no answer (`sent=False` when the request never
left), a `PlaidTimeoutError` for time that ran out.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from multidict import CIMultiDict, CIMultiDictProxy

from .._errors._exceptions import ConfigurationError
from .._transport._seam import TransportRequest, TransportResponse

#: What a handler may return: a response, or (status, headers, body).
Answer: TypeAlias = "TransportResponse | tuple[int, Mapping[str, str] | None, Any]"
Handler: TypeAlias = Callable[[TransportRequest], "Answer | Awaitable[Answer]"]


class MockTransport:
    """Answers every attempt with `handler(request)`; see the module's docstring."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __repr__(self) -> str:
        return f"<MockTransport {getattr(self.handler, '__name__', self.handler)!r}>"

    async def send(self, request: TransportRequest) -> TransportResponse:
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return _response(answer)


def _response(answer: Any) -> TransportResponse:
    if isinstance(answer, TransportResponse):
        return answer
    if not isinstance(answer, tuple) or len(answer) != 3:
        # A ConfigurationError, which the session passes on as it is: the test's own
        # mistake, said in full (any other error of a transport says only its type).
        raise ConfigurationError(
            "a MockTransport handler returns a TransportResponse or (status, headers, "
            f"body), got {type(answer).__name__}"
        )
    status, headers, body = answer
    # As an HTTP client gives them: names in any case, `Retry-After` or `retry-after`.
    fields: CIMultiDict[str] = CIMultiDict(headers or {})
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        fields.setdefault("Content-Type", "application/json")
    return TransportResponse(int(status), CIMultiDictProxy(fields), bytes(body))
