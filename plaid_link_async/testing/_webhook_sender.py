"""The fake's webhook deliverer: signs what the simulated Plaid emits and posts it,
from the fake's own loop, whichever thread asked, retried as Plaid retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from .._calls._settings import is_loopback
from .._errors._exceptions import PlaidLinkError
from ._deliveries import Deliverer, WebhookDelivery, WebhookFault
from ._signing import SignedWebhook, WebhookSigner


class WebhookSender:
    """Signs with one ES256 key, made on first use, and delivers to loopback URLs.

    Args:
        time_scale: how much faster than Plaid's the retry schedule runs.
        new_key: told the public half of the signing key once it is made, so that
            `webhook_verification_key_get` can serve it.
    """

    def __init__(self, time_scale: float, new_key: Callable[[dict[str, Any]], None]) -> None:
        self._time_scale = time_scale
        self._new_key = new_key
        self._signer: WebhookSigner | None = None
        self._deliverer: Deliverer | None = None
        # Shared with the deliverer: faults queued before it exists still apply.
        self._faults: list[WebhookFault] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def signer(self) -> WebhookSigner:
        if self._signer is None:
            self._signer = WebhookSigner()
            self._new_key(self._signer.jwk())
        return self._signer

    def sign(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = None
    ) -> SignedWebhook:
        return self.signer.sign(payload, iat=iat)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return self._deliverer.deliveries if self._deliverer is not None else []

    def inject(self, *faults: WebhookFault) -> None:
        self._faults.extend(faults)

    async def settled(self, timeout: float) -> None:
        if self._deliverer is not None:
            await self._deliverer.settle(timeout)

    def forget(self) -> None:
        """Drop queued faults, stop deliveries under way and forget the attempts."""
        self._faults.clear()
        if self._deliverer is not None:
            self._deliverer.cancel()

    async def close(self) -> None:
        deliverer, self._deliverer = self._deliverer, None
        if deliverer is not None:
            await deliverer.close()

    def send(self, url: str, payload: Mapping[str, Any]) -> None:
        """Deliver `payload` to `url`; safe to call from any thread (see `FakePlaidServer`)."""
        if self.loop is None:
            raise RuntimeError("FakePlaidServer is not started")
        if self._deliverer is None:
            try:
                signer = self.signer
            except PlaidLinkError:  # no `webhooks` extra: nothing can be signed or sent
                return
            self._deliverer = Deliverer(signer, self._time_scale, self._faults)
        deliverer = self._deliverer
        if not _is_loopback_url(url):
            deliverer.deliveries.append(
                WebhookDelivery(
                    url,
                    str(payload.get("webhook_type")),
                    str(payload.get("webhook_code")),
                    1,
                    b"",
                    None,
                    "not sent: not loopback",
                )
            )
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self.loop:
            deliverer.send(url, dict(payload))
        else:  # another thread (a sync test): hand it to the fake's own loop
            self.loop.call_soon_threadsafe(deliverer.send, url, dict(payload))


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and is_loopback(host)
