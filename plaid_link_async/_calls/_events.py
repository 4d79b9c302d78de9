"""What a session tells its hooks: one small frozen event per attempt, answer and retry.

Hooks are plain callables given at construction (`on_request=`, `on_response=`,
`on_retry=`), for metrics and tracing. A hook that raises is logged and ignored: an
observer never breaks the call it observes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs

from .._errors._exceptions import PlaidLinkError

logger = logging.getLogger("plaid_link_async")


@attrs.frozen
class RequestEvent:
    """An attempt is about to be sent."""

    endpoint: str
    attempt: int
    url: str


@attrs.frozen
class ResponseEvent:
    """An attempt ended: with an answer (`status`), or without one (`status` is None)."""

    endpoint: str
    attempt: int
    status: int | None
    elapsed: float  # seconds, this attempt only
    request_id: str | None
    error: PlaidLinkError | None  # None when the attempt produced the response model

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class RetryEvent:
    """A failed attempt will be retried after `wait` seconds."""

    endpoint: str
    attempt: int  # the attempt that failed
    max_attempts: int
    wait: float
    error: PlaidLinkError

    @property
    def status(self) -> int | None:
        return getattr(self.error, "status", None)

    @property
    def request_id(self) -> str | None:
        return getattr(self.error, "request_id", None)


_E = TypeVar("_E")
Hook = Callable[[_E], Any]


class Hooks(Generic[_E]):
    """The callables for one kind of event; empty is falsy, so emitting is skipped."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: Hook[_E] | Iterable[Hook[_E]] | None) -> None:
        if hooks is None:
            self._hooks: tuple[Hook[_E], ...] = ()
        elif callable(hooks):
            self._hooks = (hooks,)
        else:
            self._hooks = tuple(hooks)
        for hook in self._hooks:
            if not callable(hook):
                raise TypeError(f"a hook must be callable, got {type(hook).__name__}")

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def emit(self, event: _E) -> None:
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                logger.warning(
                    "hook %r failed on %s; ignored", hook, type(event).__name__, exc_info=True
                )
