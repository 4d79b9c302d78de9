"""Redis going away and coming back, as a campaign's processes see it.

An outage is not a bug: a worker or feeder waits it out, says so once when it starts
and once when it ends, and prints no traceback. `is_outage` is the one rule of what
counts as one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

logger: Final = logging.getLogger("plaid_link_async")
T = TypeVar("T")
#: Seconds between tries of a Redis call while Redis is away.
RETRY_SECONDS: Final = 0.5


def is_outage(error: BaseException) -> bool:
    """Whether `error` is Redis away for now: refused, reset, timed out, loading its
    data after a restart, a replica during a failover, or out of memory. Wrong
    credentials are not: waiting does not mend them."""
    from redis.exceptions import (
        AuthenticationError,
        AuthorizationError,
        ConnectionError,
        OutOfMemoryError,
        ReadOnlyError,
        TimeoutError,
    )

    if isinstance(error, (AuthenticationError, AuthorizationError)):
        return False
    return isinstance(error, (ConnectionError, TimeoutError, ReadOnlyError, OutOfMemoryError))


def connect(url: str) -> Any:
    """A campaign process's Redis client for its records: every wait bounded, so that a
    Redis gone away is noticed as an outage rather than hung on. (saq's queue has its own
    client, without a read timeout: taking a job blocks until there is one.)"""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def describe(error: BaseException) -> str:
    """An outage in a few words, without the URL (it may hold a password)."""
    text = str(error).splitlines()[0][:160] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RedisOutage:
    """One WARNING when Redis goes away, one when it answers again, whatever the number
    of calls that meet it meanwhile."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.down_since: float | None = None

    def __repr__(self) -> str:
        return f"<RedisOutage {self.who} {'down' if self.down_since else 'up'}>"

    def down(self, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = asyncio.get_running_loop().time()
            logger.warning(
                "%s: Redis unreachable (%s); waiting for it, nothing is lost",
                self.who,
                describe(error),
            )

    def up(self) -> None:
        if self.down_since is not None:
            away = asyncio.get_running_loop().time() - self.down_since
            self.down_since = None
            logger.warning("%s: Redis answers again after %.1f s", self.who, away)


async def patiently(
    call: Callable[[], Awaitable[T]],
    until: float,
    on_wait: Callable[[BaseException], Any] | None = None,
) -> T:
    """`await call()`, and again while Redis is away (see `is_outage`), until the loop's
    clock reads `until`; `on_wait` is told of each failed try."""
    while True:
        try:
            return await call()
        except Exception as error:
            if not is_outage(error) or asyncio.get_running_loop().time() >= until:
                raise
            if on_wait is not None:
                on_wait(error)
            await asyncio.sleep(RETRY_SECONDS)
