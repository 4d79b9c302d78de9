"""How deep untrusted JSON may nest where the library keeps it.

A model's declared fields nest as deep as the contract says, a handful of levels. What
it keeps without a schema (unknown fields in `extra`, fields typed "any", the payload of
an `UnknownWebhook`) is checked here when it is stored: deeper than `MAX_NESTING` is
refused or dropped, so every later walk (repr, pickle, `to_dict`, scrubbing, copying)
stays far from Python's recursion limit, whoever sent the data. The check itself is a
loop, not a recursion.
"""

from __future__ import annotations

from typing import Any, Final

#: The deepest a kept value may nest. Plaid's deepest answer nests under 10 levels.
MAX_NESTING: Final = 32


def nesting_within(value: Any, limit: int = MAX_NESTING, *, floats: bool = True) -> bool:
    """Whether JSON-like `value` nests at most `limit` levels (a scalar is 0 deep), and,
    without `floats`, holds no float anywhere."""
    if not floats and value.__class__ is float:
        return False
    if not isinstance(value, _CONTAINERS):
        return True
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return False
        for child in node.values() if isinstance(node, dict) else node:
            if child.__class__ is float and not floats:
                return False
            if isinstance(child, _CONTAINERS):
                pending.append((child, depth + 1))
    return True


def plain_within(value: Any, limit: int = MAX_NESTING) -> bool:
    """`nesting_within`, and no float anywhere in `value`.

    For data orjson read without the long-number scan (see `_json`): it reads an
    integer past 64 bits as a float, so a float kept as it came may not be what the
    standard json would have kept, and the answer is read again by the standard json.
    """
    return nesting_within(value, limit, floats=False)


_CONTAINERS: Final = (dict, list, tuple)
