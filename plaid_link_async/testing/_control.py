"""The fake server's control API: the same controls over HTTP, for every test style.

A fake in the test's own loop is driven by its methods. One in a background thread or
a child process (or used from another language, as stripe-mock is) is driven through
these routes, under `/_fake/` where Plaid has no paths:

    POST /_fake/faults            {"endpoint": "link_token_create", "faults": [Fault, ...]}
    POST /_fake/webhook_faults    {"faults": [WebhookFault, ...]}
    POST /_fake/complete_link     {"link_token": "...", "items": 1, "exited": false}
    POST /_fake/sign_webhook      {"payload": {...}}        -> {"body": "...", "headers": {...}}
    GET  /_fake/requests          -> [{"endpoint", "path", "headers", "body"}, ...]
    GET  /_fake/webhook_deliveries -> [{"url", "webhook_type", ..., "status"}, ...]
    POST /_fake/reset

`FakePlaidControl` is the same surface as a plain synchronous client of these routes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._deliveries import WebhookDelivery, WebhookFault, WebhookFaultKind
from ._faults import Fault, FaultKind
from ._signing import SignedWebhook

if TYPE_CHECKING:
    from ._server import FakePlaidServer, LinkCompletion, RecordedRequest

PREFIX: Final = "/_fake/"


def fault_to_json(fault: Fault) -> dict[str, Any]:
    return {**attrs.asdict(fault), "kind": fault.kind.value}


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    fields = {field.name for field in attrs.fields(Fault)}
    values = {key: value for key, value in data.items() if key in fields}
    return Fault(**{**values, "kind": FaultKind(data["kind"])})


def webhook_fault_from_json(data: Mapping[str, Any]) -> WebhookFault:
    return WebhookFault(
        WebhookFaultKind(data["kind"]), float(data.get("seconds", 0.0)), data.get("code")
    )


async def handle(fake: FakePlaidServer, request: web.Request) -> web.Response:
    """Serve one control request; errors are 400 with a message, never a traceback."""
    action = request.path.removeprefix(PREFIX)
    try:
        data = await request.json() if request.can_read_body else {}
        result = _act(fake, request.method, action, data)
    except (KeyError, TypeError, ValueError) as error:
        return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=400)
    return web.json_response(result)


def _act(fake: FakePlaidServer, method: str, action: str, data: Any) -> Any:
    if method == "POST" and action == "faults":
        fake.inject(data["endpoint"], *(fault_from_json(item) for item in data["faults"]))
        return {"queued": len(data["faults"])}
    if method == "POST" and action == "webhook_faults":
        fake.inject_webhook(*(webhook_fault_from_json(item) for item in data["faults"]))
        return {"queued": len(data["faults"])}
    if method == "POST" and action == "complete_link":
        completion = fake.complete_link(
            data["link_token"], items=int(data.get("items", 1)), exited=bool(data.get("exited"))
        )
        return attrs.asdict(completion)
    if method == "POST" and action == "sign_webhook":
        signed = fake.sign_webhook(data["payload"])
        return {"body": signed.body.decode(), "headers": dict(signed.headers)}
    if method == "GET" and action == "requests":
        return [attrs.asdict(request) for request in fake.requests]
    if method == "GET" and action == "webhook_deliveries":
        return [
            {**attrs.asdict(d, filter=lambda a, _: a.name != "body"), "body": d.body.decode()}
            for d in fake.webhook_deliveries
        ]
    if method == "POST" and action == "reset":
        fake.reset()
        return {"reset": True}
    raise KeyError(f"no control {method} {PREFIX}{action}")


class FakePlaidControl:
    """The fake's controls from any thread or process, over its HTTP control API.

    The same methods as `FakePlaidServer`'s: `inject`, `inject_webhook`,
    `complete_link`, `sign_webhook`, `requests`, `webhook_deliveries`, `reset`.
    Synchronous (the standard library's urllib), so a sync test, a thread or a test in
    another process can use it without an event loop.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<FakePlaidControl {self.url}>"

    def inject(self, endpoint: str, *faults: Fault) -> None:
        self._call(
            "POST", "faults", {"endpoint": endpoint, "faults": [fault_to_json(f) for f in faults]}
        )

    def inject_webhook(self, *faults: WebhookFault) -> None:
        items = [{"kind": f.kind.value, "seconds": f.seconds, "code": f.code} for f in faults]
        self._call("POST", "webhook_faults", {"faults": items})

    def complete_link(
        self, link_token: str, *, items: int = 1, exited: bool = False
    ) -> LinkCompletion:
        from ._server import LinkCompletion

        data = self._call(
            "POST", "complete_link", {"link_token": link_token, "items": items, "exited": exited}
        )
        return LinkCompletion(**data)

    def sign_webhook(self, payload: Mapping[str, Any]) -> SignedWebhook:
        data = self._call("POST", "sign_webhook", {"payload": dict(payload)})
        return SignedWebhook(data["body"].encode(), data["headers"])

    @property
    def requests(self) -> list[RecordedRequest]:
        from ._server import RecordedRequest

        return [RecordedRequest(**item) for item in self._call("GET", "requests")]

    def requests_for(self, endpoint: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        found = []
        for item in self._call("GET", "webhook_deliveries"):
            fault = WebhookFaultKind(item["fault"]) if item.get("fault") else None
            found.append(WebhookDelivery(**{**item, "body": item["body"].encode(), "fault": fault}))
        return found

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def _call(self, method: str, action: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{PREFIX}{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("error", error.reason)
            raise ValueError(f"the fake refused {method} {PREFIX}{action}: {detail}") from None
