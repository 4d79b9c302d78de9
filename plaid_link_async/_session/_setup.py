"""What an `AsyncLinkSession` is made of: its arguments checked and completed from the
environment (`PLAID_*`), and the route of each operation. Configuration only; the
request path is `_session`'s."""

from __future__ import annotations

import platform
from typing import Any, Final

import aiohttp
import attrs

from .._calls._rate_limit import LocalRateLimit, RateLimiter, check_rate
from .._calls._retry_policy import RetryPolicy
from .._calls._settings import (
    Environment,
    Timeout,
    env_max_attempts,
    env_max_per_second,
    env_redis_url,
    env_retry_backoff,
    env_timeout,
    resolve_settings,
)
from .._errors._exceptions import ConfigurationError
from .._version import __version__

API_VERSION: Final = "2020-09-14"
USER_AGENT: Final = (
    f"plaid-link-async/{__version__} (Python {platform.python_version()}; "
    f"aiohttp {aiohttp.__version__})"
)
#: Finite, unlike the official SDK's: a call never hangs forever.
DEFAULT_TIMEOUT: Final = Timeout()
#: Two retries with capped, jittered backoff, as openai-python and stripe-python do.
DEFAULT_RETRY: Final = RetryPolicy()
#: 2 MiB: the largest real answer, a `link_token_get` with many Multi-Item sessions, is
#: tens of KB (about 3 KB a session); and the worst 2 MiB of JSON parses in about 30 ms
#: here, so no answer holds the event loop past 50 ms (docs/security.md).
DEFAULT_MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024


@attrs.frozen
class Setup:
    """A session's settings, checked; the secret is in `headers` and never in a repr."""

    environment: Environment | None
    base_url: str
    client_id: str
    secret: str = attrs.field(repr=False)
    timeout: Timeout
    retry: RetryPolicy
    limiter: RateLimiter | None
    owns_limiter: bool  # the session made the limiter, and so closes it
    headers: dict[str, str] = attrs.field(repr=False)


def setup(
    client_id: str | None,
    secret: str | None,
    *,
    environment: Environment | str | None,
    base_url: str | None,
    timeout: float | Timeout | None,
    retry: RetryPolicy | None,
    allow_insecure_http: bool,
    max_response_bytes: int,
    max_per_second: float | None,
    redis_url: str | None,
    rate_limiter: RateLimiter | None,
) -> Setup:
    """The session's arguments checked, with what the code left out taken from the
    environment, so that an app configured from `PLAID_*` can be made fast to test
    without a code change.

    Raises:
        ConfigurationError: credentials missing, unknown environment, an unsafe URL or
            a setting out of range.
    """
    settings = resolve_settings(
        client_id, secret, environment, base_url, allow_http=allow_insecure_http
    )
    if timeout is None:
        seconds = env_timeout()
        timeout = DEFAULT_TIMEOUT if seconds is None else seconds
    if retry is None:
        retry = retry_from_env()
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
    limiter, owns_limiter = _limiter(rate_limiter, max_per_second, redis_url, settings.client_id)
    return Setup(
        environment=settings.environment,
        base_url=settings.base_url,
        client_id=settings.client_id,
        secret=settings.secret,
        timeout=Timeout.of(timeout),
        retry=retry,
        limiter=limiter,
        owns_limiter=owns_limiter,
        headers={
            "PLAID-CLIENT-ID": settings.client_id,
            "PLAID-SECRET": settings.secret,
            "Plaid-Version": API_VERSION,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            # As Plaid's own SDKs ask: aiohttp would send */*.
            "Accept": "application/json",
        },
    )


def _limiter(
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
        from ..fleet._shared import SharedRateLimit  # the fleet extra, only where asked for

        return SharedRateLimit(url, client_id=client_id, max_per_second=rate), True
    if rate is not None:
        return LocalRateLimit(rate), True
    return None, False


def retry_from_env() -> RetryPolicy:
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
