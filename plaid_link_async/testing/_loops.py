"""Which event loop serves each in-process fake, so a session can tell it is unreachable.

FastAPI's `TestClient` and Django's test client run the app in a loop of their own and
block the test's loop meanwhile. A fake served from the test's loop then never answers,
and every call would wait out its whole timeout in silence. A session whose base URL is
such a fake probes the fake's loop once, before its first call, and fails at once with
what to use instead. This module hands the session its check (`_session._probes`) when
it is imported, so it costs nothing where the testing package never is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from .._errors._exceptions import ConfigurationError
from .._session._probes import register

#: How long a fake's loop may take to run a callback before it counts as blocked.
PROBE_SECONDS: Final = 0.5

# By port: a fake serves on loopback only, where a port names one server whichever
# loopback name (`127.0.0.1`, `localhost`, `::1`) a base URL uses.
_serving: dict[int, asyncio.AbstractEventLoop] = {}
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def serving(host: str, port: int, loop: asyncio.AbstractEventLoop) -> None:
    _serving[port] = loop


def stopped(host: str, port: int) -> None:
    _serving.pop(port, None)


def probe_for(base_url: str) -> Callable[[], Awaitable[None]] | None:
    """A check that the in-process fake at `base_url` can answer, or None if none is."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in _LOOPBACK or port is None:
        return None
    home = _serving.get(port)
    if home is None:
        return None

    async def probe() -> None:
        if home is asyncio.get_running_loop() or home.is_closed() or not home.is_running():
            return
        answered = threading.Event()
        try:
            home.call_soon_threadsafe(answered.set)
        except RuntimeError:  # closed meanwhile
            return
        if not await asyncio.to_thread(answered.wait, PROBE_SECONDS):
            raise ConfigurationError(
                f"the fake Plaid server at {base_url} runs in another event loop, which is "
                "blocked (the test's own, while FastAPI's TestClient or Django's test "
                "client runs your app in a loop of theirs), so it can never answer: use "
                "the fake_plaid_thread fixture (FakePlaidThread) instead of fake_plaid"
            )

    return probe


register(probe_for)
