"""Masking of credentials and personal data, shared by model reprs and log lines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

MASK: Final = "***"

#: Values that grant access to a user's data: show at most their environment prefix.
CREDENTIAL_KEYS: Final = frozenset(
    {"access_token", "access_tokens", "public_token", "secret", "user_token"}
)
#: Personal data: never shown at all.
PERSONAL_KEYS: Final = frozenset({"date_of_birth", "email_address", "phone_number", "ssn"})
SENSITIVE_KEYS: Final = CREDENTIAL_KEYS | PERSONAL_KEYS

# Plaid tokens start with "<kind>-<environment>-"; that much helps debugging and
# reveals nothing, so it is the only part ever shown.
_TOKEN_PREFIX: Final = re.compile(r"^[a-z]+-(?:sandbox|development|production)-")


def mask_value(key: str, value: Any) -> Any:
    """Return `value` as it may be shown for a field or key called `key`."""
    if value is None:
        return None
    if isinstance(value, list):
        return [mask_value(key, item) for item in value]
    if key in CREDENTIAL_KEYS and isinstance(value, str):
        prefix = _TOKEN_PREFIX.match(value)
        return (prefix.group(0) if prefix else "") + MASK
    return MASK


def is_sensitive(owner: str, key: str) -> bool:
    """Whether field `key` of an object of schema `owner` must be masked."""
    return key in SENSITIVE_KEYS or (owner in ("UserIDNumber", "id_number") and key == "value")


def redact(data: Any, owner: str = "") -> Any:
    """A copy of JSON-like `data` with every sensitive value masked, for logs and records."""
    if isinstance(data, Mapping):
        return {
            key: mask_value(key, value) if is_sensitive(owner, key) else redact(value, key)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact(item, owner) for item in data]
    return data
