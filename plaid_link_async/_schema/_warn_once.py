"""Warnings logged once per process for each pattern: drift, unknown enum values.

A field Plaid relaxed, or a product newer than the models, would otherwise log on every
call. What was seen is bounded: past `SEEN_MAX` keys the oldest is forgotten (and may
warn once more), so a stream of distinct values never silences the warning for good.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

from .._errors._root import one_line
from ._drift import Drift, path_pattern

logger: Final = logging.getLogger("plaid_link_async")

SEEN_MAX: Final = 10_000


class _Seen:
    """A bounded set of keys, least recently seen forgotten first."""

    def __init__(self, limit: int) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._limit = limit

    def first_time(self, key: Hashable) -> bool:
        """Whether `key` is new (then remembered); an old one counts as seen again."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True

    def clear(self) -> None:
        self._keys.clear()


_enum_seen: Final = _Seen(SEEN_MAX)
_drift_seen: Final = _Seen(SEEN_MAX)


def warn_unknown_enum(endpoint: str, path: str, value: str, nearest: list[str]) -> None:
    # Once per field and value: a typo shows at once, a newer value does not flood logs.
    if not _enum_seen.first_time((endpoint, path_pattern(path), value[:200])):
        return
    hint = f"; did you mean {' or '.join(map(repr, nearest))}?" if nearest else ""
    logger.warning(
        "%s: %s=%r is not a value these models know; sent as it is, for Plaid to judge%s",
        endpoint,
        one_line(path, 200),
        value[:100],
        hint,
        extra={"plaid_endpoint": endpoint, "plaid_field": one_line(path, 200)},
    )


def report_drift(endpoint: str, drift: tuple[Drift, ...]) -> None:
    # Once per endpoint and path pattern: the same drift in every event is one line.
    # `drift` holds at most MAX_KEPT_DRIFT items, however drifted the answer was.
    for item in drift:
        if not _drift_seen.first_time((endpoint, item.pattern)):
            continue
        # A path names the server's keys, and a problem quotes its values: escaped and cut.
        logger.warning(
            "%s: the answer drifted from the contract at %s: %s; read as None "
            "(logged once; see docs/models.md, strict=True makes it an error)",
            endpoint,
            one_line(item.pattern, 200),
            one_line(item.problem, 200),
            extra={"plaid_endpoint": endpoint, "plaid_drift_path": one_line(item.path, 200)},
        )
