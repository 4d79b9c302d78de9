"""`FakePlaidControl`: the fake's controls as a plain synchronous client of its HTTP
control API (`_control`), for a sync test, a thread or another process."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from ._control import PREFIX, fault_to_json, webhook_fault_to_json
from ._deliveries import WebhookDelivery, WebhookFault, WebhookFaultKind
from ._faults import Fault
from ._messages import SentMessage
from ._plaid import LinkCompletion
from ._recording import RecordedRequest
from ._signing import SignedWebhook


class FakePlaidControl:
    """The fake's controls from any thread or process, over its HTTP control API.

    The same methods as `FakePlaidServer`'s, but for starting and closing it (a test
    compares the two). Synchronous (the standard library's urllib), so a sync test, a
    thread or a test in another process can use it without an event loop.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<FakePlaidControl {self.url}>"

    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Queue `faults` for `endpoint` (a method name, or "*" for any)."""
        body = {"endpoint": endpoint, "faults": [fault_to_json(f) for f in faults]}
        self._call("POST", "faults", body)

    def inject_webhook(self, *faults: WebhookFault) -> None:
        """Queue `faults` for the next webhook deliveries, one each, in order."""
        self._call("POST", "webhook_faults", {"faults": [webhook_fault_to_json(f) for f in faults]})

    def pending_faults(self, endpoint: str = "*") -> int:
        """How many queued faults `endpoint` has not used yet."""
        pending: int = self._call("POST", "pending_faults", {"endpoint": endpoint})["pending"]
        return pending

    def complete_link(
        self,
        link_token: str,
        *,
        items: int = 1,
        exited: bool = False,
        institution_id: str = "ins_109508",
        institution_name: str = "First Platypus Bank",
    ) -> LinkCompletion:
        """Play a user going through Link with `link_token` (see `FakePlaidServer`)."""
        body = {
            "link_token": link_token,
            "items": items,
            "exited": exited,
            "institution_id": institution_id,
            "institution_name": institution_name,
        }
        return LinkCompletion(**self._call("POST", "complete_link", body))

    def add_link_session(
        self,
        link_token: str,
        *,
        institution_id: str = "ins_109508",
        institution_name: str = "First Platypus Bank",
    ) -> str:
        """`complete_link` with one Item; returns its public token (the 0.1.0 name)."""
        completion = self.complete_link(
            link_token, institution_id=institution_id, institution_name=institution_name
        )
        return completion.public_tokens[0]

    def open_hosted_link(self, link_delivery_session_id: str) -> None:
        """Play the user opening a delivered Hosted Link URL."""
        body = {"link_delivery_session_id": link_delivery_session_id}
        self._call("POST", "open_hosted_link", body)

    def register_correlation_id(self, correlation_id: str, link_token: str) -> None:
        """Make `correlation_id` exchangeable for `link_token`."""
        body = {"correlation_id": correlation_id, "link_token": link_token}
        self._call("POST", "register_correlation_id", body)

    def add_webhook_key(self, jwk: Mapping[str, Any]) -> None:
        """Serve the public key `jwk` from `webhook_verification_key_get` by its `kid`."""
        self._call("POST", "add_webhook_key", {"jwk": dict(jwk)})

    def sign_webhook(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = None
    ) -> SignedWebhook:
        """A webhook body and its headers, signed as Plaid signs them; `iat` backdates it.
        Bytes are signed exactly as given."""
        body: dict[str, Any] = (
            {"body_base64": base64.b64encode(payload).decode()}
            if isinstance(payload, (bytes, bytearray))
            else {"payload": dict(payload)}
        )
        if iat is not None:
            body["iat"] = iat
        data = self._call("POST", "sign_webhook", body)
        return SignedWebhook(base64.b64decode(data["body_base64"]), data["headers"])

    @property
    def latency(self) -> float:
        """Seconds every answer waits before it is sent."""
        seconds: float = self._call("GET", "latency")["seconds"]
        return seconds

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._call("POST", "latency", {"seconds": seconds})

    def send_webhook(self, url: str, payload: Mapping[str, Any]) -> None:
        """Deliver `payload`, signed, to a loopback `url`, retried as Plaid does."""
        self._call("POST", "send_webhook", {"url": url, "payload": dict(payload)})

    def webhooks_settled(self, timeout: float = 10.0) -> None:
        """Wait until every webhook has been answered 200 or given up on."""
        self._call("POST", "webhooks_settled", {"timeout": timeout}, wait=timeout)

    def link_tokens(self) -> list[str]:
        """The link tokens issued so far, oldest first."""
        tokens: list[str] = self._call("GET", "link_tokens")
        return tokens

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first."""
        return [RecordedRequest(**item) for item in self._call("GET", "requests")]

    def requests_for(self, endpoint: str) -> list[RecordedRequest]:
        """The recorded requests of one endpoint, oldest first."""
        return [request for request in self.requests if request.endpoint == endpoint]

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, oldest first (retries included)."""
        found = []
        for item in self._call("GET", "webhook_deliveries"):
            fault = WebhookFaultKind(item["fault"]) if item.get("fault") else None
            found.append(WebhookDelivery(**{**item, "body": item["body"].encode(), "fault": fault}))
        return found

    def set_rate_limits(self, limits: Mapping[str, int]) -> None:
        """Answer calls beyond `limits[operation]` a second with 429, as Plaid does."""
        self._call("POST", "rate_limits", {"limits": dict(limits)})

    def rate_limited(self) -> dict[str, int]:
        """How many calls of each operation the rate limits answered 429 so far."""
        counts: dict[str, int] = self._call("GET", "rate_limited")
        return counts

    def set_item_state(self, access_token: str, state: str) -> None:
        """Put an Item into an update-mode state, as `FakePlaidServer.set_item_state`."""
        self._call("POST", "set_item_state", {"access_token": access_token, "state": state})

    def sent_messages(self) -> list[SentMessage]:
        """Every Hosted Link text and email sent so far, oldest first."""
        return [SentMessage(**item) for item in self._call("GET", "messages")]

    def reset(self) -> None:
        """Forget what `FakePlaidServer.reset` forgets."""
        self._call("POST", "reset", {})

    def _call(self, method: str, action: str, body: Any = None, *, wait: float = 0.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{PREFIX}{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + wait) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("error", error.reason)
            raise ValueError(f"the fake refused {method} {PREFIX}{action}: {detail}") from None
