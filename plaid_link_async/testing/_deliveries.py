"""The fake server's webhook deliveries: signed POSTs, retried on Plaid's schedule.

Plaid retries a webhook that got no 200 within 10 seconds, backing off for up to 24
hours. Here the same schedule runs compressed by a time scale (0.001: a day in about
a minute and a half, the first retry after 30 ms), every attempt is recorded, and
faults can be queued for the next webhooks: a duplicate, a delay, and, on the first
attempt, a stale `iat`, a tampered body or a wrong key.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import attrs

from ._faults import member, seconds
from ._signing import WebhookSigner

#: Plaid's answer deadline for a webhook, and its retry waits (seconds), capped at 4 h
#: and stopped once a day has passed.
ANSWER_WITHIN: Final = 10.0
FIRST_RETRY: Final = 30.0
LONGEST_WAIT: Final = 4 * 3600.0
GIVE_UP_AFTER: Final = 24 * 3600.0
#: Delivery attempts remembered; the oldest are forgotten first.
MAX_DELIVERIES: Final = 10_000


def retry_schedule() -> list[float]:
    """The waits before each retry, in seconds of Plaid's time."""
    waits, wait, total = [], FIRST_RETRY, 0.0
    while total + wait <= GIVE_UP_AFTER:
        waits.append(wait)
        total += wait
        wait = min(wait * 2, LONGEST_WAIT)
    return waits


class WebhookFaultKind(str, enum.Enum):
    """What a webhook fault does to one delivery."""

    DUPLICATE = "duplicate"
    """Delivered twice, as Plaid may."""
    DELAY = "delay"
    """Delivered `seconds` late."""
    STALE = "stale"
    """Signed with an `iat` older than five minutes (the first attempt)."""
    TAMPERED = "tampered"
    """The body changed after signing (the first attempt)."""
    WRONG_KEY = "wrong_key"
    """Signed by a key Plaid does not serve, under its `kid` (the first attempt)."""


def _webhook_fault_kind(value: Any) -> WebhookFaultKind:
    return member(WebhookFaultKind, value)


@attrs.frozen
class WebhookFault:
    """One fault for the next webhook delivery (of `code`, if given: `"EVENTS"`);
    queue it with `fake.inject_webhook`. `seconds` (of a delay) is at most an hour.

    Raises:
        ValueError: a field is out of its bounds; the message names it.
    """

    kind: WebhookFaultKind = attrs.field(converter=_webhook_fault_kind)
    seconds: float = attrs.field(default=0.0, validator=seconds)
    code: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )

    @classmethod
    def duplicate(cls, *, code: str | None = None) -> WebhookFault:
        return cls(WebhookFaultKind.DUPLICATE, code=code)

    @classmethod
    def delay(cls, seconds: float, *, code: str | None = None) -> WebhookFault:
        return cls(WebhookFaultKind.DELAY, seconds, code)

    @classmethod
    def stale(cls, *, code: str | None = None) -> WebhookFault:
        return cls(WebhookFaultKind.STALE, code=code)

    @classmethod
    def tampered(cls, *, code: str | None = None) -> WebhookFault:
        return cls(WebhookFaultKind.TAMPERED, code=code)

    @classmethod
    def wrong_key(cls, *, code: str | None = None) -> WebhookFault:
        return cls(WebhookFaultKind.WRONG_KEY, code=code)


@attrs.frozen
class WebhookDelivery:
    """One delivery attempt: where, what, and what came back."""

    url: str
    webhook_type: str
    webhook_code: str
    attempt: int  # 1 for the first try
    body: bytes = attrs.field(repr=False)
    status: int | None  # the receiver's answer, None if there was none
    error: str | None  # why there was no answer (refused, timed out)
    fault: WebhookFaultKind | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


class Deliverer:
    """Sends webhooks for one fake server, from its own event loop."""

    def __init__(
        self, signer: WebhookSigner, time_scale: float, faults: list[WebhookFault]
    ) -> None:
        self.signer = signer
        self.time_scale = time_scale
        #: The last `MAX_DELIVERIES` attempts, oldest first.
        self.deliveries: list[WebhookDelivery] = []
        #: The fake's own queue, shared: faults injected before or after this exists.
        self.faults = faults
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._impostor: WebhookSigner | None = None

    def send(self, url: str, payload: Mapping[str, Any]) -> None:
        """Start delivering `payload` to `url`; returns at once."""
        code = payload.get("webhook_code")
        fault = next((f for f in self.faults if f.code in (None, code)), None)
        if fault is not None:
            self.faults.remove(fault)
        self._start(url, payload, fault)
        if fault is not None and fault.kind == WebhookFaultKind.DUPLICATE:
            self._start(url, payload, None)

    def _start(self, url: str, payload: Mapping[str, Any], fault: WebhookFault | None) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(url, dict(payload), fault))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, timeout: float) -> None:
        """Wait until every delivery has succeeded or given up (or `timeout` passed)."""
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0)  # deliveries handed over from another thread start first
        while self._tasks:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(self._tasks)} webhook deliveries still running")
            await asyncio.wait(set(self._tasks), timeout=left)

    def cancel(self) -> None:
        """Stop every delivery under way or waiting to retry, and forget the attempts."""
        for task in list(self._tasks):
            task.cancel()
        self.deliveries.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _deliver(self, url: str, payload: dict[str, Any], fault: WebhookFault | None) -> None:
        kind = fault.kind if fault is not None else None
        if kind == WebhookFaultKind.DELAY:
            await asyncio.sleep(fault.seconds if fault is not None else 0.0)
        for attempt, wait in enumerate([0.0, *retry_schedule()], start=1):
            if wait:
                await asyncio.sleep(wait * self.time_scale)
            # A fault spoils the first attempt only: a receiver that rightly refuses
            # it gets a clean retry, as after a glitch on the way.
            if await self._attempt(url, payload, attempt, kind if attempt == 1 else None):
                return

    async def _attempt(
        self, url: str, payload: dict[str, Any], attempt: int, kind: WebhookFaultKind | None
    ) -> bool:
        signer = self.signer
        if kind == WebhookFaultKind.WRONG_KEY:
            if self._impostor is None:
                self._impostor = WebhookSigner(self.signer.kid)  # same kid, other key
            signer = self._impostor
        iat = time.time() - 600 if kind == WebhookFaultKind.STALE else None
        signed = signer.sign(payload, iat=iat)
        body = signed.body
        if kind == WebhookFaultKind.TAMPERED:
            body = body.replace(b'"LINK"', b'"LINK" ', 1)
        status: int | None = None
        error: str | None = None
        try:
            async with self._client().post(
                url,
                data=body,
                headers=signed.headers,
                # Plaid's 10 s, scaled, but never under 5 s: a receiver under test may
                # itself be waiting for retries.
                timeout=aiohttp.ClientTimeout(total=ANSWER_WITHIN * max(self.time_scale, 0.5)),
                allow_redirects=False,
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as failure:
            error = type(failure).__name__
        if len(self.deliveries) >= MAX_DELIVERIES:
            del self.deliveries[: len(self.deliveries) - MAX_DELIVERIES + 1]
        self.deliveries.append(
            WebhookDelivery(
                url,
                str(payload.get("webhook_type")),
                str(payload.get("webhook_code")),
                attempt,
                body,
                status,
                error,
                kind,
            )
        )
        return status == 200

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http
