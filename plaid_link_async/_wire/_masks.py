"""Masking of credentials and personal data, shared by model reprs and log lines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

MASK: Final = "***"

#: Credentials by rule, not by list: every `token`, `*_token`, `*_tokens`, `secret` and
#: `*_secret` (access, public, user, payment profile, third-party tokens alike, and any
#: Plaid adds), and the two URLs that open a user's Link session.
_CREDENTIAL: Final = re.compile(r"(?:^|_)(?:tokens?|secret)$|^(?:hosted_link|link_delivery)_url$")
#: Personal data: never shown at all.
PERSONAL_KEYS: Final = frozenset({"date_of_birth", "email_address", "phone_number", "ssn"})

# Plaid tokens start with "<kind>-<environment>-"; that much helps debugging and
# reveals nothing, so it is the only part ever shown. Of a URL, the scheme and host.
_TOKEN_PREFIX: Final = re.compile(r"^[a-z]+-(?:sandbox|development|production)-")
_URL_PREFIX: Final = re.compile(r"^https?://[^/?#]+/")


def is_credential(key: str) -> bool:
    """Whether a field or key called `key` holds a credential."""
    return _CREDENTIAL.search(key) is not None


def mask_value(key: str, value: Any) -> Any:
    """Return `value` as it may be shown for a field or key called `key`."""
    if value is None:
        return None
    if isinstance(value, list):
        # One level: a list of tokens. Anything nested in it is masked whole.
        return [mask_value(key, item) if not isinstance(item, list) else MASK for item in value]
    if isinstance(value, str) and is_credential(key):
        prefix = _TOKEN_PREFIX.match(value) or _URL_PREFIX.match(value)
        return (prefix.group(0) if prefix else "") + MASK
    return MASK


def is_sensitive(owner: str, key: str) -> bool:
    """Whether field `key` of an object of schema `owner` must be masked."""
    return (
        is_credential(key)
        or key in PERSONAL_KEYS
        or (owner in ("UserIDNumber", "id_number") and key == "value")
    )


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
