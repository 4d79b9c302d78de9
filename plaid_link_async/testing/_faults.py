"""Faults the fake server can answer with instead of doing its job."""

from __future__ import annotations

import enum

import attrs


class FaultKind(str, enum.Enum):
    """What a fault does to one request."""

    PLAID_ERROR = "plaid_error"  # an error status with a Plaid error body
    PROXY_ERROR = "proxy_error"  # an HTML page, as a load balancer sends
    CONNECTION_RESET = "connection_reset"  # the connection is dropped with a TCP reset
    HANG = "hang"  # no answer until the client gives up or the server closes
    MALFORMED_JSON = "malformed_json"  # 200 with a JSON body cut in the middle
    EMPTY_BODY = "empty_body"  # the status with no body at all
    WRONG_SHAPE = "wrong_shape"  # 200 with JSON that is not the endpoint's response
    LATENCY = "latency"  # wait, then answer normally
    LOST_ANSWER = "lost_answer"  # do the work, then drop the connection instead of answering


@attrs.frozen
class Fault:
    """One injected fault; build it with the class methods, queue it with `inject`."""

    kind: FaultKind
    status: int = 200
    error_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: str | None = None
    seconds: float | None = None

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
