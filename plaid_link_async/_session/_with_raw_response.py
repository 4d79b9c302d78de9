"""`RawCalls`: `session.with_raw_response`, each operation returning a `RawAPIResponse`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .._calls._outcome import Outcome, RawAPIResponse
from .._schema._model_base import Model
from ._api import RawEndpointMethods

if TYPE_CHECKING:
    from .._calls._retry_policy import RetryPolicy
    from .._calls._settings import Timeout
    from .._errors._exceptions import PlaidLinkError


class Caller(Protocol):
    """What the raw calls go through: the session's one request path."""

    async def _call(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        on_error: Callable[[PlaidLinkError], None] | None = None,
        *,
        strict: bool | None = None,
        traced: bool = False,
    ) -> Outcome: ...


class RawCalls(RawEndpointMethods):
    """`session.with_raw_response`: each operation, returning a `RawAPIResponse`.

    Public so that it can be named in annotations; make it through the property.
    """

    __slots__ = ("_session",)

    def __init__(self, session: Caller) -> None:
        self._session = session

    async def _raw(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        strict: bool | None,
    ) -> RawAPIResponse[Any]:
        outcome = await self._session._call(name, request, timeout, retry, strict=strict)
        return RawAPIResponse(
            parsed=outcome.result,
            drift=outcome.drift,
            status=outcome.raw.status,
            headers=outcome.raw.headers,
            request_id=getattr(outcome.result, "request_id", None),
            attempts=outcome.attempts,
            elapsed=outcome.elapsed,
            endpoint=name,
        )
