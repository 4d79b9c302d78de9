"""`AsyncLinkSession`: the contract's operations as coroutines over one request path.

The coroutines themselves are generated (`_api.EndpointMethods`); this module is the
path they all take: encoding, the first attempt, tenacity for the rest, decoding.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import logging
import platform
import sys
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import aiohttp
import tenacity

from ._api import EndpointMethods, RawEndpointMethods
from ._config import (
    Environment,
    Timeout,
    configure_logging,
    env_max_attempts,
    env_max_per_second,
    env_redis_url,
    env_retry_backoff,
    env_timeout,
    resolve_settings,
)
from ._converter import to_dict
from ._decode import NO_DRIFT, decode, parse, read_drifted
from ._drift import Drifts
from ._endpoints import ENDPOINTS
from ._events import Hook, Hooks, RequestEvent, ResponseEvent, RetryEvent
from ._exceptions import (
    AmbiguousOutcomeError,
    ConfigurationError,
    FieldError,
    PlaidLinkError,
    PlaidTimeoutError,
    RateLimitError,
    RequestValidationError,
    SessionClosedError,
)
from ._model_base import Model
from ._nesting import MAX_NESTING, nesting_within
from ._once import report_drift, warn_unknown_enum
from ._ratelimit import LocalRateLimit, RateLimiter, check_rate
from ._raw import RawAPIResponse
from ._repeat import check_for, not_processed
from ._retry import RetryPolicy
from ._scrub import Scrubber
from ._transport import RawResponse, Transport
from ._validation import check_for_sending
from ._version import __version__

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from . import models
    from ._batch import BatchRun, ProgressCallback
    from ._otel import Tracing
    from ._webhooks import UnknownWebhook, WebhookVerifier

logger: Final = logging.getLogger("plaid_link_async")

API_VERSION: Final = "2020-09-14"
USER_AGENT: Final = (
    f"plaid-link-async/{__version__} (Python {platform.python_version()}; "
    f"aiohttp {aiohttp.__version__})"
)

_ONE_ATTEMPT: Final = RetryPolicy(max_attempts=1)
#: Finite, unlike the official SDK's: a call never hangs forever.
DEFAULT_TIMEOUT: Final = Timeout()
#: Two retries with capped, jittered backoff, as openai-python and stripe-python do.
DEFAULT_RETRY: Final = RetryPolicy()
#: 2 MiB: the largest real answer, a `link_token_get` with many Multi-Item sessions, is
#: tens of KB (about 3 KB a session); and the worst 2 MiB of JSON parses in about 30 ms
#: here, so no answer holds the event loop past 50 ms (docs/security.md).
DEFAULT_MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024
# Bodies up to this size are parsed on the loop (a few ms at most); larger ones in a
# worker thread, bounded by the time the attempt has left.
INLINE_DECODE_BYTES: Final = 256 * 1024
# A drifted body up to this size is read tolerantly on the loop: at worst (an array of
# empty objects, each a model with its drift, about 1 µs a field) about 10 ms; larger
# ones in the thread. Drift is rare, so the thread's hop costs little.
INLINE_TOLERANT_BYTES: Final = 4 * 1024

# One encoder for all: `json.dumps` with any option builds a new encoder per call.
_encode_json: Final = json.JSONEncoder(separators=(",", ":")).encode


class _Outcome(NamedTuple):
    result: Model
    raw: RawResponse
    drift: Drifts
    attempts: int
    elapsed: float


class _Route(NamedTuple):
    name: str
    url: str
    request: type[Model]
    response: type[Model]


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
        settings = resolve_settings(
            client_id, secret, environment, base_url, allow_http=allow_insecure_http
        )
        configure_logging()
        # The environment fills in what the code left out, so that an app configured
        # from PLAID_* can be made fast to test without a code change.
        if timeout is None:
            seconds = env_timeout()
            timeout = DEFAULT_TIMEOUT if seconds is None else seconds
        if retry is None:
            retry = _retry_from_env()
        if not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ConfigurationError(
                f"max_response_bytes must be a positive integer, got {max_response_bytes!r}"
            )
        self.environment = settings.environment
        self.base_url = settings.base_url
        self.client_id = settings.client_id
        self.timeout = Timeout.of(timeout)
        self.retry = retry
        self.strict = bool(strict)
        self._on_request = Hooks(on_request)
        self._on_response = Hooks(on_response)
        self._on_retry = Hooks(on_retry)
        self._scrub = Scrubber(settings.secret, settings.client_id)
        self._webhooks: WebhookVerifier | None = None
        self._tracing: Tracing | None = None
        if opentelemetry is not False and opentelemetry is not None:
            from ._otel import Tracing

            self._tracing = Tracing(None if opentelemetry is True else opentelemetry)
        self._view_of: AsyncLinkSession | None = None
        self._view_closed = False
        self._limiter, self._owns_limiter = _make_limiter(
            rate_limiter, max_per_second, redis_url, settings.client_id
        )
        self._transport = Transport(
            headers={
                "PLAID-CLIENT-ID": settings.client_id,
                "PLAID-SECRET": settings.secret,
                "Plaid-Version": API_VERSION,
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
                # As Plaid's own SDKs ask: aiohttp would send */*.
                "Accept": "application/json",
            },
            max_bytes=max_response_bytes,
            session=session,
            connector_limit=connector_limit,
            trust_env=trust_env,
            trace_configs=trace_configs,
        )
        # A fake served from a loop that cannot answer (the test's, blocked by a sync
        # test client) is found before the first call instead of by its timeout.
        fakes = sys.modules.get("plaid_link_async.testing._loops")
        self._probe = None if fakes is None else fakes.probe_for(self.base_url)
        # Imported here, not per call: loading the models takes tens of milliseconds,
        # which is fine at startup and not inside a request.
        models_module = importlib.import_module(".models", __package__)
        self._routes = {
            name: _Route(
                name,
                self.base_url + endpoint.path,
                getattr(models_module, endpoint.request),
                getattr(models_module, endpoint.response),
            )
            for name, endpoint in ENDPOINTS.items()
        }

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncLinkSession {self.base_url} client_id={self.client_id!r} {state}>"

    @property
    def closed(self) -> bool:
        """Whether `aclose()` was called (on this view, or on the session it views)."""
        return self._view_closed or self._transport.closed

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        retry: RetryPolicy | None = None,
        strict: bool | None = None,
    ) -> AsyncLinkSession:
        """This session with other defaults, over the same connection pool.

        `fast = plaid.with_options(timeout=2, retry=RetryPolicy(max_attempts=1))`. The
        view shares the pool, hooks and webhook key cache; closing it closes the view
        only, never the pool, which stays the original session's.

        Raises:
            SessionClosedError: this session or view is closed.
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        if self.closed:
            raise SessionClosedError("with_options() of a closed AsyncLinkSession (or view)")
        self.webhooks  # made now, so that the view shares its key cache  # noqa: B018
        view = copy.copy(self)
        view._view_of = self._view_of or self
        view._view_closed = False
        if timeout is not None:
            view.timeout = Timeout.of(timeout)
        if retry is not None:
            view.retry = retry
        if strict is not None:
            view.strict = bool(strict)
        return view

    @property
    def max_per_second(self) -> float | None:
        """The calls started per second per operation the session's own limiter keeps
        (None without one, or with a limiter passed in)."""
        return getattr(self._limiter, "max_per_second", None) if self._owns_limiter else None

    @property
    def max_response_bytes(self) -> int:
        """The largest response body a call accepts, after decompression."""
        return self._transport.max_bytes

    @property
    def http_session(self) -> aiohttp.ClientSession | None:
        """The underlying `aiohttp.ClientSession`, once the first call made it."""
        return self._transport.session

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
        await self._transport.close()
        if self._owns_limiter and self._limiter is not None:
            limiter, self._limiter = self._limiter, None
            await limiter.aclose()

    async def aclose(self) -> None:
        """`close()`, by the name `contextlib.aclosing` and httpx users expect."""
        await self.close()

    # -- batches and raw responses -------------------------------------------------

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
        from ._batch import BatchRun  # here: a web app that never batches never loads it

        return BatchRun(
            self,
            requests,
            concurrency=concurrency,
            max_per_second=max_per_second,
            retry=retry,
            progress=progress,
        )

    # -- webhooks ------------------------------------------------------------------------

    @property
    def webhooks(self) -> WebhookVerifier:
        """The verifier `verify_webhook` uses: Plaid's keys, fetched through this session
        and cached by key id. Its `max_age`, `leeway` and `clock` may be changed."""
        verifier = self._webhooks
        if verifier is None:
            from ._webhooks import WebhookVerifier

            verifier = self._webhooks = WebhookVerifier(self._fetch_webhook_key)
        return verifier

    @webhooks.setter
    def webhooks(self, verifier: WebhookVerifier) -> None:
        self._webhooks = verifier

    async def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, strict: bool | None = None
    ) -> Model | UnknownWebhook:
        """Verify a webhook's `Plaid-Verification` JWT, then parse it.

        Args:
            body: the request body exactly as received (raw bytes, not re-serialised).
            headers: the request's headers; the header name is matched in any case.
            strict: raise `InvalidWebhookError` naming the field on any drift (None:
                the session's `strict`, as for calls).

        Returns:
            The webhook's model (`ItemAddResultWebhook`, `LinkSessionFinishedWebhook`,
            ...), or an `UnknownWebhook` for a type or code newer than these models.

        Raises:
            WebhookVerificationError: it is not proven Plaid's; `reason` says why.
            InvalidWebhookError: verified, but not a JSON object (or, read strictly,
                it breaks the contract).
        """
        strict = self.strict if strict is None else strict
        return await self.webhooks.verify(body, headers, strict=strict)

    async def _fetch_webhook_key(self, key_id: str) -> Mapping[str, Any]:
        from .models import WebhookVerificationKeyGetRequest

        # One attempt: a webhook refused for a key that could not be fetched is
        # delivered again by Plaid, and retries here would multiply a forged flood.
        # Strict: a key is no place for drift (an `expired_at` that is no time would
        # read None, "never expires").
        answer = await self.webhook_verification_key_get(
            WebhookVerificationKeyGetRequest(key_id=key_id), retry=_ONE_ATTEMPT, strict=True
        )
        return to_dict(answer.key)

    @property
    def with_raw_response(self) -> RawCalls:
        """The same calls, each returning a `RawAPIResponse` with status, headers and timing.

        `(await plaid.with_raw_response.link_token_get(request)).headers`
        """
        return RawCalls(self)

    # -- the one request path ------------------------------------------------------------

    async def _request(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        strict: bool | None,
    ) -> Model:
        return (await self._call(name, request, timeout, retry, strict=strict)).result

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
    ) -> _Outcome:
        """Send `request` to endpoint `name`, retrying as `retry` says.

        `on_error` sees every failed attempt, retried or not (the batch slows down on it).
        """
        if self._tracing is not None and not traced:
            # Only a traced call pays for the span and its extra frame.
            return await self._traced(name, request, timeout, retry, on_error, strict)
        if self._view_closed:
            raise SessionClosedError("this view of an AsyncLinkSession is closed")
        if self._probe is not None:
            await self._probe()  # raises while the fake cannot answer
            self._probe = None
        route = self._routes[name]
        body = self._encode(route, request)
        strict = self.strict if strict is None else strict
        limits = self.timeout if timeout is None else Timeout.of(timeout)
        policy = self.retry if retry is None else retry
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + limits.total
        # Asked once per call: whether a failure that leaves Plaid's action unknown may
        # be followed by another attempt, or must end the call (see _repeat).
        repeatable = policy.repeats(route.name, request)
        # The first attempt runs without tenacity: most calls succeed at once, and
        # tenacity's machinery costs as much CPU as the rest of the call. A retryable
        # failure hands over to tenacity, which replays it as attempt 1.
        ambiguous: AmbiguousOutcomeError | None = None
        try:
            result, raw, drift = await self._attempt(route, body, limits, deadline, 1, strict)
            return _Outcome(result, raw, drift, 1, loop.time() - started)
        except PlaidLinkError as error:
            _stamp(error, route.name, 1)
            if on_error is not None:
                on_error(error)
            ambiguous = None if repeatable else _ambiguous(error, route.name, 1)
            if ambiguous is None:
                if policy.max_attempts == 1 or not policy.should_retry(error):
                    raise
                # In a list so that it can be let go of once raised: a local would keep
                # the first failure (and what its traceback holds) alive through every
                # retry.
                first = [error]
        if ambiguous is not None:
            raise ambiguous  # outside `except`: no second copy of the failure as context
        retrying = policy.retrying(
            deadline=deadline,
            clock=loop.time,
            before_sleep=self._before_sleep(route, policy, started),
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first.pop()
                try:
                    result, raw, drift = await self._attempt(
                        route, body, limits, deadline, number, strict
                    )
                    return _Outcome(result, raw, drift, number, loop.time() - started)
                except PlaidLinkError as error:
                    _stamp(error, route.name, number)
                    if on_error is not None:
                        on_error(error)
                    ambiguous = None if repeatable else _ambiguous(error, route.name, number)
                    if ambiguous is None:
                        raise
                raise ambiguous  # never retried: AmbiguousOutcomeError is not retryable
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _traced(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        on_error: Callable[[PlaidLinkError], None] | None,
        strict: bool | None,
    ) -> _Outcome:
        tracing = self._tracing
        assert tracing is not None
        with tracing.call(name, self._routes[name].url) as span:
            try:
                outcome = await self._call(
                    name, request, timeout, retry, on_error, strict=strict, traced=True
                )
            except PlaidLinkError as error:
                tracing.failed(span, error)
                raise
            request_id = getattr(outcome.result, "request_id", None)
            if isinstance(request_id, str):
                request_id = self._scrub.text(request_id)  # a server may echo anything
            tracing.succeeded(span, outcome.raw.status, outcome.attempts, request_id)
            return outcome

    def _before_sleep(
        self, route: _Route, policy: RetryPolicy, started: float
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
                    "plaid_request_id": getattr(error, "request_id", None),
                },
            )
            if self._on_retry:
                self._on_retry.emit(
                    RetryEvent(route.name, state.attempt_number, policy.max_attempts, wait, error)
                )

        return before_sleep

    def _encode(self, route: _Route, request: Model) -> bytes:
        if not isinstance(request, route.request):
            got = type(request).__name__
            raise RequestValidationError(
                route.request.__name__,
                [FieldError("", f"{route.name} takes a {route.request.__name__}, got {got}")],
            )
        # Unknown enum strings go through: Plaid may know a product these models do not.
        for path, value, nearest in check_for_sending(request):
            warn_unknown_enum(route.name, path, value, nearest)
        data = to_dict(request)
        try:
            return _encode_json(data).encode()
        except (RecursionError, ValueError, TypeError) as error:
            # A free-form value (an `extra`, a dict field, a union's dict) that no JSON
            # carries: nested past the recursion limit, or of a type json cannot write.
            where = next((str(key) for key, value in data.items() if not nesting_within(value)), "")
            problem = (
                f"nested deeper than {MAX_NESTING} levels"
                if where
                else f"cannot be written as JSON ({type(error).__name__})"
            )
            raise RequestValidationError(
                route.request.__name__, [FieldError(where, problem)]
            ) from None

    async def _attempt(
        self,
        route: _Route,
        body: bytes,
        limits: Timeout,
        deadline: float,
        number: int,
        strict: bool,
    ) -> tuple[Model, RawResponse, Drifts]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        remaining = deadline - started
        if remaining <= 0:
            raise PlaidTimeoutError(
                f"the call's overall timeout of {limits.total:g} s passed",
                endpoint=route.name,
                retryable=False,
                sent=False,
            )
        if self._limiter is not None:
            await self._pace(route.name, deadline)
            remaining = deadline - loop.time()
        budget = min(limits.attempt, remaining)
        client_timeout = _client_timeout(budget, limits.connect)
        if self._on_request:
            self._on_request.emit(RequestEvent(route.name, number, route.url))
        status: int | None = None
        request_id: str | None = None
        failure: PlaidLinkError | None = None
        raw: RawResponse | None = None
        data: Any = None
        try:
            raw = await self._transport.post(route.url, body, client_timeout)
            status = raw.status
            if len(raw.body) <= INLINE_DECODE_BYTES:
                # The common case, on the loop: a small answer that fits the contract.
                result, data = parse(raw, route.response, endpoint=route.name)
                drift = NO_DRIFT
                if result is None:
                    result, drift = await self._drifted(raw, data, route, started + budget, strict)
            else:
                result, drift = await self._in_thread(raw, route, strict, started + budget)
            request_id = getattr(result, "request_id", None)
            if drift:
                report_drift(route.name, drift)
            return result, raw, drift
        except PlaidTimeoutError as error:
            if error.connecting:
                connect = min(limits.connect, budget)
                error.message = (
                    f"could not open a connection within {connect:.3g} s (connect timeout)"
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
            if self._on_response or self._tracing or logger.isEnabledFor(logging.DEBUG):
                self._attempt_ended(
                    route, number, status, loop.time() - started, request_id, failure
                )
            # A failure's traceback keeps this frame while tenacity waits to retry: it
            # must not keep the body, parsed or not, nor the failure itself (a cycle).
            raw = data = failure = None

    async def _pace(self, operation: str, deadline: float) -> None:
        """Wait for the rate limiter's go, within the call's time."""
        assert self._limiter is not None
        left = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(self._limiter.acquire(operation), max(left, 0.0))
        except asyncio.TimeoutError:
            pass
        else:
            return
        raise PlaidTimeoutError(
            f"the rate limit gave no slot for {operation} within the call's time",
            retryable=False,
            sent=False,
        )

    async def _drifted(
        self, raw: RawResponse, data: Any, route: _Route, deadline: float, strict: bool
    ) -> tuple[Model, Drifts]:
        """A small answer the strict parse refused: read tolerantly (or diagnosed).

        On the loop up to `INLINE_TOLERANT_BYTES` (the tolerant read of a body of empty
        objects builds a model per two bytes); a larger one in a worker thread that
        stops itself at `deadline`, so that the loop keeps serving other calls and the
        thread does not outlive the call.
        """
        size = len(raw.body)
        if size <= INLINE_TOLERANT_BYTES:
            try:
                return read_drifted(raw, data, route.response, strict=strict, deadline=None)
            except BaseException:
                del data  # a failure's traceback keeps this frame, not the parsed body
                raise
        del data  # the thread parses again, a few ms off the loop (see _in_thread)
        return await self._in_thread(raw, route, strict, deadline)

    async def _in_thread(
        self, raw: RawResponse, route: _Route, strict: bool, deadline: float
    ) -> tuple[Model, Drifts]:
        # The thread parses the body itself rather than be handed parsed data: what a
        # thread is handed, a failure's traceback would keep alive.
        work = functools.partial(decode, raw, route.response, endpoint=route.name, strict=strict)
        size = len(raw.body)
        loop = asyncio.get_running_loop()
        left = max(deadline - loop.time(), 0.0)
        thread = asyncio.to_thread(work, deadline=time.monotonic() + left)
        try:
            # The call ends at the deadline; the thread stops itself then too, but for
            # the steps it cannot interrupt (json.loads, the fast parse), which are short.
            return await asyncio.wait_for(thread, left)
        except asyncio.TimeoutError:
            pass
        raise PlaidTimeoutError(
            f"parsing a {size:,}-byte answer did not finish in the time left", retryable=False
        )

    def _attempt_ended(
        self,
        route: _Route,
        number: int,
        status: int | None,
        elapsed: float,
        request_id: str | None,
        failure: PlaidLinkError | None,
    ) -> None:
        logger.debug(
            "%s attempt %d: %s in %.1f ms, request_id=%s",
            route.name,
            number,
            f"HTTP {status}" if status is not None else "no answer",
            elapsed * 1000,
            self._scrub.text(request_id) if request_id else None,
            extra={
                "plaid_endpoint": route.name,
                "plaid_attempt": number,
                "plaid_status": status,
                "plaid_request_id": self._scrub.text(request_id) if request_id else None,
                "plaid_elapsed_ms": round(elapsed * 1000, 1),
            },
        )
        if self._on_response:
            self._on_response.emit(
                ResponseEvent(route.name, number, status, elapsed, request_id, failure)
            )
        if self._tracing is not None:
            self._tracing.attempt(number, status, elapsed, failure)


@functools.lru_cache(maxsize=64)
def _client_timeout(total: float, connect: float) -> aiohttp.ClientTimeout:
    # Cached: almost every attempt has the full attempt budget, so the same pair recurs.
    # `sock_connect`, not `connect`: aiohttp arms a `connect` timer on every request, even
    # one served by a pooled connection (about 5% of a call's CPU), while `sock_connect`
    # only times the opening of a new connection, TLS handshake included. Waiting for a
    # free connection in a busy pool is queueing, not a failure: the attempt bounds it.
    return aiohttp.ClientTimeout(total=total, sock_connect=min(connect, total))


def _make_limiter(
    given: RateLimiter | None,
    max_per_second: float | None,
    redis_url: str | None,
    client_id: str,
) -> tuple[RateLimiter | None, bool]:
    """The session's rate limiter, and whether the session made (and so closes) it."""
    if given is not None:
        return given, False
    rate = check_rate(max_per_second) if max_per_second is not None else env_max_per_second()
    url = redis_url or env_redis_url()
    if url is not None:
        from .fleet import SharedRateLimit  # the fleet extra, only where asked for

        return SharedRateLimit(url, client_id=client_id, max_per_second=rate), True
    if rate is not None:
        return LocalRateLimit(rate), True
    return None, False


def _retry_from_env() -> RetryPolicy:
    """`RetryPolicy()` with what `PLAID_MAX_ATTEMPTS` and `PLAID_RETRY_BACKOFF` say."""
    attempts, backoff = env_max_attempts(), env_retry_backoff()
    if attempts is None and backoff is None:
        return DEFAULT_RETRY
    options: dict[str, Any] = {}
    if attempts is not None:
        options["max_attempts"] = attempts
    if backoff is not None:
        # The default's shape, scaled: the longest wait is 16 times the first.
        options.update(initial_delay=backoff, max_delay=16 * backoff)
    return RetryPolicy(**options)


def _ambiguous(error: PlaidLinkError, endpoint: str, attempts: int) -> AmbiguousOutcomeError | None:
    """The error to raise instead of `error` when Plaid may have acted on the request."""
    if not_processed(error):
        return None
    return AmbiguousOutcomeError(
        error, check=check_for(endpoint), endpoint=endpoint, attempts=attempts
    )


def _stamp(error: PlaidLinkError, endpoint: str, attempts: int) -> None:
    # Every error a call raises has both attributes (see _exceptions).
    error.attempts = attempts  # type: ignore[attr-defined]
    error.endpoint = endpoint  # type: ignore[attr-defined]


class RawCalls(RawEndpointMethods):
    """`session.with_raw_response`: each operation, returning a `RawAPIResponse`.

    Public so that it can be named in annotations; make it through the property.
    """

    __slots__ = ("_session",)

    def __init__(self, session: AsyncLinkSession) -> None:
        self._session = session

    async def _raw(
        self,
        name: str,
        request: Model,
        timeout: float | Timeout | None,
        retry: RetryPolicy | None,
        strict: bool | None,
    ) -> RawAPIResponse[Model]:
        outcome = await self._session._call(name, request, timeout, retry, strict=strict)
        return RawAPIResponse(
            parsed=outcome.result,
            drift=outcome.drift,
            status=outcome.raw.status,
            headers=outcome.raw.headers,
            request_id=getattr(outcome.result, "request_id", None),
            attempts=outcome.attempts,
            elapsed=outcome.elapsed,
            endpoint=name,
        )
