"""Where to send requests and how long to wait: `Environment` and `Timeout`."""

from __future__ import annotations

import enum
import ipaddress
import math
import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

import attrs

from .._errors._exceptions import ConfigurationError


class Environment(str, enum.Enum):
    """A Plaid environment; `base_url` is where its API lives."""

    SANDBOX = "sandbox"
    DEVELOPMENT = "development"
    PRODUCTION = "production"

    @property
    def base_url(self) -> str:
        return f"https://{self.value}.plaid.com"

    def __str__(self) -> str:
        return self.value


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:  # also rejects NaN
        raise ConfigurationError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen
class Timeout:
    """Time limits of a call, in seconds.

    `total` bounds the whole call, retries and their waits included; `attempt` bounds
    one HTTP exchange (waiting for a free pooled connection included); `connect` bounds
    opening a new connection, TCP and TLS.
    """

    total: float = attrs.field(default=60.0, validator=_positive)
    attempt: float = attrs.field(default=20.0, validator=_positive)
    connect: float = attrs.field(default=10.0, validator=_positive)

    @classmethod
    def of(cls, value: float | Timeout) -> Timeout:
        """`value` as a `Timeout`: a number sets `total` and caps the other two."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigurationError(f"timeout must be seconds or a Timeout, got {value!r}")
        default = cls()
        total = float(value)
        return cls(
            total=total, attempt=min(default.attempt, total), connect=min(default.connect, total)
        )


ENV_CLIENT_ID: Final = "PLAID_CLIENT_ID"
ENV_SECRET: Final = "PLAID_SECRET"
ENV_ENVIRONMENT: Final = "PLAID_ENV"
ENV_BASE_URL: Final = "PLAID_BASE_URL"
ENV_TIMEOUT: Final = "PLAID_TIMEOUT"
ENV_MAX_ATTEMPTS: Final = "PLAID_MAX_ATTEMPTS"
ENV_RETRY_BACKOFF: Final = "PLAID_RETRY_BACKOFF"
ENV_MAX_PER_SECOND: Final = "PLAID_LINK_MAX_PER_SECOND"
ENV_REDIS_URL: Final = "PLAID_LINK_REDIS_URL"
ENV_LOG: Final = "PLAID_LINK_LOG"


def env_timeout(environ: Mapping[str, str] = os.environ) -> float | None:
    """`PLAID_TIMEOUT` in seconds (a whole call), or None if unset."""
    seconds = _env_seconds(ENV_TIMEOUT, environ)
    if seconds is not None and not seconds > 0:
        raise ConfigurationError(
            f"{ENV_TIMEOUT} must be a positive number of seconds, got {environ[ENV_TIMEOUT]!r}"
        )
    return seconds


def _env_seconds(name: str, environ: Mapping[str, str]) -> float | None:
    """The variable `name` as a number of seconds (NaN if it is none), or None if unset."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return math.nan


def env_max_attempts(environ: Mapping[str, str] = os.environ) -> int | None:
    """`PLAID_MAX_ATTEMPTS` (1 turns retries off), or None if unset."""
    raw = environ.get(ENV_MAX_ATTEMPTS, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{ENV_MAX_ATTEMPTS} must be a whole number >= 1, got {raw!r}")
    return int(raw)


def env_retry_backoff(environ: Mapping[str, str] = os.environ) -> float | None:
    """`PLAID_RETRY_BACKOFF`: the first retry's wait in seconds, or None if unset."""
    seconds = _env_seconds(ENV_RETRY_BACKOFF, environ)
    if seconds is not None and not 0 <= seconds <= 60:  # also refuses NaN
        raise ConfigurationError(
            f"{ENV_RETRY_BACKOFF} must be a number of seconds from 0 to 60, "
            f"got {environ[ENV_RETRY_BACKOFF]!r}"
        )
    return seconds


def env_max_per_second(environ: Mapping[str, str] = os.environ) -> float | None:
    """`PLAID_LINK_MAX_PER_SECOND`: calls started per second per operation, or None."""
    rate = _env_seconds(ENV_MAX_PER_SECOND, environ)
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise ConfigurationError(
            f"{ENV_MAX_PER_SECOND} must be a positive number of calls a second, "
            f"got {environ[ENV_MAX_PER_SECOND]!r}"
        )
    return rate


def env_redis_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """`PLAID_LINK_REDIS_URL`, the Redis a fleet shares its rate limit through, or None."""
    return environ.get(ENV_REDIS_URL, "").strip() or None


_LOG_LEVELS: Final = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_logging_configured = False


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """With `PLAID_LINK_LOG=debug` (or info, warning, error), log the library to stderr.

    Once per process, and only where the app has not configured the logger itself.
    Every line is the library's own, scrubbed of the secret.
    """
    global _logging_configured
    raw = environ.get(ENV_LOG, "").strip().lower()
    if _logging_configured or not raw:
        return
    import logging

    level = _LOG_LEVELS.get(raw)
    if level is None:
        names = ", ".join(_LOG_LEVELS)
        raise ConfigurationError(f"{ENV_LOG} must be one of {names}, got {raw[:20]!r}")
    _logging_configured = True
    logger = logging.getLogger("plaid_link_async")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


@attrs.frozen
class Settings:
    """What `AsyncLinkSession` resolved from its arguments and the environment."""

    client_id: str
    secret: str = attrs.field(repr=False)
    environment: Environment | None
    base_url: str


def resolve_settings(
    client_id: str | None,
    secret: str | None,
    environment: Environment | str | None,
    base_url: str | None,
    *,
    allow_http: bool,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Arguments first, then `PLAID_*` variables; anything missing is a `ConfigurationError`."""
    # PLAID_BASE_URL lets a deployment point at a proxy (or a test at the fake server)
    # without a code change; it goes through the same plain-http check as the argument.
    base_url = base_url or environ.get(ENV_BASE_URL) or None
    client_id = client_id or environ.get(ENV_CLIENT_ID) or None
    secret = secret or environ.get(ENV_SECRET) or None
    missing = [
        f"{name} (argument or {variable})"
        for name, value, variable in (
            ("client_id", client_id, ENV_CLIENT_ID),
            ("secret", secret, ENV_SECRET),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError("missing Plaid credentials: " + ", ".join(missing))
    assert client_id is not None
    assert secret is not None
    for name, value in (("client_id", client_id), ("secret", secret)):
        problem = credential_problem(value)
        if problem:
            # Named, never shown: the value may be the real secret with a stray newline.
            raise ConfigurationError(f"the Plaid {name} {problem} (the value is not shown)")
    named = _environment(environment, environ)
    if base_url is None:
        return Settings(client_id, secret, named, named.base_url)
    # With a base URL (the fake server, a proxy) the environment is unknown unless given.
    url = check_base_url(base_url, allow_http=allow_http)
    env = None if environment is None and ENV_ENVIRONMENT not in environ else named
    return Settings(client_id=client_id, secret=secret, environment=env, base_url=url)


def credential_problem(value: object) -> str | None:
    """What makes `value` unusable as a header credential, or None if it is fine."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if value != value.strip():
        return "has whitespace around it (a newline read from a file?)"
    if any(char < " " or char == "\x7f" for char in value):
        return "contains a control character (CR, LF, NUL, ...)"
    if not value.isascii():
        return "contains a non-ASCII character"
    return None


def _environment(value: Environment | str | None, environ: Mapping[str, str]) -> Environment:
    raw = value if value is not None else environ.get(ENV_ENVIRONMENT) or Environment.SANDBOX
    try:
        return Environment(str(raw).strip().lower())
    except ValueError:
        names = ", ".join(member.value for member in Environment)
        raise ConfigurationError(f"unknown Plaid environment {raw!r}: use one of {names}") from None


def check_base_url(url: str, *, allow_http: bool) -> str:
    """`url` without a trailing slash, if it is an https URL or plain http to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {url!r} is plain http to a non-loopback host: the secret would cross "
            "the network unencrypted; use https, or pass allow_insecure_http=True"
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
