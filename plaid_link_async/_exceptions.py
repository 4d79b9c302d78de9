"""Everything the library raises.

    PlaidLinkError
    ├── RequestValidationError (also ValueError)  a request breaks the contract; nothing was sent
    └── UnexpectedResponseError                   a response body is not what the contract says

Each `str()` is one line that names the cause and, where there is one, the field path.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


class PlaidLinkError(Exception):
    """Base of every exception plaid_link_async raises."""


@attrs.frozen
class FieldError:
    """One broken constraint: the dotted path of the field and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<request>'}: {self.message}"


class RequestValidationError(PlaidLinkError, ValueError):
    """A request breaks the contract's constraints; every offending field is listed."""

    def __init__(self, model: str, errors: Iterable[FieldError]) -> None:
        self.model = model
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(str(self))

    @property
    def paths(self) -> tuple[str, ...]:
        """The offending field paths, in the order they were found."""
        return tuple(error.path for error in self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        noun = "field" if count == 1 else "fields"
        return f"invalid {self.model}: {count} {noun}: " + "; ".join(map(str, self.errors))

    def __reduce__(self) -> tuple[type[RequestValidationError], tuple[str, tuple[FieldError, ...]]]:
        return (type(self), (self.model, self.errors))


class UnexpectedResponseError(PlaidLinkError):
    """Plaid answered with a body that is not JSON or not of the shape the contract gives.

    `path` names the offending field (`link_sessions[0].events[2].timestamp`), empty for
    the body itself; `body_snippet` holds the start of the body for the bug report.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        path: str = "",
        status: int | None = None,
        request_id: str | None = None,
        body_snippet: str | None = None,
    ) -> None:
        self.message = message
        self.model = model
        self.path = path
        self.status = status
        self.request_id = request_id
        self.body_snippet = body_snippet
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ".".join(part for part in (self.model, self.path) if part)
        line = f"{where}: {self.message}" if where else self.message
        if self.status is not None:
            line += f" (HTTP {self.status})"
        if self.request_id:
            line += f" [request_id={self.request_id}]"
        return line

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_unexpected,
            (self.message, self.model, self.path, self.status, self.request_id, self.body_snippet),
        )


def _rebuild_unexpected(
    message: str,
    model: str | None,
    path: str,
    status: int | None,
    request_id: str | None,
    body_snippet: str | None,
) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        message,
        model=model,
        path=path,
        status=status,
        request_id=request_id,
        body_snippet=body_snippet,
    )
