"""No usable answer: the connection was refused, reset or dropped, or time ran out."""

from __future__ import annotations

from typing import Any

from ._root import PlaidLinkError, _rebuild, _suffix, one_line


class TransportError(PlaidLinkError):
    """No HTTP answer arrived: the connection was refused, reset or dropped.

    `retryable` tells whether another attempt may succeed (a reset connection) or not
    (a malformed URL); `sent` whether the request may have reached Plaid. The message
    names the underlying error's type and the system's message only: no chained
    exception is kept (it could hold request headers).
    """

    message: str
    """What failed, such as `could not connect: 127.0.0.1:9: Connection refused`."""
    endpoint: str | None
    """The operation called, such as `link_token_create`."""
    retryable: bool
    """Whether another attempt may succeed (a reset connection) or not (a bad URL)."""
    attempts: int
    """How many attempts the call made."""
    sent: bool
    """False only when the request provably never left: no connection could be opened.
    True when any of it may have reached Plaid (a reset, a timeout after connecting)."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        retryable: bool = True,
        attempts: int = 1,
        sent: bool = True,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.retryable = retryable
        self.attempts = attempts
        self.sent = sent
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        return one_line(where + self.message) + _suffix(None, self.attempts)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.message,), self.__dict__))


class PlaidTimeoutError(TransportError):
    """No answer within the timeout of one attempt, or the call's overall deadline passed.

    `connecting` is True when no connection could even be opened in time (the
    `Timeout.connect` limit): the request was never sent.
    """

    connecting: bool
    """True when no connection opened in time, so the request was never sent."""

    def __init__(self, message: str, *, connecting: bool = False, **options: Any) -> None:
        if connecting:
            options["sent"] = False
        super().__init__(message, **options)
        self.connecting = connecting
