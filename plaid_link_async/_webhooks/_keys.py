"""Plaid's webhook keys for `WebhookVerifier`: fetched once per key id however many
webhooks wait for it, cached with a bound, refreshed as Plaid advises, and never
fetched at a forger's pace."""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs

from .._errors._exceptions import CREDENTIAL_ERROR_CODES, PlaidAPIError, PlaidLinkError
from .._errors._webhook import WebhookRejection, WebhookVerificationError

#: The only algorithm Plaid signs webhooks with, and so the only one accepted.
ALGORITHM: Final = "ES256"

KeyFetcher = Callable[[str], Awaitable[Mapping[str, Any]]]
"""Fetches the JWK for a key id; raises `PlaidAPIError` if Plaid does not know it."""


class KeyCache:
    """The key half of `WebhookVerifier`, which sets these up and documents the limits."""

    unknown_kid_seconds: float
    max_fetches_per_minute: int
    max_keys: int
    key_max_age: float
    clock: Callable[[], float]
    _fetch_key: KeyFetcher
    _keys: collections.OrderedDict[str, _Key]
    _unknown: collections.OrderedDict[str, float]
    _fetch_starts: collections.deque[float]
    _fetching: dict[str, asyncio.Task[_Key]]

    async def _key(self, kid: str) -> _Key:
        # One fetch per kid, however many webhooks wait for it. It runs as a task of its
        # own, so a caller cancelled while waiting cancels nothing for the others. A
        # refresh in flight is waited for even with the key cached: it may be learning
        # that Plaid expired the key.
        fetching = self._fetching.get(kid)
        if fetching is not None:
            return await self._await_fetch(kid, fetching)
        cached = self._keys.get(kid)
        if cached is not None and time.monotonic() - cached.fetched < self.key_max_age:
            self._keys.move_to_end(kid)
            return cached
        self._refuse_unless_fetchable(kid)
        fetching = self._start(kid)
        fetching.add_done_callback(lambda done: self._refresh_others(kid, done))
        return await asyncio.shield(fetching)

    async def _await_fetch(self, kid: str, fetching: asyncio.Task[_Key]) -> _Key:
        try:
            return await asyncio.shield(fetching)
        except WebhookVerificationError as error:
            # A refresh that says nothing of the key (Plaid unreachable) leaves the
            # cached key usable, as `_fetched` leaves it in the cache.
            cached = self._keys.get(kid)
            if error.reason == WebhookRejection.KEY_UNAVAILABLE and cached is not None:
                return cached
            raise

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
                f"{len(starts)} key fetches in the last minute, the most allowed; answer "
                "5xx, and Plaid delivers a real webhook again. If forged webhooks with "
                "made-up key ids use the fetches up, check where webhooks come from "
                "(WebhookVerifier.sources = PLAID_WEBHOOK_SOURCES, docs/webhooks.md)",
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
