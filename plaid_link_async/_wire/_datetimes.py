"""ISO 8601 dates and date-times as Plaid writes them, on every supported Python."""

from __future__ import annotations

import datetime
import re
from typing import Final

UTC: Final = datetime.timezone.utc

# Python 3.10's fromisoformat rejects `Z` and fractions that are not 3 or 6 digits long;
# Plaid sends both (`2024-07-29T20:24:05.330312653Z`), so those go through this pattern,
# as does a lower-case `t` or `z`, which RFC 3339 (5.6) allows and no fromisoformat reads.
_DATETIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_datetime(value: str) -> datetime.datetime:
    """Parse a date-time; one without an offset is taken as UTC, as Plaid means it."""
    if value.__class__ is not str:
        raise TypeError("not a string")
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_slowly(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _parse_slowly(value: str) -> datetime.datetime:
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if offset and offset not in "Zz":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = datetime.timezone(sign * delta)
    return datetime.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
    )


def parse_date(value: str) -> datetime.date:
    if value.__class__ is not str:
        raise TypeError("not a string")
    if len(value) != 10:
        raise ValueError(f"not an ISO 8601 date: {value[:40]!r}")
    return datetime.date.fromisoformat(value)


def format_datetime(value: datetime.datetime) -> str:
    """ISO 8601 with `Z` for UTC, as Plaid writes it; a naive value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_date(value: datetime.date) -> str:
    return value.isoformat()
