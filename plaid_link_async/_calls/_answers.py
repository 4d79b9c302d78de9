"""An HTTP answer to a model, or to the typed error it stands for."""

from __future__ import annotations

from typing import Any, Final, TypeVar

from .._errors._exceptions import (
    ERROR_CLASSES,
    PlaidAPIError,
    PlaidTimeoutError,
    RateLimitError,
    UnexpectedResponseError,
)
from .._schema._converter import try_from_dict
from .._schema._drift import MAX_DRIFT, NO_DRIFTS, Drifts
from .._schema._model_base import Model
from .._schema._tolerant_reader import ReadingTooLong, TooMuchDrift, read_tolerantly, strict_error
from .._transport._seam import TransportResponse
from .._wire import _json
from ._retry_policy import parse_retry_after

_M = TypeVar("_M", bound=Model)

SNIPPET_LENGTH = 200


#: What an answer read without drift carries: nothing, and shared.
NO_DRIFT: Final = NO_DRIFTS


def decode(
    raw: TransportResponse,
    cls: type[_M],
    *,
    endpoint: str,
    strict: bool = False,
    deadline: float | None = None,
) -> tuple[_M, Drifts]:
    """The `cls` a 2xx answer holds, and what drifted in it (see `_schema._tolerant_reader`).

    The strict parse runs first; only when it fails is the answer read again,
    tolerantly, or (with `strict`) diagnosed and refused. `deadline` (on
    `time.monotonic()`) bounds the tolerant reading.

    Raises:
        PlaidAPIError: (a subclass per `error_type`) a non-2xx answer with a Plaid error body.
        UnexpectedResponseError: a body that is not JSON, not an object, or (with `strict`
            for any field, else for the answer's own required fields) not of the
            contract's shape.
        PlaidTimeoutError: the deadline passed while reading a drifted answer.
    """
    result, data = parse(raw, cls, endpoint=endpoint)
    if result is not None:
        return result, NO_DRIFT
    try:
        return read_drifted(raw, data, cls, strict=strict, deadline=deadline)
    except BaseException:
        del data  # the traceback keeps this frame; it need not keep the parsed body
        raise


def parse(raw: TransportResponse, cls: type[_M], *, endpoint: str) -> tuple[_M | None, Any]:
    """The strict parse: (`cls` or None where anything drifted, the JSON data).

    Raises:
        PlaidAPIError, UnexpectedResponseError: as `decode`, for a non-2xx answer or a
            body that is not JSON.
    """
    if not 200 <= raw.status < 300:
        raise error_for(raw, endpoint=endpoint)
    data = _read_json(raw, cls.__name__)
    return try_from_dict(cls, data), data


def read_drifted(
    raw: TransportResponse, data: Any, cls: type[_M], *, strict: bool, deadline: float | None
) -> tuple[_M, Drifts]:
    """What `decode` does when the fast parse refused `data`: the slow, bounded path."""
    try:
        if strict:
            raise strict_error(cls, data, deadline=deadline)
        return read_tolerantly(cls, data, deadline=deadline)
    except UnexpectedResponseError as error:
        error.status = raw.status
        error.request_id = _request_id(data)
        error.body_snippet = snippet(raw.body)
        del data  # the traceback keeps this frame; it need not keep the parsed body
        raise
    except ReadingTooLong:
        pass
    except TooMuchDrift:
        raise UnexpectedResponseError(
            f"the answer drifted from the contract in more than {MAX_DRIFT:,} places: "
            "no answer of this shape",
            model=cls.__name__,
            status=raw.status,
            request_id=_request_id(data),
            body_snippet=snippet(raw.body),
            retryable=False,
        ) from None
    raise PlaidTimeoutError(
        f"reading a drifted {len(raw.body):,}-byte answer did not finish in the time left",
        retryable=False,
    )


def error_for(raw: TransportResponse, *, endpoint: str) -> PlaidAPIError | UnexpectedResponseError:
    """The exception for a non-2xx answer."""
    from ..models import PlaidError

    retry_after = parse_retry_after(raw.headers)
    try:
        data = _read_json(raw, None)
    except UnexpectedResponseError as error:
        error.message = f"expected a Plaid error body, {error.message}"
        error.retry_after = retry_after
        return error
    if isinstance(data, dict) and ("error_type" in data or "error_code" in data):
        # Read tolerantly: an error body with a null message or a status as a string is
        # still Plaid's error, and `except InvalidInputError` must still catch it.
        parsed = try_from_dict(PlaidError, data)
        drifts = NO_DRIFT
        if parsed is None:
            # PlaidError is flat: reading it costs a step per key, whatever the body.
            parsed, drifts = read_tolerantly(PlaidError, data, lenient_top=True)
        kind = ERROR_CLASSES.get(str(parsed.error_type), PlaidAPIError)
        if raw.status == 429:
            kind = RateLimitError
        return kind(
            parsed, status=raw.status, endpoint=endpoint, retry_after=retry_after, drift=drifts
        )
    return UnexpectedResponseError(
        "expected a Plaid error body, got JSON of another shape",
        status=raw.status,
        request_id=_request_id(data),
        body_snippet=snippet(raw.body),
        retry_after=retry_after,
    )


def _read_json(raw: TransportResponse, model: str | None) -> Any:
    """The JSON of `raw`, read by the standard json's rules."""
    too_deep = False
    try:
        return _json.loads(raw.body)
    except _json.JSONTooDeep:
        too_deep = True
    except ValueError:
        pass
    # Outside `except`: a JSONDecodeError keeps the whole body as its `doc`.
    raise _not_json(raw, model, too_deep=too_deep)


def _not_json(
    raw: TransportResponse, model: str | None, *, too_deep: bool = False
) -> UnexpectedResponseError:
    """The error for a body that JSON does not read."""
    if too_deep:
        return UnexpectedResponseError(
            f"got JSON nested deeper than {_json.MAX_DEPTH} levels",
            model=model,
            status=raw.status,
            body_snippet=snippet(raw.body),
        )
    # Blank is asked only now: `strip()` copies a body with whitespace around it.
    if not raw.body.strip():
        return UnexpectedResponseError(
            "got an empty body", model=model, status=raw.status, body_snippet=""
        )
    kind = raw.headers.get("Content-Type", "no content type").split(";")[0]
    return UnexpectedResponseError(
        f"got a body that is not JSON ({kind[:60]})",
        model=model,
        status=raw.status,
        body_snippet=snippet(raw.body),
    )


def _request_id(data: Any) -> str | None:
    if isinstance(data, dict):
        value = data.get("request_id")
        if isinstance(value, str):
            return value
    return None


def snippet(body: bytes, limit: int = SNIPPET_LENGTH) -> str:
    """The start of `body` as text, for an error report."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[: limit - 1] + "…"
