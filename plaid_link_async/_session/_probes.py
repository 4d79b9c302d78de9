"""Checks a session runs before its first call, handed to it by whoever serves Plaid's
API in this process.

The fake (`plaid_link_async.testing`) registers one when it is imported: a fake served
from an event loop that cannot answer (a test's own, blocked while a synchronous test
client runs the app) is then named before the first call instead of found by its
timeout. The session never imports the fake; the fake hands it the check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Probe = Callable[[], Awaitable[None]]
#: For a base URL, the check to run before the first call to it, or None.
ProbeFinder = Callable[[str], Probe | None]

_finders: list[ProbeFinder] = []


def register(finder: ProbeFinder) -> None:
    """Have every session made from now on ask `finder` for its check."""
    if finder not in _finders:
        _finders.append(finder)


def probe_for(base_url: str) -> Probe | None:
    """The check a session to `base_url` runs before its first call, if any."""
    for finder in _finders:
        probe = finder(base_url)
        if probe is not None:
            return probe
    return None
