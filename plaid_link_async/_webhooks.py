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
import enum
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs

from ._endpoints import WEBHOOKS
from ._exceptions import PlaidAPIError, PlaidLinkError
from ._model_base import Model
from ._once import report_drift
from ._redact import preview
from ._tolerant import read_tolerantly

#: The only algorithm Plaid signs webhooks with, and so the only one accepted.
ALGORITHM: Final = "ES256"
HEADER: Final = "plaid-verification"


class WebhookRejection(str, enum.Enum):
    """Why a webhook was refused: `WebhookVerificationError.reason`."""

    MISSING_HEADER = "missing_header"
    MALFORMED_TOKEN = "malformed_token"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED_KEY = "expired_key"
    KEY_UNAVAILABLE = "key_unavailable"  # the key could not be fetched: try again later
    BAD_SIGNATURE = "bad_signature"
    TOO_OLD = "too_old"
    FROM_THE_FUTURE = "from_the_future"
    BODY_MISMATCH = "body_mismatch"

    def __str__(self) -> str:
        return self.value


class InvalidWebhookError(PlaidLinkError, ValueError):
    """A webhook body that is not a JSON object: no webhook at all."""


class WebhookVerificationError(PlaidLinkError):
    """A webhook failed verification; `reason` (a `WebhookRejection`) says which step.

    Answer it with a 4xx (Plaid will retry a 5xx), except `KEY_UNAVAILABLE`, which a
    later retry may pass.
    """

    reason: WebhookRejection
    """The step that refused the webhook."""
    message: str
    """What exactly was wrong, without the token or the body."""

    def __init__(self, reason: WebhookRejection, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"webhook refused ({reason}): {message}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.message))


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


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> Model | UnknownWebhook:
    """The model a webhook's `webhook_type` and `webhook_code` name, read tolerantly.

    A known webhook with drifted details still parses (they read None; the drift is
    logged once per path); an unknown type or code gives an `UnknownWebhook`.

    Raises:
        InvalidWebhookError: the body is not JSON, or not a JSON object.
    """
    data: Any
    if isinstance(body, Mapping):
        data = dict(body)
    else:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if data is None:
            raise InvalidWebhookError("the webhook body is not JSON")
    if not isinstance(data, dict):
        raise InvalidWebhookError("the webhook body is not a JSON object")
    kind, code = data.get("webhook_type"), data.get("webhook_code")
    name = WEBHOOKS.get((kind, code)) if isinstance(kind, str) and isinstance(code, str) else None
    if name is None:
        return UnknownWebhook(_text(kind), _text(code), data)
    from . import models

    model: Model
    model, drift = read_tolerantly(getattr(models, name), data, lenient_top=True)
    if drift:
        report_drift(f"webhook {kind}/{code}", tuple(drift))
    return model


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


KeyFetcher = Callable[[str], Awaitable[Mapping[str, Any]]]
"""Fetches the JWK for a key id; raises `PlaidAPIError` if Plaid does not know it."""


class WebhookVerifier:
    """Verifies webhooks against Plaid's keys, each fetched once and cached by `kid`.

    Args:
        fetch_key: the JWK for a key id (`AsyncLinkSession` passes its own
            `webhook_verification_key_get`).
        max_age: seconds a webhook's `iat` may lie in the past (Plaid: 5 minutes).
        leeway: seconds it may lie in the future (clocks disagree a little).
        clock: the current time in seconds since the epoch; replace it in tests.
    """

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
        self._keys: dict[str, tuple[Mapping[str, Any], Any]] = {}
        self._fetching: dict[str, asyncio.Task[tuple[Mapping[str, Any], Any]]] = {}

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> Model | UnknownWebhook:
        """`parse_webhook(body)` once the `Plaid-Verification` header proves it is Plaid's.

        `body` must be the raw bytes as received: a framework's re-serialised JSON
        hashes differently.

        Raises:
            WebhookVerificationError: with the `reason` of the first step that failed.
            InvalidWebhookError: verified, but the body is not a JSON object.
        """
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
        jwk, key = await self._key(kid[:200])
        expired_at = jwk.get("expired_at")
        now = self.clock()
        if isinstance(expired_at, (int, float)) and expired_at <= now:
            raise WebhookVerificationError(
                WebhookRejection.EXPIRED_KEY, f"key {kid[:60]!r} expired at {expired_at}"
            )
        try:
            claims = jwt.decode(
                token,
                key,
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
        except jwt.PyJWTError as error:
            raise WebhookVerificationError(
                WebhookRejection.MALFORMED_TOKEN,
                f"the token cannot be read ({type(error).__name__})",
            ) from None
        self._check_claims(claims, body, now)
        return parse_webhook(body)

    def _check_claims(self, claims: Any, body: bytes, now: float) -> None:
        iat = claims.get("iat") if isinstance(claims, dict) else None
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise WebhookVerificationError(WebhookRejection.MALFORMED_TOKEN, "no iat claim")
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

    async def _key(self, kid: str) -> tuple[Mapping[str, Any], Any]:
        cached = self._keys.get(kid)
        if cached is not None:
            return cached
        # One fetch per kid, however many webhooks wait for it. It runs as a task of its
        # own, so a caller cancelled while waiting cancels nothing for the others; a
        # failure reaches every waiter and is not kept, so the next webhook tries again.
        fetching = self._fetching.get(kid)
        if fetching is None:
            fetching = asyncio.ensure_future(self._load(kid))
            self._fetching[kid] = fetching
            fetching.add_done_callback(lambda done: self._fetched(kid, done))
        return await asyncio.shield(fetching)

    def _fetched(self, kid: str, done: asyncio.Task[tuple[Mapping[str, Any], Any]]) -> None:
        del self._fetching[kid]
        if not done.cancelled() and done.exception() is None:
            self._keys[kid] = done.result()

    async def _load(self, kid: str) -> tuple[Mapping[str, Any], Any]:
        try:
            jwk = await self._fetch_key(kid)
        except PlaidAPIError as error:
            if error.status == 400:
                raise WebhookVerificationError(
                    WebhookRejection.UNKNOWN_KEY, f"Plaid knows no key {kid[:60]!r}"
                ) from None
            failure = str(error)
        except PlaidLinkError as error:
            failure = str(error)
        else:
            return jwk, _public_key(jwk)
        raise WebhookVerificationError(
            WebhookRejection.KEY_UNAVAILABLE, f"the key could not be fetched: {failure}"
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
