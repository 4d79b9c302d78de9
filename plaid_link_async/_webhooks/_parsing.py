"""Link webhooks parsed into their models: `parse_webhook` and `read_webhook`.

No crypto here: verification (`_verifier`) needs the `webhooks` extra, parsing
needs nothing but the models.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._errors._exceptions import UnexpectedResponseError
from .._errors._webhook import InvalidWebhookError
from .._schema._converter import try_from_dict
from .._schema._drift import MAX_DRIFT, Drifts
from .._schema._model_base import Model
from .._schema._operations import WEBHOOKS
from .._schema._tolerant_reader import ReadingTooLong, TooMuchDrift, read_tolerantly, strict_error
from .._schema._warn_once import report_drift
from .._wire import _json
from .._wire._masks import preview
from .._wire._nesting import MAX_NESTING, nesting_within

#: The largest webhook body read: Plaid's Link webhooks are a few KB.
MAX_WEBHOOK_BYTES: Final = 256 * 1024
#: The longest a drifted webhook's tolerant reading may take; a real one takes well
#: under a millisecond, a body of 80,000 empty events half a second.
WEBHOOK_READ_SECONDS: Final = 0.05


@attrs.frozen
class WebhookReading:
    """A parsed webhook and what of it drifted from the contract (`read_webhook`)."""

    webhook: Model | UnknownWebhook
    """The model its type and code name, or an `UnknownWebhook`."""
    drift: Drifts = Drifts()  # noqa: RUF009  (an empty tuple: immutable, safe to share)
    """The details that did not fit, read as None (empty when none did)."""


@attrs.frozen
class UnknownWebhook:
    """A webhook whose type and code this library does not model; its whole payload kept.

    Plaid adds webhook codes; an exception would turn into a non-200 answer and a day
    of retries, so an unknown one is this object instead.
    """

    webhook_type: str | None
    webhook_code: str | None
    payload: Mapping[str, Any] = attrs.field(repr=False)

    def __repr__(self) -> str:
        return (
            f"UnknownWebhook(webhook_type={self.webhook_type!r}, "
            f"webhook_code={self.webhook_code!r}, payload={preview(dict(self.payload))!r})"
        )


def parse_webhook(
    body: bytes | str | Mapping[str, Any], *, strict: bool = False
) -> Model | UnknownWebhook:
    """The model a webhook's `webhook_type` and `webhook_code` name.

    Read tolerantly by default: a known webhook with drifted details still parses (they
    read None; the drift is logged once per path, and `read_webhook` gives it to you).
    With `strict`, any drift raises `InvalidWebhookError` naming the field, as a strict
    call does. An unknown type or code gives an `UnknownWebhook` either way. Its cost is
    bounded: a body over `MAX_WEBHOOK_BYTES` (256 KiB), one nested deeper than 32
    levels where no model field is, and a drifted one whose reading passes
    `WEBHOOK_READ_SECONDS` are refused. In async code, `verify_webhook` parses off the
    event loop; a plain `parse_webhook` on a body of 256 KiB may hold it that long.

    Raises:
        InvalidWebhookError: the body is not JSON, not a JSON object, or over a bound;
            with `strict`, it breaks the contract (`path` names where).
    """
    return read_webhook(body, strict=strict).webhook


def read_webhook(body: bytes | str | Mapping[str, Any], *, strict: bool = False) -> WebhookReading:
    """`parse_webhook`, with the webhook's drift: what did not fit the contract.

    Raises:
        InvalidWebhookError: as `parse_webhook` does.
    """
    data: Any
    if isinstance(body, Mapping):
        data = dict(body)
    else:
        if len(body) > MAX_WEBHOOK_BYTES:
            raise InvalidWebhookError(
                f"the webhook body is {len(body):,} bytes, over the limit of {MAX_WEBHOOK_BYTES:,}"
            )
        try:
            data = _json.loads(body)
        except ValueError:
            data = None
        if data is None:
            raise InvalidWebhookError("the webhook body is not JSON")
    if not isinstance(data, dict):
        raise InvalidWebhookError("the webhook body is not a JSON object")
    kind, code = data.get("webhook_type"), data.get("webhook_code")
    name = WEBHOOKS.get((kind, code)) if isinstance(kind, str) and isinstance(code, str) else None
    if name is None:
        if not nesting_within(data, MAX_NESTING + 1):
            raise InvalidWebhookError(f"the webhook body nests deeper than {MAX_NESTING} levels")
        return WebhookReading(UnknownWebhook(_text(kind), _text(code), data))
    from .. import models

    cls: type[Model] = getattr(models, name)
    fast = try_from_dict(cls, data)
    if fast is not None:
        return WebhookReading(fast)
    deadline = time.monotonic() + WEBHOOK_READ_SECONDS
    try:
        if strict:
            raise _breaks_contract(strict_error(cls, data, deadline=deadline), f"{kind}/{code}")
        model, drift = read_tolerantly(cls, data, lenient_top=True, deadline=deadline)
    except ReadingTooLong:
        problem = f"took over {WEBHOOK_READ_SECONDS * 1000:g} ms to read"
    except TooMuchDrift:
        problem = f"drifted from the contract in more than {MAX_DRIFT:,} places"
    except UnexpectedResponseError as error:  # strict, and no such webhook at all
        raise _breaks_contract(error, f"{kind}/{code}") from None
    else:
        if drift:
            report_drift(f"webhook {kind}/{code}", drift)
        return WebhookReading(model, drift)
    raise InvalidWebhookError(
        f"this {str(kind)[:40]}/{str(code)[:40]} webhook {problem}; refused (no real webhook "
        "comes near)"
    )


def _breaks_contract(found: UnexpectedResponseError, what: str) -> InvalidWebhookError:
    path = found.path or None
    where = f" at {path}" if path else ""
    error = InvalidWebhookError(
        f"this {what[:80]} webhook breaks the contract{where}: {found.message}"
    )
    error.path = path
    return error


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None
