"""Which calls may be sent twice, and which failures prove Plaid did not act.

Plaid has no idempotency key for the Link endpoints, so a retry of an exchange or of a
Hosted Link delivery is a second action, not a second try: a second text message, or
an `INVALID_PUBLIC_TOKEN` hiding an Item that now exists. This module is the one place
that says which operations are like that; the session asks it before every retry.

The rule is derived from the name where it can be: every `*_get` operation only reads.
The rest are listed. An operation a newer contract adds and nobody has listed yet is
treated as unsafe, the side that never sends anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .._errors._exceptions import (
    AmbiguousOutcomeError,
    PlaidAPIError,
    PlaidLinkError,
    TransportError,
    UnexpectedResponseError,
)

#: Operations that only read, by the name Plaid gives every read of this flow.
READ_SUFFIX: Final = "_get"


def _delivers(request: Any) -> bool:
    hosted = getattr(request, "hosted_link", None)
    return getattr(hosted, "delivery_method", None) is not None


#: True: safe to repeat; False: not; a function: decided by the request. Operations
#: ending in `_get` are safe without being listed.
RULES: Final[dict[str, bool | Callable[[Any], bool]]] = {
    # A token is made and nothing else happens, unless Plaid is asked to send the
    # Hosted Link URL by SMS or email: then every create texts the user again.
    "link_token_create": lambda request: not _delivers(request),
    # Plaid answers whether a profile exists; nothing changes.
    "link_profile_eligibility_check": True,
    # A look-up: the correlation id maps to its link token until it expires. Plaid
    # documents no single use, so a repeat returns the same token (or, expired, an error).
    "link_oauth_correlation_id_exchange": True,
    # A public token exchanges once; a retry after a lost answer gets
    # INVALID_PUBLIC_TOKEN and hides the access token of an Item that now exists.
    "item_public_token_exchange": False,
    # Sends the Hosted Link URL to the user, again on every call.
    "link_delivery_create": False,
}

#: For an unsafe operation: how to find out whether Plaid acted.
CHECKS: Final[dict[str, str]] = {
    "item_public_token_exchange": (
        "the Item may exist: wait for its ITEM_ADD_RESULT or SESSION_FINISHED webhook, "
        "which carries the same public token, before asking the user to link again"
    ),
    "link_token_create": (
        "the user may have been sent the Hosted Link: do not create another for them "
        "until you know; if a link_token came back, link_token_get shows its sessions, "
        "and the user's Link webhooks (EVENTS, SESSION_FINISHED) show what they did"
    ),
    "link_delivery_create": (
        "the user may have been sent the Hosted Link: wait for the LINK_DELIVERY "
        "DELIVERY_STATUS webhook, or call link_token_get for the link token, before "
        "sending again"
    ),
}
_GENERIC_CHECK: Final = (
    "it is not safe to send twice; find out from Plaid's webhooks or a read of the "
    "same object whether it happened before sending it again"
)


def is_repeatable(operation: str, request: Any) -> bool:
    """Whether sending `request` to `operation` twice is the same as sending it once."""
    rule = RULES.get(operation)
    if rule is None:
        return operation.endswith(READ_SUFFIX)
    return rule if isinstance(rule, bool) else rule(request)


def check_for(operation: str) -> str:
    """How to find out whether Plaid acted on an `operation` whose outcome is unknown."""
    return CHECKS.get(operation, _GENERIC_CHECK)


def not_processed(error: PlaidLinkError) -> bool:
    """Whether `error` proves Plaid did not act on the request.

    True for a request that never left (no connection could be opened) and for any 4xx
    answer: a refusal, 429 `RATE_LIMIT_EXCEEDED` among them. Also for `API_ERROR
    PLANNED_MAINTENANCE`, which Plaid answers while its API operations are disabled.
    A timeout after sending, a connection lost mid-answer, any other 5xx, and a 2xx
    that could not be read leave the outcome unknown.
    """
    if isinstance(error, TransportError):
        return not error.sent
    if isinstance(error, PlaidAPIError):
        return 400 <= error.status < 500 or error.error_code == "PLANNED_MAINTENANCE"
    if isinstance(error, UnexpectedResponseError):
        return error.status is not None and 400 <= error.status < 500
    return True  # raised before anything was sent (a closed session, a bad request)


def ambiguous_error(
    error: PlaidLinkError, endpoint: str, attempts: int
) -> AmbiguousOutcomeError | None:
    """The error to raise instead of `error` when Plaid may have acted on the request."""
    if not_processed(error):
        return None
    return AmbiguousOutcomeError(
        error, check=check_for(endpoint), endpoint=endpoint, attempts=attempts
    )


def stamp(error: PlaidLinkError, endpoint: str, attempts: int) -> None:
    # Every error a call raises has both attributes (see _exceptions).
    error.attempts = attempts  # type: ignore[attr-defined]
    error.endpoint = endpoint  # type: ignore[attr-defined]
