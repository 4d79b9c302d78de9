"""Why a webhook is refused: the errors verification and parsing raise."""

from __future__ import annotations

import enum
from typing import Final

from ._exceptions import PlaidLinkError, one_line


class WebhookRejection(str, enum.Enum):
    """Why a webhook was refused: `WebhookVerificationError.reason`."""

    SOURCE_NOT_ALLOWED = "source_not_allowed"  # not from Plaid's addresses (opt-in check)
    MISSING_HEADER = "missing_header"
    MALFORMED_TOKEN = "malformed_token"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED_KEY = "expired_key"
    KEY_UNAVAILABLE = "key_unavailable"  # the key could not be fetched: try again later
    CREDENTIALS_REFUSED = "credentials_refused"  # Plaid refused our keys: fix them, then retry
    BAD_SIGNATURE = "bad_signature"
    TOO_OLD = "too_old"
    FROM_THE_FUTURE = "from_the_future"
    BODY_MISMATCH = "body_mismatch"

    def __str__(self) -> str:
        return self.value


class InvalidWebhookError(PlaidLinkError, ValueError):
    """A webhook body that is no webhook at all (not a JSON object, over a bound), or,
    read strictly, one that breaks the contract; `path` then names the field."""

    path: str | None = None
    """The field that breaks the contract, read strictly (`events[0].event_name`)."""


class WebhookVerificationError(PlaidLinkError):
    """A webhook failed verification; `reason` (a `WebhookRejection`) says which step.

    Answer it with a 4xx, so that Plaid gives up on it, unless `retryable`: then the
    fault is on this side (the key could not be fetched, or Plaid refused the
    credentials) and a 5xx makes Plaid deliver it again later.
    """

    reason: WebhookRejection
    """The step that refused the webhook."""
    message: str
    """What exactly was wrong, without the token or the body."""

    def __init__(self, reason: WebhookRejection, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(one_line(f"webhook refused ({reason}): {message}"))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.message))

    @property
    def retryable(self) -> bool:
        """Whether a later delivery may pass: answer 5xx (True) or 4xx (False)."""
        return self.reason in _RETRYABLE


_RETRYABLE: Final = frozenset(
    {WebhookRejection.KEY_UNAVAILABLE, WebhookRejection.CREDENTIALS_REFUSED}
)
