"""`RetryPolicy`: which failures are retried, how long to wait, and its tenacity form."""

from __future__ import annotations

import asyncio
import difflib
import math
import random
import time
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
import tenacity

from .._errors._exceptions import (
    ConfigurationError,
    PlaidAPIError,
    RateLimitError,
    TransportError,
    UnexpectedResponseError,
)
from .._schema._operations import ENDPOINTS
from ._side_effects import is_repeatable

#: Statuses worth another attempt: timeouts, rate limits and every server-side failure.
RETRY_STATUSES: Final = frozenset({408, 429, *range(500, 600)})


def _at_least(minimum: float) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not value >= minimum:  # also rejects NaN
            raise ConfigurationError(f"RetryPolicy.{attribute.name} must be >= {minimum}")

    return check


def _operations(value: Mapping[str, bool] | None) -> Mapping[str, bool]:
    # Read-only, so that the frozen policy stays what it was built as.
    table = dict(value or {})
    for name, repeat in table.items():
        if name not in ENDPOINTS:
            nearest = difflib.get_close_matches(str(name), ENDPOINTS, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise ConfigurationError(
                f"RetryPolicy.repeatable names an unknown operation {name!r}{hint}"
            )
        if not isinstance(repeat, bool):
            raise ConfigurationError(
                f"RetryPolicy.repeatable[{name!r}] must be True or False, got {repeat!r}"
            )
    return types.MappingProxyType(table)


@attrs.frozen
class RetryPolicy:
    """How a call is retried; `max_attempts` counts the first try (1 turns retries off).

    The n-th retry waits `min(initial_delay * 2**(n-1), max_delay)`, less a random share
    of up to `jitter` of it, so that clients failing together do not come back together.
    A `Retry-After` from the server replaces that wait. One longer than `max_retry_after`
    is not waited at all: the error (a `RateLimitError` with `retry_after` set) is raised
    at once, so the caller decides, instead of a web request hanging for the cap first.

    An operation that is not safe to send twice (an exchange, a Hosted Link delivery)
    is retried only after a failure that proves Plaid did not act on it: a refused
    connection, a 429, a 4xx. After a timeout, a lost connection or a 5xx it raises
    `AmbiguousOutcomeError` instead. `repeatable` overrides that per operation:
    `{"item_public_token_exchange": True}` retries it like a read, at your risk;
    `{"link_token_create": False}` never repeats even a plain create.
    """

    max_attempts: int = attrs.field(default=3, validator=_at_least(1))
    initial_delay: float = attrs.field(default=0.5, validator=_at_least(0))
    max_delay: float = attrs.field(default=8.0, validator=_at_least(0))
    jitter: float = attrs.field(default=0.25, validator=_at_least(0))
    max_retry_after: float = attrs.field(default=30.0, validator=_at_least(0))
    repeatable: Mapping[str, bool] = attrs.field(
        factory=dict, converter=_operations, hash=False, repr=lambda table: repr(dict(table))
    )

    def __attrs_post_init__(self) -> None:
        if self.jitter > 1:
            raise ConfigurationError("RetryPolicy.jitter is a share of the wait: at most 1")

    def repeats(self, operation: str, request: Any) -> bool:
        """Whether `request` to `operation` may be sent again after an unclear failure."""
        override = self.repeatable.get(operation)
        return is_repeatable(operation, request) if override is None else override

    def backoff(self, retry_number: int) -> float:
        """The wait before retry `retry_number` (1 for the first retry), jitter included."""
        # The doubling stops at 2**60: a policy of thousands of attempts would overflow.
        delay = min(self.initial_delay * 2.0 ** min(retry_number - 1, 60), self.max_delay)
        return delay * (1 - self.jitter * random.random())

    def wait_for(self, error: BaseException | None, retry_number: int) -> float:
        """The wait before the next attempt after `error`: `Retry-After` first, else backoff."""
        hint = getattr(error, "retry_after", None)
        if hint is not None:
            return min(float(hint), self.max_retry_after)
        return self.backoff(retry_number)

    def should_retry(self, error: BaseException) -> bool:
        """Whether this policy tries again after `error`: retryable, and no `Retry-After`
        asking for longer than `max_retry_after`."""
        if not is_retryable(error):
            return False
        hint = getattr(error, "retry_after", None)
        return hint is None or float(hint) <= self.max_retry_after

    def retrying(
        self,
        *,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        before_sleep: Callable[[tenacity.RetryCallState], Awaitable[None] | None] | None = None,
    ) -> tenacity.AsyncRetrying:
        """A fresh tenacity loop for one call that ends by `deadline` on `clock`.

        Fresh per call: tenacity keeps per-run state on the object itself.
        """

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_for(error, state.attempt_number)

        def stop(state: tenacity.RetryCallState) -> bool:
            # Give up rather than sleep past the deadline: the wait would be wasted.
            return (
                state.attempt_number >= self.max_attempts
                or clock() + (state.upcoming_sleep or 0.0) >= deadline
            )

        return tenacity.AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(self.should_retry),
            reraise=True,
            sleep=asyncio.sleep,
            before_sleep=before_sleep,
        )


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed after `error` (never after a 4xx but 408/429)."""
    if isinstance(error, TransportError):
        return error.retryable
    if isinstance(error, RateLimitError):
        return True
    if isinstance(error, UnexpectedResponseError):
        return error.retryable and error.status in RETRY_STATUSES
    if isinstance(error, PlaidAPIError):
        return error.status in RETRY_STATUSES
    return False


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """`Retry-After` in seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            import email.utils  # here: an HTTP-date Retry-After is rare, the module is not

            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
