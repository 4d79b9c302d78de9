"""The root of everything the library raises, and the rules for its text: one line,
control characters escaped, long text cut (see `_exceptions` for the tree)."""

from __future__ import annotations

import re
from typing import Any, Final


class PlaidLinkError(Exception):
    """Base of every exception plaid_link_async raises."""

    def __repr__(self) -> str:
        # Exception's own, with each text cut and escaped as `str()` does it: a server's
        # message may be a megabyte long, or forge a log line.
        shown = ", ".join(repr(one_line(arg) if isinstance(arg, str) else arg) for arg in self.args)
        return one_line(f"{type(self).__name__}({shown})")


#: The longest `str()` of an error; a server's 1 MiB message is cut, its attribute whole.
MAX_LINE: Final = 2000
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: any of
# them in a server's text would start a forged log line or move a terminal's cursor.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """`text` fit for a log line: control characters escaped (`\\n`, `\\x1b`), and
    cut after `limit` characters with a marker saying how many were left out."""
    if _CONTROL.search(text) is not None:
        text = _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)
    if len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit:,} characters)"
    return text


def _suffix(request_id: str | None, attempts: int) -> str:
    parts = [f"request_id={one_line(request_id, 100)}"] if request_id else []
    if attempts > 1:
        parts.append(f"after {attempts} attempts")
    return f" [{', '.join(parts)}]" if parts else ""


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    # Keyword-only constructors do not survive pickle's default `cls(*args)`.
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error
