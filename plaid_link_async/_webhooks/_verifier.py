"""Webhooks verified as Plaid signs them: `WebhookVerifier`.

Plaid signs each webhook with an ES256 JWT in the `Plaid-Verification` header. Its
header names the key (`kid`) that `/webhook_verification_key/get` returns; its claims
hold `iat` and `request_body_sha256`, the SHA-256 of the raw body. Verification here
takes the algorithm from nowhere but this module (ES256), refuses keys that expired,
tokens older than `max_age`, and bodies whose hash differs, and fetches each key once
per verifier however many webhooks arrive with it at once (`_keys`).

The crypto comes from PyJWT with `cryptography` (the `webhooks` extra).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import functools
import hashlib
import hmac
import ipaddress
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from .._errors._exceptions import ConfigurationError
from .._errors._webhook import WebhookRejection, WebhookVerificationError
from .._schema._model_base import Model
from ._keys import ALGORITHM, KeyCache, KeyFetcher, _Key, _require_jwt
from ._parsing import UnknownWebhook, WebhookReading, read_webhook

HEADER: Final = "plaid-verification"
PLAID_WEBHOOK_SOURCES: Final = ("52.21.26.131", "52.21.47.157", "52.41.247.19", "52.88.82.239")
"""The addresses Plaid says its webhooks come from, "subject to change": check Plaid's
webhook documentation when you deploy, and give `WebhookVerifier.sources` the list."""
# Bodies over this are parsed in a thread by `verify`, as the session does answers.
_INLINE_BYTES: Final = 4 * 1024


class WebhookVerifier(KeyCache):
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
        sources: the addresses (or networks, `52.21.0.0/16`) webhooks may come from,
            checked before anything else, so that a forger elsewhere costs no key
            fetch; `PLAID_WEBHOOK_SOURCES` is Plaid's published list. None (the
            default): no check. The address is the one `verify` is given, else the
            last one in the `source_header` a proxy of yours sets.
        source_header: the header your own proxy writes the client's address into
            (`X-Forwarded-For`): trusted only if that proxy overwrites or appends it.
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
        sources: Iterable[str] | None = None,
        source_header: str | None = None,
    ) -> None:
        self._fetch_key = fetch_key
        self.max_age = max_age
        self.leeway = leeway
        self.clock = clock
        self.sources = sources
        self.source_header = source_header
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
    def sources(self) -> tuple[str, ...] | None:
        """The addresses and networks webhooks may come from; None: not checked."""
        return None if self._networks is None else tuple(map(str, self._networks))

    @sources.setter
    def sources(self, value: Iterable[str] | None) -> None:
        if value is None:
            self._networks = None
            return
        if isinstance(value, str):
            raise ConfigurationError("WebhookVerifier.sources takes a list of addresses")
        try:
            self._networks = tuple(ipaddress.ip_network(item.strip()) for item in value)
        except (ValueError, AttributeError, TypeError) as error:
            raise ConfigurationError(f"WebhookVerifier.sources: {error}") from None

    @property
    def leeway(self) -> float:
        """Seconds a webhook's `iat` may lie in the future."""
        return self._leeway

    @leeway.setter
    def leeway(self, value: float) -> None:
        self._leeway = _seconds("leeway", value)

    async def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        strict: bool = False,
        client_address: str | None = None,
    ) -> Model | UnknownWebhook:
        """`parse_webhook(body, strict=strict)` once the `Plaid-Verification` header
        proves it is Plaid's.

        `body` must be the raw bytes as received: a framework's re-serialised JSON
        hashes differently. `client_address` is the peer's address, for the check
        of `sources` (FastAPI: `request.client.host`; aiohttp: `request.remote`;
        Django: `request.META["REMOTE_ADDR"]`).

        Raises:
            TypeError: `body` is not bytes, or `headers` not a mapping of strings.
            WebhookVerificationError: with the `reason` of the first step that failed.
            InvalidWebhookError: verified, but the body is not a JSON object (or, with
                `strict`, breaks the contract).
        """
        return (
            await self.read(body, headers, strict=strict, client_address=client_address)
        ).webhook

    async def read(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        strict: bool = False,
        client_address: str | None = None,
    ) -> WebhookReading:
        """`verify`, with the webhook's drift (see `read_webhook`).

        Raises:
            TypeError, WebhookVerificationError, InvalidWebhookError: as `verify` does.
        """
        _check_arguments(body, headers)
        if self._networks is not None:
            self._check_source(client_address, headers)
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

    def _check_source(self, given: str | None, headers: Mapping[str, str]) -> None:
        address = given
        if address is None and self.source_header is not None:
            wanted = self.source_header.lower()
            forwarded = next((v for k, v in headers.items() if k.lower() == wanted), None)
            # The last entry is the one the trusted proxy added; any before it, the
            # client may have written itself.
            address = forwarded.rsplit(",", 1)[-1].strip() if forwarded else None
        if address is None:
            raise WebhookVerificationError(
                WebhookRejection.SOURCE_NOT_ALLOWED,
                "no client address to check against `sources`: pass verify(..., "
                "client_address=...) or set `source_header` to your proxy's header",
            )
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            ip = None
        if ip is not None and isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip is None or not any(ip in network for network in self._networks or ()):
            raise WebhookVerificationError(
                WebhookRejection.SOURCE_NOT_ALLOWED,
                f"it came from {address[:60]!r}, not one of `sources`",
            )

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
