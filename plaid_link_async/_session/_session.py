"""`AsyncLinkSession`: the contract's operations as coroutines over one request path.

The coroutines themselves are generated (`_api.EndpointMethods`); this module is the
path they all take: `_call` encodes the request and lets tenacity run `_attempt`
(pace, send through the transport, read) until it succeeds or `_failed`, the one
place that decides, says to stop. Around it: the session's views and closing, its
batches (a face over `_batch._run`, handed the session's own call) and its webhook
verification (keys fetched through the session's own call).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import attrs

from .._calls._answers import NO_DRIFT
from .._calls._events import Hook, RequestEvent, ResponseEvent, RetryEvent
from .._calls._off_loop import read_at_once, read_rest
from .._calls._outcome import Outcome
from .._calls._rate_limit import RateLimiter, pace
from .._calls._reporting import Reporter, logger
from .._calls._request_body import encode_request
from .._calls._retry_policy import RetryPolicy
from .._calls._routes import Route, routes
from .._calls._scrubbing import Scrubber
from .._calls._settings import Environment, Timeout, configure_logging
from .._calls._side_effects import ambiguous_error, stamp
from .._errors._exceptions import (
    ConfigurationError,
    PlaidLinkError,
    PlaidTimeoutError,
    RateLimitError,
    SessionClosedError,
    TransportError,
)
from .._schema._converter import to_dict
from .._schema._drift import Drifts
from .._schema._model_base import Model
from .._schema._warn_once import report_drift
from .._transport._aiohttp import AiohttpTransport
from .._transport._seam import Transport, TransportRequest, TransportResponse
from ._api import EndpointMethods
from ._probes import probe_for
from ._setup import DEFAULT_MAX_RESPONSE_BYTES, USER_AGENT, setup
from ._with_raw_response import RawCalls

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from .. import models
    from .._batch._run import BatchRun, ProgressCallback
    from .._calls._otel import Tracing
    from .._webhooks._parsing import UnknownWebhook
    from .._webhooks._verifier import WebhookVerifier

# Where they were before the configuration moved to _setup.
__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "USER_AGENT", "AsyncLinkSession", "RawCalls"]


@attrs.define
class Lifecycle:
    """Whether a session is closed: one object, shared by the session and its views."""

    closed: bool = False


#: A webhook refused for a key that could not be fetched is delivered again by Plaid,
#: and retries here would multiply a forged flood.
_ONE_ATTEMPT: Final = RetryPolicy(max_attempts=1)


class AsyncLinkSession(EndpointMethods):
    """A client for Plaid's Link endpoints, over one pooled aiohttp session.

    Use it as `async with AsyncLinkSession(...) as plaid:` or call `await close()`; share
    one per process (it is safe to use from many tasks at once, within one event loop).

    Args:
        client_id: Plaid client id; defaults to `PLAID_CLIENT_ID`.
        secret: Plaid secret; defaults to `PLAID_SECRET`. Sent only in a header.
        environment: sandbox (default), development or production; defaults to `PLAID_ENV`.
        base_url: overrides the environment's URL (the fake server, a proxy). Plain http
            is accepted only for loopback hosts unless `allow_insecure_http` is set.
        timeout: seconds for a whole call, or a `Timeout` with per-attempt limits. Left
            out: `PLAID_TIMEOUT` if set, else `Timeout()`, which is 60 s a call, 20 s an
            attempt and 10 s to connect.
        retry: the `RetryPolicy` of every call; `RetryPolicy(max_attempts=1)` turns it
            off. Left out: `RetryPolicy()`, which is 3 attempts with backoff from 0.5 s
            to 8 s, with `PLAID_MAX_ATTEMPTS` and `PLAID_RETRY_BACKOFF` (the first
            wait, in seconds; the longest is 16 times it) if set.
        transport: what sends each attempt instead of the default `AiohttpTransport`:
            any object with `async send(TransportRequest) -> TransportResponse`, such
            as `testing.MockTransport` (no socket). It replaces `session`,
            `connector_limit`, `trace_configs` and `trust_env`, which configure the
            default one, and bounds its own reads (`max_response_bytes` bounds the
            default one's).
        session: an `aiohttp.ClientSession` to use instead of the session's own; it is
            never closed here.
        connector_limit: most connections open at once (the own session's pool size).
        trace_configs: given to aiohttp as they are (tracing, OpenTelemetry).
        trust_env: let aiohttp read proxy settings from the environment.
        allow_insecure_http: accept a plain-http `base_url` to a non-loopback host.
        max_response_bytes: the largest response body accepted, after decompression
            (2 MiB); a larger one fails the call with `UnexpectedResponseError`.
        strict: raise `UnexpectedResponseError` on any drift from the contract instead
            of reading the drifted detail as None (for a test suite or CI; see models).
        max_per_second: calls started per second, per operation; left out:
            `PLAID_LINK_MAX_PER_SECOND`, else no pace. With it, a 429 also makes later
            calls wait out its `Retry-After` and halves the rate for a while.
        redis_url: share that limit (and the slowing after a 429) with every process
            that uses this Redis and client id (the `fleet` extra); left out:
            `PLAID_LINK_REDIS_URL`, else this process paces itself alone.
        rate_limiter: a limiter of your own instead (a `LocalRateLimit`, a
            `SharedRateLimit` with other options, or anything with their methods).
        opentelemetry: True (the global tracer provider) or a `TracerProvider`: one span
            per call, retries included (the `opentelemetry` extra; see observability).
        on_request: a callable (or a list of them) given a `RequestEvent` before each
            attempt; for metrics and tracing.
        on_response: likewise, given a `ResponseEvent` after each attempt.
        on_retry: likewise, given a `RetryEvent` before each retry's wait.

    Raises:
        ConfigurationError: credentials missing, unknown environment, or an unsafe URL.
    """

    environment: Environment | None
    """The Plaid environment the session talks to; None for a `base_url` given without
    one (the fake server, a proxy)."""
    base_url: str
    """Where requests go: the environment's URL, or `base_url` as given."""
    client_id: str
    """The client id sent with every request (not a secret: it shows in `repr`)."""
    timeout: Timeout
    """The time limits of every call, unless a call or `with_options` says otherwise."""
    retry: RetryPolicy
    """The retry policy of every call, unless a call or `with_options` says otherwise."""
    strict: bool
    """Whether calls raise on any drift from the contract (see `strict=`)."""

    def __init__(
        self,
        client_id: str | None = None,
        secret: str | None = None,
        *,
        environment: Environment | str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
        connector_limit: int = 100,
        trace_configs: Iterable[aiohttp.TraceConfig] | None = None,
        trust_env: bool = False,
        allow_insecure_http: bool = False,
        # DEFAULT_MAX_RESPONSE_BYTES, spelled out so the reference shows the number.
        max_response_bytes: int = 2 * 1024 * 1024,
        strict: bool = False,
        max_per_second: float | None = None,
        redis_url: str | None = None,
        rate_limiter: RateLimiter | None = None,
        opentelemetry: bool | Any = False,
        on_request: Hook[RequestEvent] | Iterable[Hook[RequestEvent]] | None = None,
        on_response: Hook[ResponseEvent] | Iterable[Hook[ResponseEvent]] | None = None,
        on_retry: Hook[RetryEvent] | Iterable[Hook[RetryEvent]] | None = None,
    ) -> None:
        parts = setup(
            client_id,
            secret,
            environment=environment,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            allow_insecure_http=allow_insecure_http,
            max_response_bytes=max_response_bytes,
            max_per_second=max_per_second,
            redis_url=redis_url,
            rate_limiter=rate_limiter,
        )
        configure_logging()
        self.environment = parts.environment
        self.base_url = parts.base_url
        self.client_id = parts.client_id
        self.timeout = parts.timeout
        self.retry = parts.retry
        self.strict = bool(strict)
        self._scrub = Scrubber(parts.secret, parts.client_id)
        self._webhooks: WebhookVerifier | None = None
        self._tracing: Tracing | None = None
        if opentelemetry is not False and opentelemetry is not None:
            from .._calls._otel import Tracing

            self._tracing = Tracing(None if opentelemetry is True else opentelemetry)
        self._report = Reporter(self._scrub, on_request, on_response, on_retry, self._tracing)
        self._view_of: AsyncLinkSession | None = None
        self._view_closed = False
        self._limiter, self._owns_limiter = parts.limiter, parts.owns_limiter
        self._headers = parts.headers
        self._max_response_bytes = max_response_bytes
        self._life = Lifecycle()
        if transport is None:
            transport = AiohttpTransport(
                max_bytes=max_response_bytes,
                session=session,
                connector_limit=connector_limit,
                trust_env=trust_env,
                trace_configs=trace_configs,
            )
        elif (
            session is not None or trace_configs is not None or connector_limit != 100 or trust_env
        ):
            raise ConfigurationError(
                "transport= replaces session=, connector_limit=, trace_configs= and "
                "trust_env=, which configure the default transport: give one or the other"
            )
        elif not callable(getattr(transport, "send", None)):
            raise ConfigurationError(
                f"transport must have an async send(request) method, got {type(transport).__name__}"
            )
        self._transport = transport
        # A fake served from a loop that cannot answer (the test's, blocked by a sync
        # test client) is found before the first call instead of by its timeout.
        # Looked up at the first call, not here: an app may make its session before
        # the test starts the fake it will call.
        self._probed = False
        self._routes = routes(self.base_url)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncLinkSession {self.base_url} client_id={self.client_id!r} {state}>"

    @property
    def closed(self) -> bool:
        """Whether `aclose()` was called (on this view, or on the session it views)."""
        return self._view_closed or self._life.closed

    @property
    def max_per_second(self) -> float | None:
        """The calls started per second per operation the session's own limiter keeps
        (None without one, or with a limiter passed in)."""
        return getattr(self._limiter, "max_per_second", None) if self._owns_limiter else None

    @property
    def max_response_bytes(self) -> int:
        """The largest response body a call accepts, after decompression."""
        return self._max_response_bytes

    @property
    def http_session(self) -> aiohttp.ClientSession | None:
        """The underlying `aiohttp.ClientSession`, once the first call made it (None
        with a transport of your own)."""
        session: aiohttp.ClientSession | None = getattr(self._transport, "session", None)
        return session

    # -- views and closing ---------------------------------------------------------

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

    # -- batches -------------------------------------------------------------------

    def link_token_create_many(
        self,
        requests: Iterable[models.LinkTokenCreateRequest]
        | AsyncIterable[models.LinkTokenCreateRequest],
        *,
        concurrency: int = 32,
        max_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> BatchRun:
        """Create a link token per request, many at once; iterate the results as they finish.

        `async for result in plaid.link_token_create_many(requests, concurrency=50):`
        gives a `BatchResult` per input (its `index`, `request`, and `response` or
        `error`). Inputs are pulled lazily from any iterable or async iterable, so a
        generator of millions is fine. One failure never stops the batch; a rate limit
        halves the concurrency of the whole batch, which climbs back when it is quiet.

        Args:
            requests: `LinkTokenCreateRequest`s, in any number.
            concurrency: most calls in flight (also the starting point).
            max_per_second: most calls started per second, if set.
            retry: the retry policy of each call instead of the session's.
            progress: called with a `BatchProgress` after every result
                (`ProgressBar` draws one with tqdm).
        """
        from .._batch._run import BatchRun  # here: a web app that never batches never loads it

        return BatchRun(
            functools.partial(_create_one, self),
            requests,
            concurrency=concurrency,
            max_per_second=max_per_second,
            retry=retry,
            progress=progress,
        )

    # -- webhooks ------------------------------------------------------------------

    @property
    def webhooks(self) -> WebhookVerifier:
        """The verifier `verify_webhook` uses: Plaid's keys, fetched through this session
        and cached by key id. Its `max_age`, `leeway` and `clock` may be changed."""
        verifier = self._webhooks
        if verifier is None:
            from .._webhooks._verifier import (
                WebhookVerifier,  # PyJWT only where webhooks are verified
            )

            verifier = self._webhooks = WebhookVerifier(self._fetch_webhook_key)
        return verifier

    @webhooks.setter
    def webhooks(self, verifier: WebhookVerifier) -> None:
        self._webhooks = verifier

    def _share_webhook_keys(self) -> None:
        # Made now, so that a view from `with_options` shares its key cache.
        self.webhooks  # noqa: B018

    async def verify_webhook(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        strict: bool | None = None,
        client_address: str | None = None,
    ) -> Model | UnknownWebhook:
        """Verify a webhook's `Plaid-Verification` JWT, then parse it.

        Args:
            body: the request body exactly as received (raw bytes, not re-serialised).
            headers: the request's headers; the header name is matched in any case.
            strict: raise `InvalidWebhookError` naming the field on any drift (None:
                the session's `strict`, as for calls).
            client_address: the peer's address, checked first against
                `plaid.webhooks.sources` when you set them (see `WebhookVerifier`).

        Returns:
            The webhook's model (`ItemAddResultWebhook`, `LinkSessionFinishedWebhook`,
            ...), or an `UnknownWebhook` for a type or code newer than these models.

        Raises:
            WebhookVerificationError: it is not proven Plaid's; `reason` says why.
            InvalidWebhookError: verified, but not a JSON object (or, read strictly,
                it breaks the contract).
        """
        strict = self.strict if strict is None else strict
        return await self.webhooks.verify(
            body, headers, strict=strict, client_address=client_address
        )

    async def _fetch_webhook_key(self, key_id: str) -> Mapping[str, Any]:
        from ..models import WebhookVerificationKeyGetRequest

        # One attempt (see _ONE_ATTEMPT). Strict: a key is no place for drift (an
        # `expired_at` that is no time would read None, "never expires").
        answer = await self.webhook_verification_key_get(
            WebhookVerificationKeyGetRequest(key_id=key_id), retry=_ONE_ATTEMPT, strict=True
        )
        return to_dict(answer.key)

    # -- raw responses --------------------------------------------------------------

    @property
    def with_raw_response(self) -> RawCalls:
        """The same calls, each returning a `RawAPIResponse` with status, headers and timing.

        `(await plaid.with_raw_response.link_token_get(request)).headers`
        """
        return RawCalls(self)

    # -- the one request path ------------------------------------------------------------

    async def _call(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        on_error: Callable[[PlaidLinkError], None] | None = None,
        *,
        strict: bool | None = None,
        traced: bool = False,
    ) -> Outcome:
        """Send `request` to endpoint `name`, retrying as `retry` says.

        `on_error` sees every failed attempt, retried or not (the batch slows down on it).
        """
        if self._tracing is not None and not traced:
            # Only a traced call pays for the span and its extra frame.
            return await self._report.traced(
                name,
                self._routes[name].url,
                lambda: self._call(
                    name, request, timeout, retry, on_error, strict=strict, traced=True
                ),
            )
        if self._view_closed:
            raise SessionClosedError("this view of an AsyncLinkSession is closed")
        if self._life.closed:
            raise SessionClosedError("this AsyncLinkSession is closed; create a new one")
        if not self._probed:
            probe = probe_for(self.base_url)
            if probe is not None:
                await probe()  # raises while the fake cannot answer
            self._probed = True
        route = self._routes[name]
        body = encode_request(route, request)
        strict = self.strict if strict is None else strict
        limits = self.timeout if timeout is None else Timeout.of(timeout)
        policy = self.retry if retry is None else retry
        # Whether a failure that leaves Plaid's action unknown may be followed by another
        # attempt (see _repeat): asked once, before the first.
        repeatable = policy.repeats(route.name, request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + limits.total

        async def attempt(number: int) -> Outcome:
            """Attempt `number`; its failure comes out already decided on by `_failed`."""
            failure: PlaidLinkError
            try:
                result, raw, drift = await self._attempt(
                    route, body, limits, deadline, number, strict, loop.time()
                )
                return Outcome(result, raw, drift, number, loop.time() - started)
            except PlaidLinkError as error:
                failure = self._failed(error, route.name, number, repeatable, on_error)
            # Outside `except`: an AmbiguousOutcomeError holds the failure already,
            # and needs no second copy of it as its context.
            raise failure

        # Most calls succeed at once, and setting up tenacity's loop costs about a
        # third of a call's CPU: the first attempt runs before it. A failure is handed
        # to tenacity as its attempt 1, so tenacity alone decides, waits and retries.
        try:
            return await attempt(1)
        except PlaidLinkError as error:
            first = [error]  # a list, let go of once raised: not kept through the retries
        retrying = policy.retrying(
            deadline=deadline,
            clock=loop.time,
            before_sleep=self._report.before_sleep(route, policy, started),
        )
        async for turn in retrying:
            with turn:
                number = turn.retry_state.attempt_number
                if number == 1:
                    raise first.pop()
                return await attempt(number)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    @staticmethod
    def _failed(
        error: PlaidLinkError,
        operation: str,
        attempt: int,
        repeatable: bool,
        on_error: Callable[[PlaidLinkError], None] | None,
    ) -> PlaidLinkError:
        """What a failed attempt raises: the failure itself, which tenacity retries when
        the policy says so, or an `AmbiguousOutcomeError` (never retried) when Plaid may
        have acted on a request that must not be sent twice."""
        stamp(error, operation, attempt)
        if on_error is not None:
            on_error(error)
        if repeatable:
            return error
        return ambiguous_error(error, operation, attempt) or error

    async def _attempt(
        self,
        route: Route,
        body: bytes,
        limits: Timeout,
        deadline: float,
        number: int,
        strict: bool,
        started: float,
    ) -> tuple[Model, TransportResponse, Drifts]:
        """One attempt, begun at `started` on the loop's clock."""
        loop = asyncio.get_running_loop()
        remaining = deadline - started
        if remaining <= 0:
            raise PlaidTimeoutError(
                f"the call's overall timeout of {limits.total:g} s passed",
                endpoint=route.name,
                retryable=False,
                sent=False,
            )
        if self._limiter is not None:
            await pace(self._limiter, route.name, deadline)
            remaining = deadline - loop.time()
        budget = min(limits.attempt, remaining)
        report = self._report
        if report.announces:
            report.on_request.emit(RequestEvent(route.name, number, route.url))
        status: int | None = None
        request_id: str | None = None
        failure: PlaidLinkError | None = None
        raw: TransportResponse | None = None
        try:
            raw = await self._send(
                TransportRequest("POST", route.url, self._headers, body, budget, limits.connect)
            )
            status = raw.status
            result, data = read_at_once(raw, route)
            if result is None:
                result, drift = await read_rest(raw, data, route, strict, started + budget)
            else:
                drift = NO_DRIFT
            request_id = getattr(result, "request_id", None)
            if drift:
                report_drift(route.name, drift)
            return result, raw, drift
        except PlaidTimeoutError as error:
            if error.connecting:
                error.message = (
                    f"could not open a connection within {min(limits.connect, budget):.3g} s "
                    "(connect timeout), or none was free in the pool within the attempt: "
                    "the request was not sent"
                )
            else:
                which = (
                    "the call's overall timeout" if budget < limits.attempt else "attempt timeout"
                )
                error.message = f"no answer within {budget:.3g} s ({which}; {error.message})"
            failure = error
            raise
        except PlaidLinkError as error:
            self._scrub.error(error)
            request_id = getattr(error, "request_id", None)
            failure = error
            if isinstance(error, RateLimitError) and self._limiter is not None:
                await self._limiter.throttled(route.name, error.retry_after)
            raise
        finally:
            # The log level may change while the session lives; the hooks may not.
            if report.reports_ends or logger.isEnabledFor(logging.DEBUG):
                report.ended(route, number, status, loop.time() - started, request_id, failure)
            # A failure's traceback keeps this frame while tenacity waits to retry: it
            # must not keep the body, parsed or not, nor the failure itself (a cycle).
            raw = data = failure = None

    async def _send(self, request: TransportRequest) -> TransportResponse:
        """One exchange through the transport; anything but our own errors from a
        transport of the caller's becomes a `TransportError` (maybe sent)."""
        try:
            return await self._transport.send(request)
        except (PlaidLinkError, asyncio.CancelledError):
            raise
        except Exception as error:
            failure = TransportError(
                f"the transport failed: {type(error).__name__}", retryable=False, sent=True
            )
        raise failure  # outside `except`: the transport's error may hold the request


async def _create_one(
    session: AsyncLinkSession,
    request: models.LinkTokenCreateRequest,
    retry: RetryPolicy | None,
    on_error: Callable[[PlaidLinkError], None],
) -> models.LinkTokenCreateResponse:
    outcome = await session._call("link_token_create", request, None, retry, on_error)
    result: models.LinkTokenCreateResponse = outcome.result
    return result
