"""The fake server's control API: the same controls over HTTP, for every test style.

A fake in the test's own loop is driven by its methods. One in a background thread or
a child process (or used from another language, as stripe-mock is) is driven through
these routes, under `/_fake/` where Plaid has no paths. Each takes a JSON object (GET
routes take none) and answers JSON; `docs/testing.md` lists them with their fields.

Only a loopback peer (127.0.0.1 or ::1) is served. Every field is checked: an unknown
one, a wrong type or a value out of bounds is a 400 whose `error` names the field,
never a Python exception's text.

`FakePlaidControl` is the same surface as a plain synchronous client of these routes.
"""

from __future__ import annotations

import inspect
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from .._nesting import nesting_within
from ._deliveries import WebhookDelivery, WebhookFault, WebhookFaultKind
from ._faults import Fault
from ._signing import SignedWebhook

if TYPE_CHECKING:
    from ._messages import SentMessage
    from ._server import FakePlaidServer, LinkCompletion, RecordedRequest

PREFIX: Final = "/_fake/"
#: The peers the control API answers: the machine itself, by its usual names.
CONTROL_PEERS: Final = frozenset({"127.0.0.1", "::1"})
#: The largest control request read.
MAX_CONTROL_BYTES: Final = 1 << 20


class Refused(ValueError):
    """A control request the fake will not act on; its text names the field."""


def fault_to_json(fault: Fault) -> dict[str, Any]:
    return {**attrs.asdict(fault), "kind": fault.kind.value}


def webhook_fault_to_json(fault: WebhookFault) -> dict[str, Any]:
    return {"kind": fault.kind.value, "seconds": fault.seconds, "code": fault.code}


def _made(cls: Any, data: Any, where: str) -> Any:
    """`cls(**data)` for an attrs class, or `Refused` naming the field at `where`."""
    fields = {field.name for field in attrs.fields(cls)}
    if not isinstance(data, dict):
        raise Refused(f"{where}: must be an object")
    unknown = sorted(set(data) - fields)
    if unknown:
        raise Refused(f"{where}.{unknown[0]}: unknown field; known: {', '.join(sorted(fields))}")
    if "kind" not in data:
        raise Refused(f"{where}.kind: required")
    try:
        return cls(**data)
    except ValueError as error:  # the classes' own validators name the field
        raise Refused(f"{where}.{error}") from None


# -- arguments ------------------------------------------------------------------------------


@attrs.frozen
class _Field:
    kind: type | tuple[type, ...]
    required: bool = False
    low: float | None = None
    high: float | None = None


def _args(data: Any, fields: Mapping[str, _Field]) -> dict[str, Any]:
    """`data` checked against `fields`: known names, types and bounds, or `Refused`."""
    if not isinstance(data, dict):
        raise Refused("the body must be a JSON object")
    for name in data:
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise Refused(f"{name}: unknown field; known: {known}")
    for name, field in fields.items():
        if name not in data:
            if field.required:
                raise Refused(f"{name}: required")
            continue
        value = data[name]
        wrong_bool = isinstance(value, bool) and field.kind is not bool
        if wrong_bool or not isinstance(value, field.kind):
            raise Refused(f"{name}: expected {_describe(field.kind)}, got {type(value).__name__}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_bounds(name, value, field)
    return data


def _check_bounds(name: str, value: float, field: _Field) -> None:
    low = -math.inf if field.low is None else field.low
    high = math.inf if field.high is None else field.high
    if not math.isfinite(value) or not low <= value <= high:
        raise Refused(f"{name}: must be a finite number from {low:g} to {high:g}, got {value}")


def _describe(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "an integer", float: "a number", bool: "true or false"}
    names |= {dict: "an object", list: "a list"}
    return " or ".join(names.get(item, item.__name__) for item in kinds)


# -- actions --------------------------------------------------------------------------------

Action = Callable[["FakePlaidServer", dict[str, Any]], Any]


def _faults(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"endpoint": _Field(str, True), "faults": _Field(list, True)})
    faults = [_made(Fault, item, f"faults[{n}]") for n, item in enumerate(args["faults"])]
    fake.inject(args["endpoint"], *faults)
    return {"queued": len(faults)}


def _webhook_faults(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"faults": _Field(list, True)})
    faults = [_made(WebhookFault, item, f"faults[{n}]") for n, item in enumerate(args["faults"])]
    fake.inject_webhook(*faults)
    return {"queued": len(faults)}


def _complete_link(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    from ._server import MAX_ITEMS

    args = _args(
        data,
        {
            "link_token": _Field(str, True),
            "items": _Field(int, low=1, high=MAX_ITEMS),
            "exited": _Field(bool),
            "institution_id": _Field(str),
            "institution_name": _Field(str),
        },
    )
    return attrs.asdict(fake.complete_link(**args))


def _sign_webhook(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"payload": _Field(dict, True), "iat": _Field((int, float), low=0)})
    signed = fake.sign_webhook(args["payload"], iat=args.get("iat"))
    return {"body": signed.body.decode(), "headers": dict(signed.headers)}


def _send_webhook(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"url": _Field(str, True), "payload": _Field(dict, True)})
    fake.send_webhook(args["url"], args["payload"])
    return {"sent": True}


async def _webhooks_settled(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"timeout": _Field((int, float), low=0, high=3600)})
    await fake.webhooks_settled(float(args.get("timeout", 10.0)))
    return {"settled": True}


def _open_hosted_link(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"link_delivery_session_id": _Field(str, True)})
    fake.open_hosted_link(args["link_delivery_session_id"])
    return {"opened": True}


def _register_correlation_id(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"correlation_id": _Field(str, True), "link_token": _Field(str, True)})
    fake.register_correlation_id(args["correlation_id"], args["link_token"])
    return {"registered": True}


def _add_webhook_key(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"jwk": _Field(dict, True)})
    if not isinstance(args["jwk"].get("kid"), str):
        raise Refused("jwk.kid: required, as text")
    fake.add_webhook_key(args["jwk"])
    return {"added": True}


def _pending_faults(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"endpoint": _Field(str)})
    return {"pending": fake.pending_faults(args.get("endpoint", "*"))}


def _rate_limits(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"limits": _Field(dict, True)})
    fake.set_rate_limits(args["limits"])
    return {"limits": args["limits"]}


def _rate_limited(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    return fake.rate_limited()


def _set_item_state(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    args = _args(data, {"access_token": _Field(str, True), "state": _Field(str, True)})
    try:
        fake.set_item_state(args["access_token"], args["state"])
    except KeyError:
        raise Refused("access_token: the fake never issued it") from None
    except ValueError as error:
        raise Refused(str(error)) from None
    return {"state": args["state"]}


def _messages(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    return [attrs.asdict(message) for message in fake.sent_messages()]


def _reset(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    _args(data, {})
    fake.reset()
    return {"reset": True}


def _requests(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    return [attrs.asdict(request) for request in fake.requests]


def _webhook_deliveries(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    return [
        {**attrs.asdict(d, filter=lambda a, _: a.name != "body"), "body": d.body.decode()}
        for d in fake.webhook_deliveries
    ]


def _link_tokens(fake: FakePlaidServer, data: dict[str, Any]) -> Any:
    return fake.link_tokens()


#: Every control route: (method, name) to its action.
ACTIONS: Final[dict[tuple[str, str], Action]] = {
    ("POST", "faults"): _faults,
    ("POST", "webhook_faults"): _webhook_faults,
    ("POST", "pending_faults"): _pending_faults,
    ("POST", "complete_link"): _complete_link,
    ("POST", "open_hosted_link"): _open_hosted_link,
    ("POST", "register_correlation_id"): _register_correlation_id,
    ("POST", "add_webhook_key"): _add_webhook_key,
    ("POST", "sign_webhook"): _sign_webhook,
    ("POST", "send_webhook"): _send_webhook,
    ("POST", "webhooks_settled"): _webhooks_settled,
    ("POST", "rate_limits"): _rate_limits,
    ("POST", "set_item_state"): _set_item_state,
    ("POST", "reset"): _reset,
    ("GET", "requests"): _requests,
    ("GET", "webhook_deliveries"): _webhook_deliveries,
    ("GET", "link_tokens"): _link_tokens,
    ("GET", "rate_limited"): _rate_limited,
    ("GET", "messages"): _messages,
}


async def handle(fake: FakePlaidServer, request: web.Request) -> web.Response:
    """Serve one control request; every refusal is a 400 (403 for a foreign peer) whose
    `error` names the field or the cause."""
    if request.remote not in CONTROL_PEERS:
        return _refuse(403, f"the control API answers only {' and '.join(sorted(CONTROL_PEERS))}")
    name = request.path.removeprefix(PREFIX)
    action = ACTIONS.get((request.method, name))
    if action is None:
        routes = ", ".join(f"{method} {PREFIX}{route}" for method, route in ACTIONS)
        return _refuse(404, f"no control {request.method} {PREFIX}{name}; routes: {routes}")
    try:
        data = await _body(request)
        result = action(fake, data)
        if inspect.isawaitable(result):
            result = await result
    except Refused as refusal:
        return _refuse(400, str(refusal))
    except KeyError as error:  # an unknown token or session: the fake's own message
        return _refuse(400, str(error.args[0]) if error.args else "not found")
    except (ValueError, TimeoutError) as error:  # the fake's methods name what is wrong
        return _refuse(400, str(error))
    return web.json_response(result)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.method == "GET" or not request.can_read_body:
        return {}
    raw = await request.content.read(MAX_CONTROL_BYTES + 1)
    if len(raw) > MAX_CONTROL_BYTES:
        raise Refused(f"the body is over {MAX_CONTROL_BYTES:,} bytes")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise Refused("the body is not JSON") from None
    if not nesting_within(data):
        raise Refused("the body nests too deep")
    if not isinstance(data, dict):
        raise Refused("the body must be a JSON object")
    return data


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# -- the client -----------------------------------------------------------------------------


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
        from ._server import LinkCompletion

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
        self, payload: Mapping[str, Any], *, iat: float | None = None
    ) -> SignedWebhook:
        """A webhook body and its headers, signed as Plaid signs them; `iat` backdates it."""
        body: dict[str, Any] = {"payload": dict(payload)}
        if iat is not None:
            body["iat"] = iat
        data = self._call("POST", "sign_webhook", body)
        return SignedWebhook(data["body"].encode(), data["headers"])

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
        from ._server import RecordedRequest

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
        from ._messages import SentMessage

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
