"""Link webhooks: parsed into their models, and verified as Plaid signs them.

Plaid signs each webhook with an ES256 JWT in the `Plaid-Verification` header. Its
header names the key (`kid`) that `/webhook_verification_key/get` returns; its claims
hold `iat` and `request_body_sha256`, the SHA-256 of the raw body. Verification here
takes the algorithm from nowhere but this module (ES256), refuses keys that expired,
tokens older than `max_age`, and bodies whose hash differs, and fetches each key once
per verifier however many webhooks arrive with it at once.

The crypto comes from PyJWT with `cryptography` (the `webhooks` extra); parsing needs
neither.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import enum
import functools
import hashlib
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs

from . import _json
from ._converter import diagnose, try_from_dict
from ._drift import MAX_DRIFT, Drifts
from ._endpoints import WEBHOOKS
from ._exceptions import (
    CREDENTIAL_ERROR_CODES,
    ConfigurationError,
    PlaidAPIError,
    PlaidLinkError,
    one_line,
)
from ._model_base import Model
from ._nesting import MAX_NESTING, nesting_within
from ._once import report_drift
from ._redact import preview
from ._tolerant import ReadingTooLong, TooMuchDrift, read_tolerantly

#: The only algorithm Plaid signs webhooks with, and so the only one accepted.
ALGORITHM: Final = "ES256"
#: The largest webhook body read: Plaid's Link webhooks are a few KB.
MAX_WEBHOOK_BYTES: Final = 256 * 1024
#: The longest a drifted webhook's tolerant reading may take; a real one takes well
#: under a millisecond, a body of 80,000 empty events half a second.
WEBHOOK_READ_SECONDS: Final = 0.05
# Bodies over this are parsed in a thread by `verify`, as the session does answers.
_INLINE_BYTES: Final = 4 * 1024
HEADER: Final = "plaid-verification"


class WebhookRejection(str, enum.Enum):
    """Why a webhook was refused: `WebhookVerificationError.reason`."""

    MISSING_HEADER = "missing_header"
    MALFORMED_TOKEN = "malformed_token"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED_KEY = "expired_key"
    KEY_UNAVAILABLE = "key_unavailable"  # the key could not be fetched: try again later
    CREDENTIALS_REFUSED = "credentials_refused"  # Plaid refused our keys: fix them, then retry
    BAD_SIGNATURE = "bad_signature"
    TOO_OLD = "too_old"
    FROM_THE_FUTURE = "from_the_future"
    BODY_MISMATCH = "body_mismatch"

    def __str__(self) -> str:
        return self.value


class InvalidWebhookError(PlaidLinkError, ValueError):
    """A webhook body that is no webhook at all (not a JSON object, over a bound), or,
    read strictly, one that breaks the contract; `path` then names the field."""

    path: str | None = None
    """The field that breaks the contract, read strictly (`events[0].event_name`)."""


@attrs.frozen
class WebhookReading:
    """A parsed webhook and what of it drifted from the contract (`read_webhook`)."""

    webhook: Model | UnknownWebhook
    """The model its type and code name, or an `UnknownWebhook`."""
    drift: Drifts = Drifts()  # noqa: RUF009  (an empty tuple: immutable, safe to share)
    """The details that did not fit, read as None (empty when none did)."""


class WebhookVerificationError(PlaidLinkError):
    """A webhook failed verification; `reason` (a `WebhookRejection`) says which step.

    Answer it with a 4xx, so that Plaid gives up on it, unless `retryable`: then the
    fault is on this side (the key could not be fetched, or Plaid refused the
    credentials) and a 5xx makes Plaid deliver it again later.
    """

    reason: WebhookRejection
    """The step that refused the webhook."""
    message: str
    """What exactly was wrong, without the token or the body."""

    def __init__(self, reason: WebhookRejection, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(one_line(f"webhook refused ({reason}): {message}"))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.message))

    @property
    def retryable(self) -> bool:
        """Whether a later delivery may pass: answer 5xx (True) or 4xx (False)."""
        return self.reason in _RETRYABLE


_RETRYABLE: Final = frozenset(
    {WebhookRejection.KEY_UNAVAILABLE, WebhookRejection.CREDENTIALS_REFUSED}
)


@attrs.frozen
class UnknownWebhook:
    """A webhook whose type and code this library does not model; its whole payload kept.

    Plaid adds webhook codes; an exception would turn into a non-200 answer and a day
    of retries, so an unknown one is this object instead.
    """

    webhook_type: str | None
    webhook_code: str | None
    payload: Mapping[str, Any] = attrs.field(repr=False)

    def __repr__(self) -> str:
        return (
            f"UnknownWebhook(webhook_type={self.webhook_type!r}, "
            f"webhook_code={self.webhook_code!r}, payload={preview(dict(self.payload))!r})"
        )


def parse_webhook(
    body: bytes | str | Mapping[str, Any], *, strict: bool = False
) -> Model | UnknownWebhook:
    """The model a webhook's `webhook_type` and `webhook_code` name.

    Read tolerantly by default: a known webhook with drifted details still parses (they
    read None; the drift is logged once per path, and `read_webhook` gives it to you).
    With `strict`, any drift raises `InvalidWebhookError` naming the field, as a strict
    call does. An unknown type or code gives an `UnknownWebhook` either way. Its cost is
    bounded: a body over `MAX_WEBHOOK_BYTES` (256 KiB), one nested deeper than 32
    levels where no model field is, and a drifted one whose reading passes
    `WEBHOOK_READ_SECONDS` are refused. In async code, `verify_webhook` parses off the
    event loop; a plain `parse_webhook` on a body of 256 KiB may hold it that long.

    Raises:
        InvalidWebhookError: the body is not JSON, not a JSON object, or over a bound;
            with `strict`, it breaks the contract (`path` names where).
    """
    return read_webhook(body, strict=strict).webhook


def read_webhook(body: bytes | str | Mapping[str, Any], *, strict: bool = False) -> WebhookReading:
    """`parse_webhook`, with the webhook's drift: what did not fit the contract.

    Raises:
        InvalidWebhookError: as `parse_webhook` does.
    """
    data: Any
    if isinstance(body, Mapping):
        data = dict(body)
    else:
        if len(body) > MAX_WEBHOOK_BYTES:
            raise InvalidWebhookError(
                f"the webhook body is {len(body):,} bytes, over the limit of {MAX_WEBHOOK_BYTES:,}"
            )
        try:
            data = _json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if data is None:
            raise InvalidWebhookError("the webhook body is not JSON")
    if not isinstance(data, dict):
        raise InvalidWebhookError("the webhook body is not a JSON object")
    kind, code = data.get("webhook_type"), data.get("webhook_code")
    name = WEBHOOKS.get((kind, code)) if isinstance(kind, str) and isinstance(code, str) else None
    if name is None:
        if not nesting_within(data, MAX_NESTING + 1):
            raise InvalidWebhookError(f"the webhook body nests deeper than {MAX_NESTING} levels")
        return WebhookReading(UnknownWebhook(_text(kind), _text(code), data))
    from . import models

    cls: type[Model] = getattr(models, name)
    fast = try_from_dict(cls, data)
    if fast is not None:
        return WebhookReading(fast)
    if strict:
        raise _breaks_contract(cls, data, f"{kind}/{code}")
    try:
        model, drift = read_tolerantly(
            cls, data, lenient_top=True, deadline=time.monotonic() + WEBHOOK_READ_SECONDS
        )
    except ReadingTooLong:
        problem = f"took over {WEBHOOK_READ_SECONDS * 1000:g} ms to read"
    except TooMuchDrift:
        problem = f"drifted from the contract in more than {MAX_DRIFT:,} places"
    else:
        if drift:
            report_drift(f"webhook {kind}/{code}", drift)
        return WebhookReading(model, drift)
    raise InvalidWebhookError(
        f"this {str(kind)[:40]}/{str(code)[:40]} webhook {problem}; refused (no real webhook "
        "comes near)"
    )


def _breaks_contract(cls: type[Model], data: Any, what: str) -> InvalidWebhookError:
    found = diagnose(cls, data)
    path = found.path if found is not None else None
    message = found.message if found is not None else "does not fit the contract"
    where = f" at {path}" if path else ""
    error = InvalidWebhookError(f"this {what[:80]} webhook breaks the contract{where}: {message}")
    error.path = path
    return error


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


KeyFetcher = Callable[[str], Awaitable[Mapping[str, Any]]]
"""Fetches the JWK for a key id; raises `PlaidAPIError` if Plaid does not know it."""


class WebhookVerifier:
    """Verifies webhooks against Plaid's keys, each fetched once and cached by `kid`.

    A flood of forged webhooks cannot turn into a flood of key fetches: a `kid` Plaid
    does not know is remembered for `unknown_kid_seconds`, and at most
    `max_fetches_per_minute` fetches start in any minute (past that, the webhook is
    refused as `KEY_UNAVAILABLE`, which Plaid delivers again later). Cached keys are
    bounded (`max_keys`, least recently used out), fetched again after
    `key_max_age`, and, as Plaid advises, refreshed whenever a new key is fetched, so
    that a key Plaid has expired fails as `EXPIRED_KEY`.

    Args:
        fetch_key: the JWK for a key id (`AsyncLinkSession` passes its own
            `webhook_verification_key_get`).
        max_age: seconds a webhook's `iat` may lie in the past (Plaid: 5 minutes).
        leeway: seconds it may lie in the future (clocks disagree a little).
        clock: the current time in seconds since the epoch; replace it in tests.
    """

    #: Seconds a `kid` Plaid answered "unknown" for is refused without asking again.
    unknown_kid_seconds: float = 300.0
    #: Key fetches that may start in any 60 seconds.
    max_fetches_per_minute: int = 10
    #: Keys kept; the least recently used goes first.
    max_keys: int = 32
    #: Seconds a cached key is used before it is fetched again.
    key_max_age: float = 3600.0

    def __init__(
        self,
        fetch_key: KeyFetcher,
        *,
        # Plaid's window: a webhook signed more than five minutes ago is refused.
        max_age: float = 300.0,
        # How far in the future an `iat` may be, for clocks that disagree a little.
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch_key = fetch_key
        self.max_age = max_age
        self.leeway = leeway
        self.clock = clock
        self._keys: collections.OrderedDict[str, _Key] = collections.OrderedDict()
        self._unknown: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._fetch_starts: collections.deque[float] = collections.deque()
        self._fetching: dict[str, asyncio.Task[_Key]] = {}

    @property
    def max_age(self) -> float:
        """Seconds a webhook's `iat` may lie in the past."""
        return self._max_age

    @max_age.setter
    def max_age(self, value: float) -> None:
        self._max_age = _seconds("max_age", value)

    @property
    def leeway(self) -> float:
        """Seconds a webhook's `iat` may lie in the future."""
        return self._leeway

    @leeway.setter
    def leeway(self, value: float) -> None:
        self._leeway = _seconds("leeway", value)

    async def verify(
        self, body: bytes, headers: Mapping[str, str], *, strict: bool = False
    ) -> Model | UnknownWebhook:
        """`parse_webhook(body, strict=strict)` once the `Plaid-Verification` header
        proves it is Plaid's.

        `body` must be the raw bytes as received: a framework's re-serialised JSON
        hashes differently.

        Raises:
            TypeError: `body` is not bytes, or `headers` not a mapping of strings.
            WebhookVerificationError: with the `reason` of the first step that failed.
            InvalidWebhookError: verified, but the body is not a JSON object (or, with
                `strict`, breaks the contract).
        """
        return (await self.read(body, headers, strict=strict)).webhook

    async def read(
        self, body: bytes, headers: Mapping[str, str], *, strict: bool = False
    ) -> WebhookReading:
        """`verify`, with the webhook's drift (see `read_webhook`).

        Raises:
            TypeError, WebhookVerificationError, InvalidWebhookError: as `verify` does.
        """
        _check_arguments(body, headers)
        jwt = _require_jwt()
        token = _header(headers)
        if token is None:
            raise WebhookVerificationError(
                WebhookRejection.MISSING_HEADER, "no Plaid-Verification header"
            )
        header = _unverified_header(token)
        # The token's own `alg` only decides whether to go on, never how to verify.
        if header.get("alg") != ALGORITHM:
            raise WebhookVerificationError(
                WebhookRejection.ALGORITHM_NOT_ALLOWED,
                f"the token says alg {str(header.get('alg'))[:20]!r}; only ES256 is accepted",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise WebhookVerificationError(WebhookRejection.MALFORMED_TOKEN, "no kid")
        found = await self._key(kid[:200])
        now = self.clock()
        if found.expired(now):
            raise WebhookVerificationError(
                WebhookRejection.EXPIRED_KEY,
                f"key {kid[:60]!r} expired at {found.jwk.get('expired_at')!r:.40}",
            )
        try:
            claims = jwt.decode(
                token,
                found.key,
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            raise WebhookVerificationError(
                WebhookRejection.BAD_SIGNATURE, "the signature does not match the key"
            ) from None
        except jwt.InvalidAlgorithmError:
            raise WebhookVerificationError(
                WebhookRejection.ALGORITHM_NOT_ALLOWED, "only ES256 is accepted"
            ) from None
        except (jwt.PyJWTError, ValueError, RecursionError) as error:
            raise WebhookVerificationError(
                WebhookRejection.MALFORMED_TOKEN,
                f"the token cannot be read ({type(error).__name__})",
            ) from None
        self._check_claims(claims, body, now)
        if len(body) <= _INLINE_BYTES:
            return read_webhook(body, strict=strict)
        return await asyncio.to_thread(functools.partial(read_webhook, body, strict=strict))

    def _check_claims(self, claims: Any, body: bytes, now: float) -> None:
        iat = claims.get("iat") if isinstance(claims, dict) else None
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise WebhookVerificationError(WebhookRejection.MALFORMED_TOKEN, "no iat claim")
        try:
            iat = float(iat)  # 10**400 overflows here, not in the subtraction below
        except OverflowError:
            iat = math.inf
        if not math.isfinite(iat):
            raise WebhookVerificationError(
                WebhookRejection.MALFORMED_TOKEN, "the iat claim is not a finite time"
            )
        if now - iat > self.max_age:
            raise WebhookVerificationError(
                WebhookRejection.TOO_OLD,
                f"signed {now - iat:.0f} s ago, more than {self.max_age:g} s",
            )
        if iat - now > self.leeway:
            raise WebhookVerificationError(
                WebhookRejection.FROM_THE_FUTURE,
                f"signed {iat - now:.0f} s in the future, more than {self.leeway:g} s",
            )
        claimed = claims.get("request_body_sha256")
        if not isinstance(claimed, str):
            raise WebhookVerificationError(
                WebhookRejection.MALFORMED_TOKEN, "no request_body_sha256 claim"
            )
        actual = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(actual.encode(), claimed.lower().encode()):
            raise WebhookVerificationError(
                WebhookRejection.BODY_MISMATCH,
                "the body's SHA-256 is not the signed one (was it re-serialised, or "
                "decoded and encoded again, before verification?)",
            )

    # -- keys ---------------------------------------------------------------------------

    async def _key(self, kid: str) -> _Key:
        cached = self._keys.get(kid)
        if cached is not None and time.monotonic() - cached.fetched < self.key_max_age:
            self._keys.move_to_end(kid)
            return cached
        # One fetch per kid, however many webhooks wait for it. It runs as a task of its
        # own, so a caller cancelled while waiting cancels nothing for the others.
        fetching = self._fetching.get(kid)
        if fetching is None:
            self._refuse_unless_fetchable(kid)
            fetching = self._start(kid)
            fetching.add_done_callback(lambda done: self._refresh_others(kid, done))
        return await asyncio.shield(fetching)

    def _refuse_unless_fetchable(self, kid: str) -> None:
        now = time.monotonic()
        until = self._unknown.get(kid)
        if until is not None:
            if until > now:
                raise WebhookVerificationError(
                    WebhookRejection.UNKNOWN_KEY,
                    f"Plaid knows no key {kid[:60]!r} (asked less than "
                    f"{self.unknown_kid_seconds:g} s ago)",
                )
            del self._unknown[kid]
        starts = self._fetch_starts
        while starts and starts[0] <= now - 60:
            starts.popleft()
        if len(starts) >= self.max_fetches_per_minute:
            raise WebhookVerificationError(
                WebhookRejection.KEY_UNAVAILABLE,
                f"{len(starts)} key fetches in the last minute, the most allowed; a "
                "real webhook is delivered again later (answer 5xx)",
            )

    def _start(self, kid: str) -> asyncio.Task[_Key]:
        self._fetch_starts.append(time.monotonic())
        task = asyncio.ensure_future(self._load(kid))
        self._fetching[kid] = task
        task.add_done_callback(lambda done: self._fetched(kid, done))
        return task

    def _fetched(self, kid: str, done: asyncio.Task[_Key]) -> None:
        del self._fetching[kid]
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            self._keys[kid] = done.result()
            self._keys.move_to_end(kid)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        elif (
            isinstance(error, WebhookVerificationError)
            and error.reason == WebhookRejection.UNKNOWN_KEY
        ):
            # Plaid knows no such key (a refreshed one it dropped, too): remembered, so
            # that forgeries with it cost no more fetches. A failure that says nothing
            # of the key (Plaid unreachable) leaves a cached key as it was.
            self._keys.pop(kid, None)
            self._unknown[kid] = time.monotonic() + self.unknown_kid_seconds
            self._unknown.move_to_end(kid)
            while len(self._unknown) > _MAX_UNKNOWN:
                self._unknown.popitem(last=False)

    def _refresh_others(self, kid: str, done: asyncio.Task[_Key]) -> None:
        # Plaid's advice: when a new key is fetched, fetch the cached ones that have not
        # expired again, to learn of expiries. Only after a success: a forged kid fails,
        # and must not make the cache fetch anything more.
        if done.cancelled() or done.exception() is not None:
            return
        now = self.clock()
        for other, cached in list(self._keys.items()):
            if other == kid or other in self._fetching or cached.expired(now):
                continue
            try:
                self._refuse_unless_fetchable(other)
            except WebhookVerificationError:
                return  # out of fetches this minute: the age limit catches up later
            refresh = self._start(other)
            refresh.add_done_callback(_swallow)

    async def _load(self, kid: str) -> _Key:
        try:
            jwk = await self._fetch_key(kid)
        except PlaidAPIError as error:
            if error.error_code in CREDENTIAL_ERROR_CODES:
                raise WebhookVerificationError(
                    WebhookRejection.CREDENTIALS_REFUSED,
                    f"Plaid refused this app's credentials ({error.error_code}) when asked "
                    "for the key: fix PLAID_CLIENT_ID / PLAID_SECRET (answer 5xx, so that "
                    "Plaid delivers the webhook again)",
                ) from None
            if error.status == 400:
                raise WebhookVerificationError(
                    WebhookRejection.UNKNOWN_KEY, f"Plaid knows no key {kid[:60]!r}"
                ) from None
            failure = str(error)
        except PlaidLinkError as error:
            failure = str(error)
        else:
            if jwk.get("kid") != kid:
                failure = f"Plaid answered a key for another kid ({str(jwk.get('kid'))[:60]!r})"
            else:
                return _Key(jwk, _public_key(jwk), time.monotonic())
        raise WebhookVerificationError(
            WebhookRejection.KEY_UNAVAILABLE, f"the key could not be fetched: {failure}"
        )


#: Unknown kids remembered at once; the oldest are forgotten first.
_MAX_UNKNOWN: Final = 4096


@attrs.frozen
class _Key:
    jwk: Mapping[str, Any]
    key: Any
    fetched: float  # time.monotonic()

    def expired(self, now: float) -> bool:
        """Whether the key expired by `now`; an `expired_at` that is no time counts."""
        expired_at = self.jwk.get("expired_at")
        if expired_at is None:
            return False
        if isinstance(expired_at, bool) or not isinstance(expired_at, (int, float)):
            return True
        try:
            return not math.isfinite(float(expired_at)) or expired_at <= now
        except OverflowError:
            return True


def _swallow(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a background refresh's failure is kept in the cache, not raised


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"WebhookVerifier.{name} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(
            f"WebhookVerifier.{name} must be a finite number of seconds, 0 or more; got {value!r}"
        )
    return float(value)


def _check_arguments(body: Any, headers: Any) -> None:
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(
            f"body must be the raw request body as bytes, got {type(body).__name__}: "
            "a decoded or re-serialised body would not match its signature"
        )
    if not isinstance(headers, Mapping):
        raise TypeError(
            f"headers must be a mapping of header names to values, got {type(headers).__name__}"
        )
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"headers must map str to str; {str(name)[:60]!r} maps to {type(value).__name__}"
            )


def _header(headers: Mapping[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == HEADER:
            return value.strip() or None
    return None


def _unverified_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16_384:
        raise WebhookVerificationError(WebhookRejection.MALFORMED_TOKEN, "not a JWT")
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise WebhookVerificationError(
            WebhookRejection.MALFORMED_TOKEN, "the JWT header is not a JSON object"
        )
    return header


def _public_key(jwk: Mapping[str, Any]) -> Any:
    jwt = _require_jwt()
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise WebhookVerificationError(
            WebhookRejection.ALGORITHM_NOT_ALLOWED, "the key is not an EC P-256 key"
        )
    try:
        return jwt.PyJWK(
            {name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk}, ALGORITHM
        ).key
    except jwt.PyJWTError:
        raise WebhookVerificationError(
            WebhookRejection.MALFORMED_TOKEN, "the key cannot be read"
        ) from None


def _require_jwt() -> Any:
    try:
        import jwt
    except ImportError:
        raise PlaidLinkError(
            "verifying webhooks needs the `webhooks` extra: "
            "pip install 'plaid-link-async[webhooks]'"
        ) from None
    return jwt
