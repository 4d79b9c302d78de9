"""Warnings logged once per process for each pattern: drift, unknown enum values.

A field Plaid relaxed, or a product newer than the models, would otherwise log on every
call. The sets are bounded: their keys come from the models' field paths.
"""

from __future__ import annotations

import logging
from typing import Final

from ._tolerant import Drift, path_pattern

logger: Final = logging.getLogger("plaid_link_async")

_SEEN_MAX: Final = 10_000
_enum_seen: set[tuple[str, str, str]] = set()
_drift_seen: set[tuple[str, str]] = set()


def warn_unknown_enum(endpoint: str, path: str, value: str, nearest: list[str]) -> None:
    # Once per field and value: a typo shows at once, a newer value does not flood logs.
    key = (endpoint, path_pattern(path), value)
    if key in _enum_seen or len(_enum_seen) >= _SEEN_MAX:
        return
    _enum_seen.add(key)
    hint = f"; did you mean {' or '.join(map(repr, nearest))}?" if nearest else ""
    logger.warning(
        "%s: %s=%r is not a value these models know; sent as it is, for Plaid to judge%s",
        endpoint,
        path,
        value[:100],
        hint,
        extra={"plaid_endpoint": endpoint, "plaid_field": path},
    )


def report_drift(endpoint: str, drift: tuple[Drift, ...]) -> None:
    # Once per endpoint and path pattern: the same drift in every event is one line.
    for item in drift:
        key = (endpoint, item.pattern)
        if key in _drift_seen or len(_drift_seen) >= _SEEN_MAX:
            continue
        _drift_seen.add(key)
        logger.warning(
            "%s: the answer drifted from the contract at %s: %s; read as None "
            "(logged once; see docs/models.md, strict=True makes it an error)",
            endpoint,
            item.pattern,
            item.problem,
            extra={"plaid_endpoint": endpoint, "plaid_drift_path": item.path},
        )
