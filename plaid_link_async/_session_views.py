"""A session's views and its closing: `with_options` makes a view sharing the pool,
hooks and webhook keys, and closing a view never closes what it shares."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import attrs

from ._config import Timeout
from ._exceptions import SessionClosedError
from ._ratelimit import RateLimiter
from ._retry import RetryPolicy
from ._transport_base import Transport

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self


@attrs.define
class Lifecycle:
    """Whether a session is closed: one object, shared by the session and its views."""

    closed: bool = False


class SessionViews:
    """`with_options` and `close`, for `AsyncLinkSession`."""

    if TYPE_CHECKING:
        timeout: Timeout
        retry: RetryPolicy
        strict: bool
        _view_of: Self | None
        _view_closed: bool
        _transport: Transport
        _life: Lifecycle
        _limiter: RateLimiter | None
        _owns_limiter: bool

        @property
        def closed(self) -> bool: ...

        def _share_webhook_keys(self) -> None: ...

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        retry: RetryPolicy | None = None,
        strict: bool | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> Self:
        """This session with other defaults, over the same connection pool.

        `fast = plaid.with_options(timeout=2, retry=RetryPolicy(max_attempts=1))`. The
        view shares the pool, hooks and webhook key cache; closing it closes the view
        only, never the pool, which stays the original session's. A `rate_limiter`
        given here paces the view's calls instead (the view never closes it).

        Raises:
            SessionClosedError: this session or view is closed.
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        if self.closed:
            raise SessionClosedError("with_options() of a closed AsyncLinkSession (or view)")
        self._share_webhook_keys()
        view = copy.copy(self)
        view._view_of = self._view_of or self
        view._view_closed = False
        if timeout is not None:
            view.timeout = Timeout.of(timeout)
        if retry is not None:
            view.retry = retry
        if strict is not None:
            view.strict = bool(strict)
        if rate_limiter is not None:
            view._limiter, view._owns_limiter = rate_limiter, False
        return view

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool (not a session passed in). Safe to call twice.

        On a view from `with_options`, only the view is closed."""
        if self._view_of is not None:
            self._view_closed = True
            return
        if self._life.closed:
            return
        self._life.closed = True
        close = getattr(self._transport, "aclose", None)
        if close is not None:
            await close()
        if self._owns_limiter and self._limiter is not None:
            limiter, self._limiter = self._limiter, None
            await limiter.aclose()

    async def aclose(self) -> None:
        """`close()`, by the name `contextlib.aclosing` and httpx users expect."""
        await self.close()
