"""What a session tells about its calls: a log line per attempt and retry, the
`on_request` / `on_response` / `on_retry` hooks, and the OpenTelemetry span."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import tenacity

from .._errors._exceptions import PlaidLinkError
from .._errors._root import one_line
from ._events import Hook, Hooks, RequestEvent, ResponseEvent, RetryEvent
from ._retry_policy import RetryPolicy
from ._scrubbing import Scrubber

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._otel import Tracing
    from ._outcome import Outcome
    from ._routes import Route

logger: Final = logging.getLogger("plaid_link_async")


class Reporter:
    """The session's hooks, tracing and logging of attempts, in one place."""

    def __init__(
        self,
        scrub: Scrubber,
        on_request: Hook[RequestEvent] | Iterable[Hook[RequestEvent]] | None,
        on_response: Hook[ResponseEvent] | Iterable[Hook[ResponseEvent]] | None,
        on_retry: Hook[RetryEvent] | Iterable[Hook[RetryEvent]] | None,
        tracing: Tracing | None,
    ) -> None:
        self.scrub = scrub
        self.on_request = Hooks(on_request)
        self.on_response = Hooks(on_response)
        self.on_retry = Hooks(on_retry)
        self.tracing = tracing
        # Asked on every attempt: the hooks are fixed at construction, so the answers
        # are too. `ended` also has work when `logger` logs DEBUG, which the request
        # path asks itself (the level may change while the session lives).
        self.announces = bool(self.on_request)
        self.reports_ends = bool(self.on_response) or tracing is not None

    def before_sleep(
        self, route: Route, policy: RetryPolicy, started: float
    ) -> Callable[[tenacity.RetryCallState], None]:
        loop = asyncio.get_running_loop()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            assert isinstance(error, PlaidLinkError)
            wait = state.upcoming_sleep
            logger.info(
                "%s attempt %d of %d failed after %.1f ms: %s; retrying in %.2f s",
                route.name,
                state.attempt_number,
                policy.max_attempts,
                (loop.time() - started) * 1000,
                error,
                wait,
                extra={
                    "plaid_endpoint": route.name,
                    "plaid_attempt": state.attempt_number,
                    "plaid_status": getattr(error, "status", None),
                    "plaid_request_id": _shown(getattr(error, "request_id", None)),
                },
            )
            if self.on_retry:
                self.on_retry.emit(
                    RetryEvent(route.name, state.attempt_number, policy.max_attempts, wait, error)
                )

        return before_sleep

    def ended(
        self,
        route: Route,
        number: int,
        status: int | None,
        elapsed: float,
        request_id: str | None,
        failure: PlaidLinkError | None,
    ) -> None:
        # The request id is the server's text: escaped and cut, as in `str(error)`.
        shown = one_line(self.scrub.text(request_id), 100) if request_id else None
        logger.debug(
            "%s attempt %d: %s in %.1f ms, request_id=%s",
            route.name,
            number,
            f"HTTP {status}" if status is not None else "no answer",
            elapsed * 1000,
            shown,
            extra={
                "plaid_endpoint": route.name,
                "plaid_attempt": number,
                "plaid_status": status,
                "plaid_request_id": shown,
                "plaid_elapsed_ms": round(elapsed * 1000, 1),
            },
        )
        if self.on_response:
            self.on_response.emit(
                ResponseEvent(route.name, number, status, elapsed, request_id, failure)
            )
        if self.tracing is not None:
            self.tracing.attempt(number, status, elapsed, failure)

    async def traced(self, name: str, url: str, call: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """`call()` inside the call's span, which records how it ended."""
        tracing = self.tracing
        assert tracing is not None
        with tracing.call(name, url) as span:
            try:
                outcome = await call()
            except PlaidLinkError as error:
                tracing.failed(span, error)
                raise
            request_id = getattr(outcome.result, "request_id", None)
            if isinstance(request_id, str):
                request_id = self.scrub.text(request_id)  # a server may echo anything
            tracing.succeeded(span, outcome.raw.status, outcome.attempts, request_id)
            return outcome


def _shown(request_id: str | None) -> str | None:
    return one_line(request_id, 100) if request_id else None
