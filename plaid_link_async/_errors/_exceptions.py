"""Everything the library raises.

    PlaidLinkError
    ├── ConfigurationError (also ValueError)      bad or missing settings, at construction
    ├── SessionClosedError (also RuntimeError)    a call on a closed AsyncLinkSession
    ├── RequestValidationError (also ValueError)  a request breaks the contract; nothing was sent
    ├── UnexpectedResponseError                   a body that is not JSON, or not of the shape
    │                                             the contract gives (also a proxy's HTML page)
    ├── TransportError                            no answer: refused, reset, disconnected
    │   └── PlaidTimeoutError                     no answer in time
    ├── AmbiguousOutcomeError                     an action Plaid may have taken, not repeated
    └── PlaidAPIError                             Plaid answered with an error body
        ├── InvalidRequestError                   INVALID_REQUEST
        ├── InvalidInputError                     INVALID_INPUT
        ├── InvalidResultError                    INVALID_RESULT
        ├── RateLimitError                        RATE_LIMIT_EXCEEDED (or HTTP 429)
        ├── APIServerError                        API_ERROR
        ├── InstitutionError                      INSTITUTION_ERROR
        ├── ItemError                             ITEM_ERROR
        └── OAuthError                            OAUTH_ERROR

Each `str()` is one line naming the cause, the field path or Plaid's code, and the
`request_id` when there is one: control characters a server sent are escaped and
long text is cut with a marker (`one_line`); the attributes keep the full values.
Errors raised by a call carry `attempts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from .._schema._drift import NO_DRIFTS, Drifts
from ._root import MAX_LINE, PlaidLinkError, _rebuild, _suffix, one_line
from ._transport import PlaidTimeoutError, TransportError

if TYPE_CHECKING:
    from ..models import PlaidError

__all__ = [
    "CREDENTIAL_ERROR_CODES",
    "ERROR_CLASSES",
    "MAX_LINE",
    "APIServerError",
    "AmbiguousOutcomeError",
    "ConfigurationError",
    "FieldError",
    "InstitutionError",
    "InvalidInputError",
    "InvalidRequestError",
    "InvalidResultError",
    "ItemError",
    "OAuthError",
    "PlaidAPIError",
    "PlaidLinkError",
    "PlaidTimeoutError",
    "RateLimitError",
    "RequestValidationError",
    "SessionClosedError",
    "TransportError",
    "UnexpectedResponseError",
    "one_line",
]


@attrs.frozen
class FieldError:
    """One broken constraint: the dotted path of the field and what is wrong with it."""

    path: str
    """The field's path in the request, such as `user.client_user_id`; empty for the
    request as a whole."""
    message: str
    """What is wrong with it."""

    def __str__(self) -> str:
        return one_line(f"{self.path or '<request>'}: {self.message}", 500)


class RequestValidationError(PlaidLinkError, ValueError):
    """A request breaks the contract's constraints; every offending field is listed."""

    model: str
    """The request model's name, such as `LinkTokenCreateRequest`."""
    errors: tuple[FieldError, ...]
    """Every broken constraint, in the order found."""

    def __init__(self, model: str, errors: Iterable[FieldError]) -> None:
        self.model = model
        self.errors = tuple(errors)
        super().__init__(str(self))

    @property
    def paths(self) -> tuple[str, ...]:
        """The offending field paths, in the order they were found."""
        return tuple(error.path for error in self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        noun = "field" if count == 1 else "fields"
        return one_line(
            f"invalid {self.model}: {count} {noun}: " + "; ".join(map(str, self.errors))
        )

    def __reduce__(self) -> tuple[type[RequestValidationError], tuple[str, tuple[FieldError, ...]]]:
        return (type(self), (self.model, self.errors))


class UnexpectedResponseError(PlaidLinkError):
    """Plaid answered with a body that is not JSON or not of the shape the contract gives.

    Also a redirect (never followed) and a body over `max_response_bytes`. `path` names
    the offending field (`link_sessions[0].events[2].timestamp`), empty for the body
    itself; `body_snippet` holds the start of the body for the bug report. `retryable`
    is False when another attempt cannot help whatever the status (a redirect, a body
    over the limit).
    """

    message: str
    """What is wrong, without the field path or request id."""
    model: str | None
    """The model being read, such as `LinkTokenGetResponse`, if any."""
    path: str
    """The offending field's path inside `model`; empty for the body itself."""
    status: int | None
    """The HTTP status of the answer, if one arrived."""
    request_id: str | None
    """Plaid's `request_id` (from the body or the `X-Request-Id` header), if known."""
    body_snippet: str | None
    """The start of the body, secrets scrubbed, for a bug report."""
    attempts: int
    """How many attempts the call made."""
    retry_after: float | None
    """The server's `Retry-After` in seconds, when it sent one (a proxy's 503)."""
    endpoint: str | None
    """The operation called, such as `link_token_get`."""
    retryable: bool
    """Whether another attempt could help (False for a redirect or an oversized body)."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        path: str = "",
        status: int | None = None,
        request_id: str | None = None,
        body_snippet: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
        endpoint: str | None = None,
        retryable: bool = True,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.retryable = retryable
        self.model = model
        self.path = path
        self.status = status
        self.request_id = request_id
        self.body_snippet = body_snippet
        self.attempts = attempts
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        where = ".".join(part for part in (self.model, self.path) if part)
        line = f"{where}: {self.message}" if where else self.message
        if self.endpoint:
            line = f"{self.endpoint}: {line}"
        if self.status is not None:
            line += f" (HTTP {self.status})"
        return one_line(line) + _suffix(self.request_id, self.attempts)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.message,), self.__dict__))


class ConfigurationError(PlaidLinkError, ValueError):
    """A setting is missing or wrong (credentials, environment, base URL, timeout)."""


class SessionClosedError(PlaidLinkError, RuntimeError):
    """The `AsyncLinkSession` was closed; make a new one."""


class AmbiguousOutcomeError(PlaidLinkError):
    """A call that Plaid may have acted on failed without a clear answer; it was not repeated.

    Raised for an operation that is not safe to send twice (an exchange, a Hosted Link
    delivery) when its attempt timed out after the request went out, lost its
    connection mid-answer, or got a 5xx: Plaid may have exchanged the token or texted
    the user. Sending it again would be a second action, not a second try, so the call
    stops here. `check` says how to find out what happened; `error` is the failure
    itself.
    """

    error: PlaidLinkError
    """The failure of the last attempt (a `PlaidTimeoutError`, an `APIServerError`, ...)."""
    endpoint: str | None
    """The operation called, such as `item_public_token_exchange`."""
    attempts: int
    """How many attempts the call made, the ambiguous one included."""
    status: int | None
    """The HTTP status of the last answer, if one arrived."""
    request_id: str | None
    """Plaid's `request_id` of the last answer, if one arrived."""
    check: str
    """How to find out whether Plaid acted."""

    def __init__(
        self,
        error: PlaidLinkError,
        *,
        check: str,
        endpoint: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.error = error
        self.check = check
        self.endpoint = endpoint
        self.attempts = attempts
        status = getattr(error, "status", None)
        self.status = status if isinstance(status, int) else None
        request_id = getattr(error, "request_id", None)
        self.request_id = request_id if isinstance(request_id, str) else None
        super().__init__(check)

    @property
    def cause(self) -> str:
        """The failure in a few words, without the endpoint or the request id."""
        error = self.error
        if isinstance(error, PlaidAPIError):
            return f"{error.error_type} {error.error_code} (HTTP {error.status})"
        text = getattr(error, "message", None) or type(error).__name__
        if self.status is not None:
            text += f" (HTTP {self.status})"
        return text

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        done = (
            "Plaid processed it but its answer could not be read"
            if self.status is not None and 200 <= self.status < 300
            else "Plaid may have processed it"
        )
        line = f"{where}outcome unknown after {self.cause}; not sent again, as {done}: "
        return one_line(line + self.check) + _suffix(self.request_id, self.attempts)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.check,), self.__dict__))


class PlaidAPIError(PlaidLinkError):
    """Plaid answered with an error body; its fields are here, and the parsed model in `error`.

    Subclasses follow `error_type`; an `error_type` newer than this library gives this
    base class. `retry_after` holds the server's `Retry-After` in seconds, if it sent one.
    Any JSON object with `error_type` or `error_code` is read as Plaid's error, however
    off its shape: what is missing or malformed reads `None` and is listed in `drift`.
    """

    error: PlaidError
    """Plaid's error body, parsed; the properties below read from it."""
    status: int
    """The HTTP status of the answer."""
    endpoint: str | None
    """The operation called, such as `link_token_create`."""
    attempts: int
    """How many attempts the call made."""
    retry_after: float | None
    """The server's `Retry-After` in seconds, if it sent one."""
    drift: Drifts
    """What of the error body did not fit the contract (and reads `None`)."""

    def __init__(
        self,
        error: PlaidError,
        *,
        status: int,
        endpoint: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
        drift: Drifts | None = None,
    ) -> None:
        self.error = error
        self.status = status
        self.endpoint = endpoint
        self.attempts = attempts
        self.retry_after = retry_after
        self.drift = NO_DRIFTS if drift is None else drift
        super().__init__(error.error_message or "")

    @property
    def error_type(self) -> str | None:
        """Plaid's error category, such as `INVALID_INPUT`; it picked this class."""
        value = self.error.error_type
        return None if value is None else str(value)

    @property
    def error_code(self) -> str | None:
        """Plaid's exact error code, such as `INVALID_LINK_TOKEN`; safe to branch on."""
        return self.error.error_code

    @property
    def error_message(self) -> str | None:
        """Plaid's message for developers; its wording may change."""
        return self.error.error_message

    @property
    def display_message(self) -> str | None:
        """A message fit for the end user, or `None`."""
        return self.error.display_message

    @property
    def request_id(self) -> str | None:
        """Plaid's id of the request; quote it to Plaid support."""
        return self.error.request_id

    @property
    def causes(self) -> list[Any] | None:
        """Per-Item errors, for a request about several Items."""
        return self.error.causes

    @property
    def documentation_url(self) -> str | None:
        """A page of Plaid's docs about this error."""
        return self.error.documentation_url

    @property
    def suggested_action(self) -> str | None:
        """What Plaid suggests doing about it."""
        return self.error.suggested_action

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        kind = one_line(self.error_type or "(no error_type)", 100)
        code = one_line(self.error_code or "(no error_code)", 100)
        message = one_line(self.error_message or "(no message)", 1000)
        return f"{where}{kind} {code}: {message} (HTTP {self.status})" + _suffix(
            self.request_id, self.attempts
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.error_message,), self.__dict__))


class InvalidRequestError(PlaidAPIError):
    """`INVALID_REQUEST`: the request is malformed (missing or unknown fields, bad version)."""


class InvalidInputError(PlaidAPIError):
    """`INVALID_INPUT`: a value is wrong (unknown link token, bad API keys)."""


class InvalidResultError(PlaidAPIError):
    """`INVALID_RESULT`: a value from an earlier call cannot be used here."""


class RateLimitError(PlaidAPIError):
    """`RATE_LIMIT_EXCEEDED` or HTTP 429: too many requests; retried by default."""


class APIServerError(PlaidAPIError):
    """`API_ERROR`: Plaid failed internally or is in maintenance; retried by default."""


class InstitutionError(PlaidAPIError):
    """`INSTITUTION_ERROR`: the financial institution is down or not responding."""


class ItemError(PlaidAPIError):
    """`ITEM_ERROR`: the Item needs attention (login required, consent expired)."""


class OAuthError(PlaidAPIError):
    """`OAUTH_ERROR`: the OAuth flow with the institution failed."""


#: Plaid's answers that mean these credentials are refused, whatever the request.
CREDENTIAL_ERROR_CODES: Final = frozenset(
    {
        "INVALID_API_KEYS",
        "INVALID_CLIENT_ID",
        "INVALID_SECRET",
        "UNAUTHORIZED_ENVIRONMENT",
        "UNAUTHORIZED_ROUTE_ACCESS",
    }
)

#: The exception class for each Plaid `error_type`; other types get `PlaidAPIError`.
ERROR_CLASSES: Final[Mapping[str, type[PlaidAPIError]]] = {
    "INVALID_REQUEST": InvalidRequestError,
    "INVALID_INPUT": InvalidInputError,
    "INVALID_RESULT": InvalidResultError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "API_ERROR": APIServerError,
    "INSTITUTION_ERROR": InstitutionError,
    "ITEM_ERROR": ItemError,
    "OAUTH_ERROR": OAuthError,
}
