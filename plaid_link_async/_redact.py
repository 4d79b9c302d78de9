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


# What a repr shows of data nobody declared: Plaid may add a field of any depth or size,
# and a repr that raises (RecursionError) or runs for pages helps nobody.
PREVIEW_DEPTH: Final = 6
PREVIEW_ITEMS: Final = 20
PREVIEW_TEXT: Final = 200


class _Elided:
    """Stands for what a preview left out; its repr says how much."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        self._what = what

    def __repr__(self) -> str:
        return f"<{self._what}>"


def preview(data: Any, owner: str = "", depth: int = PREVIEW_DEPTH) -> Any:
    """`redact(data)`, shortened: nested at most `depth` deep, 20 items and 200 characters
    a level, so that its repr is always short and never raises."""
    if isinstance(data, str):
        if len(data) <= PREVIEW_TEXT:
            return data
        return data[:PREVIEW_TEXT] + f"…(+{len(data) - PREVIEW_TEXT:,} characters)"
    if isinstance(data, (Mapping, list, tuple)):
        if depth <= 0:
            return _Elided(f"{type(data).__name__} of {len(data)} nested too deep")
        if isinstance(data, Mapping):
            shown: Any = {}
            for count, (key, value) in enumerate(data.items()):
                if count == PREVIEW_ITEMS:
                    shown["…"] = _Elided(f"{len(data) - count} more keys")
                    break
                key = preview(key, owner, depth) if isinstance(key, str) else key
                sensitive = isinstance(key, str) and is_sensitive(owner, key)
                shown[key] = mask_value(key, value) if sensitive else preview(value, key, depth - 1)
            return shown
        items = [preview(item, owner, depth - 1) for item in data[:PREVIEW_ITEMS]]
        if len(data) > PREVIEW_ITEMS:
            items.append(_Elided(f"{len(data) - PREVIEW_ITEMS} more items"))
        return items
    return data
