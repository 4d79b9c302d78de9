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


def nesting_within(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether JSON-like `value` nests at most `limit` levels (a scalar is 0 deep)."""
    if not isinstance(value, _CONTAINERS):
        return True
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return False
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, _CONTAINERS):
                pending.append((child, depth + 1))
    return True


_CONTAINERS: Final = (dict, list, tuple)
