"""Faults the fake server can answer with instead of doing its job."""

from __future__ import annotations

import enum
import math
import re
from typing import Any, Final, TypeVar

import attrs

#: The longest a fault may hold an answer back, in seconds.
MAX_FAULT_SECONDS: Final = 3600.0
_TEXT_LIMIT: Final = 10_000
_HEADER_VALUE: Final = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,98}[\x21-\x7e])?")


def _status(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"{attribute.name}: must be an HTTP status, 100 to 599; got {value!r}")


def _text(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > _TEXT_LIMIT):
        raise ValueError(
            f"{attribute.name}: must be text of at most {_TEXT_LIMIT:,} characters; "
            f"got {type(value).__name__}"
        )


def _header_value(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Sent as a header as it is: no CR or LF, no control character, at most 100.
    if value is not None and (not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value)):
        raise ValueError(
            f"{attribute.name}: must be a header value (printable ASCII, 1 to 100 "
            f"characters); got {value!r:.60}"
        )


def seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A validator: `value` is None or a finite number of seconds, 0 to an hour."""
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= MAX_FAULT_SECONDS
    ):
        raise ValueError(
            f"{attribute.name}: must be a number of seconds, 0 to {MAX_FAULT_SECONDS:g}; "
            f"got {value!r}"
        )


_E = TypeVar("_E", bound=enum.Enum)


def member(enum_class: type[_E], value: Any) -> _E:
    """`enum_class(value)`, or a ValueError naming `kind` and every valid value."""
    try:
        return enum_class(value)
    except ValueError:
        known = ", ".join(str(item.value) for item in enum_class)
        raise ValueError(f"kind: {value!r:.60} is not one of: {known}") from None


def _fault_kind(value: Any) -> FaultKind:
    return member(FaultKind, value)


class FaultKind(str, enum.Enum):
    """What a fault does to one request (the `kind` of a `Fault`, and of the control
    API's fault objects)."""

    PLAID_ERROR = "plaid_error"
    """An error status with a Plaid error body (`status`, `error_type`, `error_code`,
    `error_message`, `retry_after`)."""
    PROXY_ERROR = "proxy_error"
    """An HTML page, as a load balancer sends (`status`, `retry_after`)."""
    CONNECTION_RESET = "connection_reset"
    """The connection is dropped with a TCP reset, before the request is acted on."""
    HANG = "hang"
    """No answer for `seconds`, or until the client gives up or the server closes."""
    MALFORMED_JSON = "malformed_json"
    """The `status` (200) with a JSON body cut in the middle."""
    EMPTY_BODY = "empty_body"
    """The `status` with no body at all."""
    WRONG_SHAPE = "wrong_shape"
    """200 with JSON that is not the endpoint's response."""
    LATENCY = "latency"
    """Wait `seconds`, then answer normally."""
    LOST_ANSWER = "lost_answer"
    """Do the work, then drop the connection instead of answering."""


@attrs.frozen
class Fault:
    """One injected fault; build it with the class methods, queue it with `inject`.

    Every field is checked when the fault is made (a status of 100 to 599, a
    `retry_after` fit for a header, at most an hour of `seconds`), so that a bad fault
    is refused where it is written, not on the request it spoils.

    Raises:
        ValueError: a field is out of its bounds; the message names it.
    """

    kind: FaultKind = attrs.field(converter=_fault_kind)
    status: int = attrs.field(default=200, validator=_status)
    error_type: str | None = attrs.field(default=None, validator=_text)
    error_code: str | None = attrs.field(default=None, validator=_text)
    error_message: str | None = attrs.field(default=None, validator=_text)
    retry_after: str | None = attrs.field(default=None, validator=_header_value)
    seconds: float | None = attrs.field(default=None, validator=seconds)

    @classmethod
    def plaid_error(
        cls,
        status: int,
        error_type: str,
        error_code: str,
        error_message: str = "the fake server was told to fail this request",
        *,
        retry_after: float | str | None = None,
    ) -> Fault:
        """Any Plaid error body with any status."""
        return cls(
            FaultKind.PLAID_ERROR,
            status=status,
            error_type=error_type,
            error_code=error_code,
            error_message=error_message,
            retry_after=_header(retry_after),
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A Plaid `API_ERROR` (`INTERNAL_SERVER_ERROR`, or `PLANNED_MAINTENANCE` for 503).

        Raises:
            ValueError: `status` is not a 5xx (for a 4xx, use `plaid_error`).
        """
        if not 500 <= status <= 599:
            raise ValueError(
                f"server_error takes a 5xx status, got {status}; use Fault.plaid_error for a 4xx"
            )
        if status == 503:
            return cls.plaid_error(
                status,
                "API_ERROR",
                "PLANNED_MAINTENANCE",
                "the Plaid API is down for scheduled maintenance; try again later",
            )
        return cls.plaid_error(
            status, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred"
        )

    @classmethod
    def rate_limit(cls, retry_after: float | str | None = 1) -> Fault:
        """A 429 `RATE_LIMIT_EXCEEDED`, with `Retry-After` (seconds or an HTTP date)."""
        return cls.plaid_error(
            429,
            "RATE_LIMIT_EXCEEDED",
            "RATE_LIMIT",
            "too many requests were made",
            retry_after=retry_after,
        )

    @classmethod
    def proxy_error(cls, status: int = 502, *, retry_after: float | str | None = None) -> Fault:
        """An HTML error page from a proxy in front of Plaid (502, 503 or 504)."""
        return cls(FaultKind.PROXY_ERROR, status=status, retry_after=_header(retry_after))

    @classmethod
    def connection_reset(cls) -> Fault:
        """Drop the connection with a TCP reset before answering."""
        return cls(FaultKind.CONNECTION_RESET)

    @classmethod
    def hang(cls, seconds: float | None = None) -> Fault:
        """Send nothing for `seconds` (default: until the server closes)."""
        return cls(FaultKind.HANG, seconds=seconds)

    @classmethod
    def malformed_json(cls, status: int = 200) -> Fault:
        """A body that starts as JSON and stops in the middle."""
        return cls(FaultKind.MALFORMED_JSON, status=status)

    @classmethod
    def empty_body(cls, status: int = 200) -> Fault:
        """The status with an empty body."""
        return cls(FaultKind.EMPTY_BODY, status=status)

    @classmethod
    def wrong_shape(cls) -> Fault:
        """A 200 whose JSON is not the endpoint's response (it does carry a `request_id`)."""
        return cls(FaultKind.WRONG_SHAPE)

    @classmethod
    def lost_answer(cls) -> Fault:
        """Do what the request asks (create, exchange, deliver), then drop the connection
        with a TCP reset instead of answering: the request took effect, its answer is lost."""
        return cls(FaultKind.LOST_ANSWER)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Wait `seconds`, then answer normally."""
        return cls(FaultKind.LATENCY, seconds=seconds)


def _header(value: float | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return f"{value:g}"
